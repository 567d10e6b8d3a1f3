"""The fixed probe batch: the pool is drawn and augmented with the seeded generator, and the images kept
are the `batch_size` with the lowest reference cross-entropy (computed here independently)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import TensorDataset

from lightning_nas.config import ProbeConfig
from lightning_nas.data.base import DataSpec, augment
from lightning_nas.errors import ConfigError
from lightning_nas.rmi.probe import select_probe_batch

SPEC = DataSpec("toy", num_classes=4, in_channels=3, resolution=8, crop_padding=2, flip=True)


@pytest.fixture(scope="module")
def data() -> tuple[TensorDataset, nn.Module]:
    g = torch.Generator().manual_seed(0)
    images, labels = torch.randn(200, 3, 8, 8, generator=g), torch.randint(0, 4, (200,), generator=g)
    torch.manual_seed(0)
    reference = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 4),
    )
    return TensorDataset(images, labels), reference


def _pool(
    train_set: TensorDataset, pool: int, seed: int, augmented: bool
) -> tuple[list[int], torch.Tensor, torch.Tensor]:
    """The pool as the probe draws it: a seeded permutation, then augmentation with the same generator."""
    gen = torch.Generator().manual_seed(seed)
    drawn = torch.randperm(len(train_set), generator=gen)[:pool].tolist()
    x, y = train_set.tensors[0][drawn], train_set.tensors[1][drawn]
    return drawn, augment(x, SPEC.crop_padding, SPEC.flip, generator=gen) if augmented else x, y


@pytest.mark.parametrize(("augmented", "bn_mode"), [(True, "train"), (False, "train"), (True, "eval")])
def test_keeps_the_lowest_reference_ce_subset_of_the_pool(data, augmented, bn_mode):
    train_set, reference = data
    cfg = ProbeConfig(pool=64, batch_size=10, augment=augmented)
    probe = select_probe_batch(train_set, SPEC, reference, cfg, seed=3, bn_mode=bn_mode)
    drawn, x, y = _pool(train_set, cfg.pool, 3, augmented)
    with torch.no_grad():
        ce = F.cross_entropy(copy.deepcopy(reference).train(bn_mode == "train")(x), y, reduction="none")
    order = torch.argsort(ce, stable=True)
    kept = order[: cfg.batch_size]
    assert probe.indices == [drawn[i] for i in kept.tolist()]
    assert torch.equal(probe.x, x[kept]) and torch.equal(
        probe.y, y[kept]
    )  # the augmented images, not the raw
    assert ce[kept].max() <= ce[order[cfg.batch_size :]].min()  # every kept image beats every dropped one
    assert ce[kept].mean() < ce.mean()


def test_same_seed_same_batch_other_seed_other_batch(data):
    train_set, reference = data
    cfg = ProbeConfig(pool=64, batch_size=10)
    a = select_probe_batch(train_set, SPEC, reference, cfg, seed=3)
    b = select_probe_batch(train_set, SPEC, reference, cfg, seed=3)
    c = select_probe_batch(train_set, SPEC, reference, cfg, seed=4)
    assert a.indices == b.indices and a.digest() == b.digest()
    assert c.digest() != a.digest()


def test_reference_is_left_in_its_mode(data):
    train_set, reference = data
    reference.train()
    select_probe_batch(train_set, SPEC, reference, ProbeConfig(pool=32, batch_size=4), seed=0, bn_mode="eval")
    assert reference.training


@pytest.mark.parametrize(
    ("pool", "batch_size", "match"), [(300, 10, "exceeds"), (16, 32, "batch_size"), (16, 0, "batch_size")]
)
def test_refuses_impossible_sizes(data, pool, batch_size, match):
    train_set, reference = data
    with pytest.raises(ConfigError, match=match):
        select_probe_batch(train_set, SPEC, reference, ProbeConfig(pool=pool, batch_size=batch_size), seed=0)
