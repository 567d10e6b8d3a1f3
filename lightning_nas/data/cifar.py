"""CIFAR-10 / CIFAR-100 in torchvision's on-disk layout (`<root>/cifar-10-batches-py`, ...).
Downloads only when `download=True`; otherwise a missing folder is a one-line error naming it."""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset

from lightning_nas.data import DATASETS
from lightning_nas.data.base import IMAGENET_MEAN, IMAGENET_STD, DataSpec, ImageDataModule, TensorImages
from lightning_nas.errors import ConfigError

_FOLDERS = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}


class CIFARDataModule(ImageDataModule):
    def __init__(self, name: str = "cifar10", root: str = "data", download: bool = False, **kwargs) -> None:  # noqa: ANN003
        super().__init__(**kwargs)
        self.name = name
        self.root = Path(root).expanduser()
        self.download = download
        classes = 10 if name == "cifar10" else 100
        self.spec = DataSpec(name, classes, 3, 32, crop_padding=4, flip=True)

    def _load(self, train: bool) -> Dataset:
        from torchvision import datasets

        folder = self.root / _FOLDERS[self.name]
        if not folder.exists() and not self.download:
            raise ConfigError(
                f"{self.name} not found at {folder}; set data.root to the folder holding {_FOLDERS[self.name]}/ "
                "or data.download=true when online"
            )
        cls = datasets.CIFAR10 if self.name == "cifar10" else datasets.CIFAR100
        try:
            ds = cls(str(self.root), train=train, download=self.download)
        except (RuntimeError, OSError) as err:
            raise ConfigError(f"could not read or download {self.name} at {self.root}: {err}") from None
        images = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()
        return TensorImages(images, torch.tensor(ds.targets), IMAGENET_MEAN, IMAGENET_STD)


def _cifar(name: str):  # noqa: ANN202
    def make(root: str | None, download: bool, resolution: int | None, **common) -> CIFARDataModule:  # noqa: ANN003
        return CIFARDataModule(name=name, root=root or "data", download=download, **common)

    return make


DATASETS.register("cifar10")(_cifar("cifar10"))
DATASETS.register("cifar100")(_cifar("cifar100"))
