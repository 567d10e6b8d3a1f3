"""LightningDataModules for the supported datasets, built by name from the `data` config."""

from __future__ import annotations

from lightning_nas.data.base import DataSpec, ImageDataModule
from lightning_nas.errors import choice_error

DATASETS = ("digits", "cifar10", "cifar100", "imagefolder", "imagenet16-120")


def build_datamodule(
    name: str,
    root: str | None = None,
    download: bool = False,
    resolution: int | None = None,
    batch_size: int = 128,
    num_workers: int = 0,
    val_fraction: float = 0.1,
    split_seed: int = 0,
) -> ImageDataModule:
    common = dict(batch_size=batch_size, num_workers=num_workers, val_fraction=val_fraction, split_seed=split_seed)
    if name == "digits":
        from lightning_nas.data.digits import DigitsDataModule

        return DigitsDataModule(resolution=resolution or 16, **common)
    if name in ("cifar10", "cifar100"):
        from lightning_nas.data.cifar import CIFARDataModule

        return CIFARDataModule(name=name, root=root or "data", download=download, **common)
    if name == "imagefolder":
        from lightning_nas.data.imagefolder import ImageFolderDataModule

        return ImageFolderDataModule(root=root or "data/imagefolder", resolution=resolution or 32, **common)
    if name == "imagenet16-120":
        from lightning_nas.data.imagenet16 import ImageNet16DataModule

        return ImageNet16DataModule(root=root or "data/ImageNet16", num_classes=120, **common)
    raise choice_error("dataset", name, DATASETS)


__all__ = ["DATASETS", "DataSpec", "ImageDataModule", "build_datamodule"]
