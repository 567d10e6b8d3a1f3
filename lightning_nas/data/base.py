"""Shared LightningDataModule for the image datasets: a seeded train/val split, normalised tensors,
the standard augmentation (random crop with padding, horizontal flip where it makes sense) and
loaders. Subclasses only say how to read the train and test sets."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, Subset

from lightning_nas.errors import ConfigError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class DataSpec:
    """What a network needs to know about a dataset."""

    name: str
    num_classes: int
    in_channels: int
    resolution: int
    crop_padding: int
    flip: bool


def augment(images: torch.Tensor, padding: int, flip: bool, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random crop after zero padding and an optional horizontal flip, per image, with an explicit RNG.

    `images` is (n, c, h, w) or (c, h, w). Used for the probe batch (seeded, bit-exact) and for training."""
    single = images.dim() == 3
    batch = images.unsqueeze(0) if single else images
    n, _, h, w = batch.shape
    if padding > 0:
        padded = torch.nn.functional.pad(batch, (padding,) * 4)
        dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
        dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
        batch = torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])
    if flip:
        mask = torch.rand(n, generator=generator) < 0.5
        batch = torch.where(mask[:, None, None, None], batch.flip(-1), batch)
    return batch[0] if single else batch


class _Augmented(Dataset):
    def __init__(self, base: Dataset, padding: int, flip: bool) -> None:
        self.base, self.padding, self.flip = base, padding, flip

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        x, y = self.base[i]
        return augment(x, self.padding, self.flip), y


class ImageDataModule(L.LightningDataModule):
    """Subclasses set `spec` and implement `_load(train: bool) -> Dataset` of (normalised tensor, label).

    The validation split is explicit: `val_fraction` of the training images held out (seeded by
    `split_seed`), or none at all when it is 0. Without one, `val_dataloader` is empty: it never falls
    back to the test set, so nothing is ever selected on test data."""

    spec: DataSpec
    root: Path | None = None  # where the files are; None for a bundled dataset

    def __init__(self, batch_size: int = 128, num_workers: int = 0, val_fraction: float = 0.1, split_seed: int = 0) -> None:
        super().__init__()
        if not 0.0 <= val_fraction < 1.0:
            raise ConfigError(f"data.val_fraction must be in [0, 1) (0: no validation split), got {val_fraction}")
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.val_fraction = val_fraction
        self.split_seed = split_seed
        self._train: Dataset | None = None
        self._val: Dataset | None = None
        self._test: Dataset | None = None

    def _load(self, train: bool) -> Dataset:
        raise NotImplementedError

    @property
    def has_val_split(self) -> bool:
        return self.val_fraction > 0

    @property
    def val_split(self) -> str:
        """Which images validate, in words (recorded wherever something is evaluated)."""
        if not self.has_val_split:
            return "none"
        return f"train holdout {100 * self.val_fraction:g}% (split_seed {self.split_seed})"

    def identity(self) -> dict[str, Any]:
        """Everything about the data that changes a model trained on its training split: the dataset
        (spec), where its files are (absolute) and the train/validation split."""
        return {
            **asdict(self.spec),
            "root": str(Path(self.root).expanduser().resolve()) if self.root is not None else None,
            "val_fraction": self.val_fraction,
            "split_seed": self.split_seed,
        }

    def train_set(self) -> Dataset:
        """The training split, un-augmented (the probe batch is drawn from it)."""
        if self._train is None:
            self.setup()
        return self._train  # type: ignore[return-value]

    def setup(self, stage: str | None = None) -> None:
        if self._train is not None:
            return
        full = self._load(train=True)
        n_val = int(round(len(full) * self.val_fraction))  # type: ignore[arg-type]
        if self.has_val_split and n_val == 0:
            raise ConfigError(
                f"data.val_fraction {self.val_fraction:g} holds out no image of the {len(full)} training images "  # type: ignore[arg-type]
                f"of {self.spec.name}; set it to 0 (no validation split) or higher"
            )
        order = torch.randperm(len(full), generator=torch.Generator().manual_seed(self.split_seed)).tolist()  # type: ignore[arg-type]
        self._val = Subset(full, order[:n_val])
        self._train = Subset(full, order[n_val:])
        self._test = self._load(train=False)

    def _loader(self, ds: Dataset, shuffle: bool, batch_size: int | None) -> DataLoader:
        return DataLoader(
            ds,
            batch_size=self.batch_size if batch_size is None else batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    # `batch_size` overrides the module's for one loader (a reference trained with its own batch size
    # must not change the batch size of a shared datamodule).
    def train_dataloader(self, batch_size: int | None = None) -> DataLoader:
        self.setup()
        augmented = _Augmented(self._train, self.spec.crop_padding, self.spec.flip)  # type: ignore[arg-type]
        return self._loader(augmented, shuffle=True, batch_size=batch_size)

    def val_dataloader(self, batch_size: int | None = None) -> DataLoader:
        """The held-out validation images; an empty loader when there is no validation split."""
        self.setup()
        return self._loader(self._val, shuffle=False, batch_size=batch_size)  # type: ignore[arg-type]

    def test_dataloader(self, batch_size: int | None = None) -> DataLoader:
        self.setup()
        return self._loader(self._test, shuffle=False, batch_size=batch_size)  # type: ignore[arg-type]


class TensorImages(Dataset):
    """Images as one uint8/float tensor (n, c, h, w) in [0, 1] after `scale`, normalised on access."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        self.images = images
        self.labels = labels
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        x = self.images[i]
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x
        return (x - self.mean) / self.std, int(self.labels[i])
