"""NAS-Bench-201's downsampled ImageNet (ImageNet16-120): pickled batches `train_data_batch_1..10`
and `val_data`, each a dict with `data` (n x 768 uint8, channel-first 3x16x16) and 1-based `labels`;
the 120-class subset keeps labels 1..120. The files are pickles: only read from the path the user named."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from lightning_nas.data import DATASETS
from lightning_nas.data.base import DataSpec, ImageDataModule, TensorImages
from lightning_nas.errors import ConfigError

MEAN = (122.68 / 255, 116.66 / 255, 104.01 / 255)
STD = (63.22 / 255, 61.26 / 255, 65.09 / 255)
TRAIN_FILES = [f"train_data_batch_{i}" for i in range(1, 11)]


class ImageNet16DataModule(ImageDataModule):
    def __init__(self, root: str = "data/ImageNet16", num_classes: int = 120, **kwargs) -> None:  # noqa: ANN003
        super().__init__(**kwargs)
        self.root = Path(root).expanduser()
        self.num_classes = num_classes
        self.spec = DataSpec(f"ImageNet16-{num_classes}", num_classes, 3, 16, crop_padding=2, flip=True)

    def _read(self, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
        data, labels = [], []
        for name in names:
            path = self.root / name
            if not path.exists():
                raise ConfigError(f"ImageNet16 file not found: {path} (expected {', '.join(TRAIN_FILES[:2])}, ..., val_data)")
            with open(path, "rb") as f:
                entry = pickle.load(f, encoding="latin1")
            data.append(np.asarray(entry["data"], dtype=np.uint8))
            labels.append(np.asarray(entry["labels"], dtype=np.int64))
        return np.concatenate(data), np.concatenate(labels)

    def _load(self, train: bool) -> Dataset:
        present = [n for n in TRAIN_FILES if (self.root / n).exists()] if train else ["val_data"]
        data, labels = self._read(present or TRAIN_FILES[:1])
        keep = labels <= self.num_classes
        images = torch.from_numpy(data[keep]).view(-1, 3, 16, 16)
        return TensorImages(images, torch.from_numpy(labels[keep] - 1), MEAN, STD)


@DATASETS.register("imagenet16-120")
def _imagenet16_120(root: str | None, download: bool, resolution: int | None, **common) -> ImageNet16DataModule:  # noqa: ANN003
    return ImageNet16DataModule(root=root or "data/ImageNet16", num_classes=120, **common)
