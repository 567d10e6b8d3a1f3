"""LightningDataModules for the supported datasets, built by name from the `data` config.

Each data module registers its factory in `DATASETS` where it is defined:

    @DATASETS.register("digits")
    def _digits(root, download, resolution, **common) -> ImageDataModule: ...

`common` is batch_size, num_workers, val_fraction, split_seed."""

from __future__ import annotations

from collections.abc import Callable

from lightning_nas.data.base import DataSpec, ImageDataModule
from lightning_nas.registry import Registry

DatasetFactory = Callable[..., ImageDataModule]

DATASETS: Registry[DatasetFactory] = Registry(
    "dataset",
    providers=(
        "lightning_nas.data.digits",
        "lightning_nas.data.cifar",
        "lightning_nas.data.imagefolder",
        "lightning_nas.data.imagenet16",
    ),
)


def dataset_names() -> tuple[str, ...]:
    """The valid `data.name` values."""
    return DATASETS.names()


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
    factory = DATASETS.get(name)  # an unknown name: a one-line ConfigError listing the valid ones
    common = dict(batch_size=batch_size, num_workers=num_workers, val_fraction=val_fraction, split_seed=split_seed)
    return factory(root=root, download=download, resolution=resolution, **common)


__all__ = ["DATASETS", "DataSpec", "ImageDataModule", "build_datamodule", "dataset_names"]
