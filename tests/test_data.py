"""Data modules and the probe batch."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from lightning_nas.config import ProbeConfig
from lightning_nas.data import build_datamodule
from lightning_nas.data.base import augment
from lightning_nas.errors import ConfigError
from lightning_nas.reference.resnet_cifar import cifar_resnet
from lightning_nas.rmi.probe import select_probe_batch


def test_digits_is_three_channel_upsampled():
    dm = build_datamodule("digits", resolution=16)
    x, y = dm.train_set()[0]
    assert x.shape == (3, 16, 16) and 0 <= y < 10
    assert len(dm.train_set()) + len(dm._val) + len(dm._test) == 1797
    xb, yb = next(iter(dm.train_dataloader()))
    assert xb.shape[1:] == (3, 16, 16)


def make_tree(root, classes=("cat", "dog"), per_class=3, size=20):
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for c in classes:
            (root / split / c).mkdir(parents=True)
            for i in range(per_class):
                Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(root / split / c / f"{i}.jpg")
    return root


def test_imagefolder_reads_a_tree_and_resizes(tmp_path):
    dm = build_datamodule("imagefolder", root=str(make_tree(tmp_path)), resolution=8, val_fraction=0.0)
    assert dm.spec.num_classes == 2
    x, y = dm.train_set()[0]
    assert x.shape == (3, 8, 8)
    assert len(dm.train_set()) == 6
    with pytest.raises(ConfigError, match="not found"):
        build_datamodule("imagefolder", root=str(tmp_path / "nope"))


def test_large_image_trees_are_read_lazily_with_the_same_values(tmp_path):
    from lightning_nas.data.imagefolder import ImageFolderDataModule

    root = make_tree(tmp_path)
    eager = ImageFolderDataModule(root=str(root), resolution=8, val_fraction=0.0)
    lazy = ImageFolderDataModule(root=str(root), resolution=8, val_fraction=0.0, in_memory_limit=2)
    for i in range(6):
        a, b = eager.train_set()[i], lazy.train_set()[i]
        assert torch.allclose(a[0], b[0]) and a[1] == b[1]


def test_imagenet16_reads_the_nb201_pickle_format(tmp_path):
    rng = np.random.default_rng(0)
    for name, n in (("train_data_batch_1", 20), ("val_data", 10)):
        labels = rng.integers(1, 200, n).tolist()  # labels above 120 are dropped
        with open(tmp_path / name, "wb") as f:
            pickle.dump({"data": rng.integers(0, 255, (n, 768), dtype=np.uint8), "labels": labels}, f)
    dm = build_datamodule("imagenet16-120", root=str(tmp_path), val_fraction=0.0)
    dm.setup()
    x, y = dm.train_set()[0]
    assert x.shape == (3, 16, 16) and 0 <= y < 120
    assert all(dm._test[i][1] < 120 for i in range(len(dm._test)))
    with pytest.raises(ConfigError, match="ImageNet16 file not found"):
        build_datamodule("imagenet16-120", root=str(tmp_path / "nope")).setup()


def test_cifar_missing_offline_names_the_expected_path(tmp_path):
    with pytest.raises(ConfigError, match="cifar-10-batches-py"):
        build_datamodule("cifar10", root=str(tmp_path)).setup()
    with pytest.raises(ConfigError, match="cifar-100-python"):
        build_datamodule("cifar100", root=str(tmp_path)).setup()


def test_augment_is_seeded_and_shape_preserving():
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).view(2, 3, 8, 8)
    a = augment(x, 2, True, torch.Generator().manual_seed(0))
    b = augment(x, 2, True, torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and a.shape == x.shape


def test_probe_batch_is_seeded_bit_for_bit_and_lowest_ce():
    dm = build_datamodule("digits", resolution=16)
    torch.manual_seed(0)
    ref = cifar_resnet("resnet20")
    cfg = ProbeConfig(pool=64, batch_size=8)
    a = select_probe_batch(dm.train_set(), dm.spec, ref, cfg, seed=3)
    b = select_probe_batch(dm.train_set(), dm.spec, ref, cfg, seed=3)
    c = select_probe_batch(dm.train_set(), dm.spec, ref, cfg, seed=4)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y) and a.digest() == b.digest()
    assert a.digest() != c.digest()
    assert a.x.shape == (8, 3, 16, 16)
    with pytest.raises(ConfigError, match="probe.pool"):
        select_probe_batch(dm.train_set(), dm.spec, ref, ProbeConfig(pool=100000, batch_size=8), seed=0)
    with pytest.raises(ConfigError, match="probe.batch_size"):
        select_probe_batch(dm.train_set(), dm.spec, ref, ProbeConfig(pool=8, batch_size=16), seed=0)


def test_unknown_dataset():
    with pytest.raises(ConfigError, match="unknown dataset 'mnist'; valid: digits"):
        build_datamodule("mnist")
