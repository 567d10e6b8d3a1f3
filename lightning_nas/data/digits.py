"""scikit-learn's bundled handwritten digits (1797 images, 8x8, 10 classes): the offline default.

The 8x8 grey images (values 0..16) are scaled to [0, 1], upsampled bilinearly to `resolution`
(default 16, so the NB201 skeleton has 16/8/4 feature maps) and repeated to 3 channels, so that the
same networks and reference models as for CIFAR apply. 20 % is held out as the test set (seeded)."""

from __future__ import annotations

import torch
from torch.nn import functional as F
from torch.utils.data import Dataset

from lightning_nas.data import DATASETS
from lightning_nas.data.base import DataSpec, ImageDataModule, TensorImages, bytes_digest

MEAN = (0.30,) * 3
STD = (0.40,) * 3
TEST_FRACTION = 0.2


class DigitsDataModule(ImageDataModule):
    def __init__(self, resolution: int = 16, **kwargs) -> None:  # noqa: ANN003
        super().__init__(**kwargs)
        self.spec = DataSpec("digits", 10, 3, resolution, crop_padding=max(1, resolution // 8), flip=False)
        self._images: torch.Tensor | None = None

    def _all(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        from sklearn.datasets import load_digits

        digits = load_digits()
        x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
        x = F.interpolate(x, size=self.spec.resolution, mode="bilinear", align_corners=False).clamp(0, 1)
        return x.repeat(1, 3, 1, 1), torch.tensor(digits.target), torch.from_numpy(digits.images)

    def _load(self, train: bool) -> Dataset:
        x, y, raw = self._all()  # raw: the 8x8 images as scikit-learn ships them (x is interpolated: computed)
        order = torch.randperm(len(y), generator=torch.Generator().manual_seed(12345))
        n_test = int(len(y) * TEST_FRACTION)
        idx = order[n_test:] if train else order[:n_test]
        return TensorImages(x[idx], y[idx], MEAN, STD, source=bytes_digest(raw[idx], y[idx]))


@DATASETS.register("digits")
def _digits(root: str | None, download: bool, resolution: int | None, **common) -> DigitsDataModule:  # noqa: ANN003
    return DigitsDataModule(resolution=resolution or 16, **common)
