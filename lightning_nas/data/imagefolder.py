"""Any `train/<class>/*`, `test/<class>/*` image tree (torchvision ImageFolder), resized to
`resolution`. The ../shared CIFAR-10 JPEGs unpack to this layout. Trees of up to `in_memory_limit`
images per split are decoded once into memory (so the probe batch and training do not decode
repeatedly); larger ones (ImageNet) are read lazily, image by image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from lightning_nas.data import DATASETS
from lightning_nas.data.base import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    DataSpec,
    ImageDataModule,
    TensorImages,
    files_digest,
)
from lightning_nas.errors import ConfigError

IN_MEMORY_LIMIT = 100_000


class _LazyFolder(Dataset):
    """ImageFolder decoded on access, 3 channels, normalised like TensorImages."""

    def __init__(self, folder: Any, root: Path, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        self.folder, self.root = folder, root
        self.normalisation = {"mean": list(mean), "std": list(std)}
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)

    def __len__(self) -> int:
        return len(self.folder)  # type: ignore[arg-type]

    def source_digest(self) -> str:
        return files_digest(self.root, self.folder.samples)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        x, y = self.folder[i]
        x = x.expand(3, -1, -1) if x.shape[0] == 1 else x
        return (x.float() / 255.0 - self.mean) / self.std, int(y)


class ImageFolderDataModule(ImageDataModule):
    def __init__(
        self, root: str = "data/imagefolder", resolution: int = 32, flip: bool = True, in_memory_limit: int = IN_MEMORY_LIMIT, **kwargs
    ) -> None:  # noqa: ANN003
        super().__init__(**kwargs)
        self.root = Path(root).expanduser()
        self.in_memory_limit = in_memory_limit
        for split in ("train", "test"):
            if not (self.root / split).is_dir():
                raise ConfigError(f"image folder split not found: {self.root / split} (expected train/<class>/*, test/<class>/*)")
        classes = sorted(p.name for p in (self.root / "train").iterdir() if p.is_dir())
        if not classes:
            raise ConfigError(f"no class folders in {self.root / 'train'}")
        self.classes = classes
        self.spec = DataSpec("imagefolder", len(classes), 3, resolution, crop_padding=max(1, resolution // 8), flip=flip)

    def _load(self, train: bool) -> Dataset:
        from torchvision import datasets, transforms

        tf = transforms.Compose([transforms.Resize((self.spec.resolution,) * 2), transforms.PILToTensor()])
        split = self.root / ("train" if train else "test")
        folder = datasets.ImageFolder(str(split), transform=tf)
        if folder.classes != self.classes:
            raise ConfigError(f"class folders of {self.root / 'test'} differ from those of {self.root / 'train'}")
        if len(folder) > self.in_memory_limit:
            return _LazyFolder(folder, split, IMAGENET_MEAN, IMAGENET_STD)
        images = torch.stack([folder[i][0] for i in range(len(folder))])
        if images.shape[1] == 1:
            images = images.repeat(1, 3, 1, 1)
        source = files_digest(split, folder.samples)  # JPEG decoding and resizing are computed: the files are the data
        return TensorImages(images, torch.tensor(folder.targets), IMAGENET_MEAN, IMAGENET_STD, source=source)


@DATASETS.register("imagefolder")
def _imagefolder(root: str | None, download: bool, resolution: int | None, **common) -> ImageFolderDataModule:  # noqa: ANN003
    return ImageFolderDataModule(root=root or "data/imagefolder", resolution=resolution or 32, **common)
