"""Data modules and the probe batch."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from PIL import Image
from torch.nn import functional as F
from torch.utils.data import Subset

from lightning_nas.config import ProbeConfig
from lightning_nas.data import DATASETS, build_datamodule, dataset_names
from lightning_nas.data.base import augment
from lightning_nas.data.digits import DigitsDataModule
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


def test_augment_is_seeded_and_crops_and_flips():
    x = torch.arange(16 * 3 * 8 * 8, dtype=torch.float32).view(16, 3, 8, 8)
    a = augment(x, 2, True, torch.Generator().manual_seed(0))
    b = augment(x, 2, True, torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and a.shape == x.shape
    assert not torch.equal(a, augment(x, 2, True, torch.Generator().manual_seed(1)))
    assert torch.equal(augment(x, 0, False, torch.Generator().manual_seed(0)), x)
    flipped = augment(x, 0, True, torch.Generator().manual_seed(0))
    is_flip = [torch.equal(flipped[i], x[i].flip(-1)) for i in range(16)]
    assert all(is_flip[i] or torch.equal(flipped[i], x[i]) for i in range(16)) and 0 < sum(is_flip) < 16
    padded = F.pad(x, (2,) * 4)  # every padded crop is an 8x8 window of the zero-padded image
    for i in range(16):
        assert any(torch.equal(a[i], w[:, dy : dy + 8, dx : dx + 8])
                   for w in (padded[i], padded[i].flip(-1)) for dy in range(5) for dx in range(5))


def test_probe_batch_is_seeded_bit_for_bit():
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


def test_probe_batch_keeps_the_lowest_reference_ce_subset_of_the_pool():
    """Pool = the whole (small) set, no augmentation, BN in eval mode: each image's CE is its own, so the
    kept batch must be exactly the `batch_size` images of lowest CE, computed here independently."""
    dm = build_datamodule("digits", resolution=16)
    images = Subset(dm.train_set(), range(48))
    torch.manual_seed(0)
    ref = cifar_resnet("resnet20").eval()
    x = torch.stack([images[i][0] for i in range(48)])
    y = torch.tensor([images[i][1] for i in range(48)])
    with torch.no_grad():
        ce = F.cross_entropy(ref(x), y, reduction="none")
    lowest = set(torch.argsort(ce)[:8].tolist())
    assert ce[sorted(lowest)].max() < ce[sorted(set(range(48)) - lowest)].min()  # no tie at the cut
    probe = select_probe_batch(images, dm.spec, ref, ProbeConfig(pool=48, batch_size=8, augment=False), seed=5, bn_mode="eval")
    assert set(probe.indices) == lowest
    assert torch.equal(probe.x, x[probe.indices]) and torch.equal(probe.y, y[probe.indices])


def test_no_validation_split_never_falls_back_to_the_test_set():
    dm = build_datamodule("digits", resolution=16, val_fraction=0.0)
    assert not dm.has_val_split and dm.val_split == "none"
    assert len(dm.val_dataloader()) == 0 and len(dm.test_dataloader()) > 0
    assert len(dm.train_set()) + len(dm._test) == 1797
    held = build_datamodule("digits", resolution=16, val_fraction=0.25, split_seed=7)
    assert held.has_val_split and held.val_split == "train holdout 25% (split_seed 7)"
    assert len(held.val_dataloader().dataset) == round(0.25 * (1797 - 359))
    train_idx, val_idx = set(held._train.indices), set(held._val.indices)
    assert not train_idx & val_idx and len(train_idx | val_idx) == 1797 - 359  # both from the training file
    from lightning_nas.config import DataConfig
    from lightning_nas.settings import check_data

    for bad in (-0.1, 1.0):
        with pytest.raises(ConfigError, match=r"data.val_fraction must be in \[0, 1\)"):
            check_data(DataConfig(val_fraction=bad))


def test_a_loader_batch_size_override_leaves_the_datamodule_alone():
    dm = build_datamodule("digits", resolution=16, batch_size=32)
    assert next(iter(dm.train_dataloader(batch_size=7)))[0].shape[0] == 7
    assert dm.batch_size == 32 and next(iter(dm.train_dataloader()))[0].shape[0] == 32


def test_datasets_register_themselves():
    assert dataset_names() == ("digits", "cifar10", "cifar100", "imagefolder", "imagenet16-120")
    assert isinstance(build_datamodule("digits", resolution=8), DigitsDataModule)

    @DATASETS.register("tiny-digits")
    def _tiny(root, download, resolution, **common):  # noqa: ANN001, ANN003, ANN202
        return DigitsDataModule(resolution=4, **common)

    try:
        dm = build_datamodule("tiny-digits", batch_size=3, val_fraction=0.0)
        assert dm.spec.resolution == 4 and dm.batch_size == 3 and not dm.has_val_split
        with pytest.raises(RuntimeError, match="registered twice"):
            DATASETS.register("digits")(_tiny)
    finally:
        DATASETS._entries.pop("tiny-digits")


def test_unknown_dataset():
    with pytest.raises(ConfigError) as err:  # one line, every registered name
        build_datamodule("mnist")
    assert str(err.value) == "unknown dataset 'mnist'; valid: digits, cifar10, cifar100, imagefolder, imagenet16-120"
