"""Shared LightningDataModule for the image datasets: a seeded train/val split, normalised tensors,
the standard augmentation (random crop with padding, horizontal flip where it makes sense) and
loaders. Subclasses only say how to read the train and test sets.

The training stream is a function of one seed: the loader's sampler draws the order and one augmentation
seed per image from an explicit `torch.Generator`, in the main process, so neither the global RNG state
nor the number of loader workers (`data.num_workers`) changes what a model sees."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, Subset

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
    """The training images, augmented. Indexed by (index, augmentation seed) pairs from `SeededSampler`
    (a plain index augments from the global RNG)."""

    def __init__(self, base: Dataset, padding: int, flip: bool) -> None:
        self.base, self.padding, self.flip = base, padding, flip

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, item: int | tuple[int, int]) -> tuple[torch.Tensor, int]:
        i, seed = item if isinstance(item, tuple) else (item, None)
        x, y = self.base[i]
        generator = None if seed is None else torch.Generator().manual_seed(seed)
        return augment(x, self.padding, self.flip, generator), y


class SeededSampler(Sampler[tuple[int, int]]):
    """Each epoch a shuffled order of `n` images, each paired with its augmentation seed, both drawn from
    `generator` (which carries on across epochs): the stream depends on the generator's seed only."""

    def __init__(self, n: int, generator: torch.Generator) -> None:
        self.n, self.generator = n, generator

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[tuple[int, int]]:
        order = torch.randperm(self.n, generator=self.generator).tolist()
        seeds = torch.randint(0, 2**62, (self.n,), generator=self.generator).tolist()
        return iter(zip(order, seeds, strict=True))


def seed_worker(worker_id: int) -> None:
    """DataLoader `worker_init_fn`: a worker's Python and NumPy RNGs follow its torch seed (the loader's
    generator and the worker id), for datasets that draw from them."""
    seed = torch.initial_seed()
    random.seed(seed)
    np.random.seed(seed % 2**32)


class ImageDataModule(L.LightningDataModule):
    """Subclasses set `spec` and implement `_load(train: bool) -> Dataset` of (normalised tensor, label).

    The validation split is explicit: `val_fraction` of the training images held out (seeded by
    `split_seed`), or none at all when it is 0. Without one, `val_dataloader` is empty: it never falls
    back to the test set, so nothing is ever selected on test data."""

    spec: DataSpec
    root: Path | None = None  # where the files are; None for a bundled dataset

    def __init__(self, batch_size: int = 128, num_workers: int = 0, val_fraction: float = 0.1, split_seed: int = 0) -> None:
        super().__init__()
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

    def content_identity(self) -> dict[str, Any]:
        """What the training data is, the same on every machine: the dataset's name, resolution and
        normalisation, the train/validation split and a digest of its training images' source (raw bytes or
        file list; never where the files lie). Part of a score's settings identity."""
        self.setup()
        full = self._train.dataset  # type: ignore[union-attr]  # the training images before the validation split
        return {
            "name": self.spec.name,
            "resolution": self.spec.resolution,
            "normalisation": getattr(full, "normalisation", None),  # None: a dataset class that does not say
            "split": {"val_fraction": self.val_fraction, "split_seed": self.split_seed},
            "digest": full.source_digest() if hasattr(full, "source_digest") else None,
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

    def _loader(
        self, ds: Dataset, batch_size: int | None, sampler: Sampler | None = None, generator: torch.Generator | None = None
    ) -> DataLoader:
        return DataLoader(
            ds,
            batch_size=self.batch_size if batch_size is None else batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            worker_init_fn=seed_worker if self.num_workers > 0 else None,
            generator=generator,
        )

    # `batch_size` overrides the module's for one loader (a reference trained with its own batch size
    # must not change the batch size of a shared datamodule).
    def train_dataloader(self, batch_size: int | None = None, seed: int | None = None) -> DataLoader:
        """Shuffled, augmented training batches, the whole stream a function of `seed` (None: one drawn
        from the global torch RNG, which Lightning's `seed_everything` seeds)."""
        self.setup()
        if seed is None:
            seed = int(torch.randint(0, 2**62, ()).item())
        generator = torch.Generator().manual_seed(seed)
        augmented = _Augmented(self._train, self.spec.crop_padding, self.spec.flip)  # type: ignore[arg-type]
        return self._loader(augmented, batch_size, SeededSampler(len(augmented), generator), generator)

    def val_dataloader(self, batch_size: int | None = None) -> DataLoader:
        """The held-out validation images; an empty loader when there is no validation split."""
        self.setup()
        return self._loader(self._val, batch_size)  # type: ignore[arg-type]

    def test_dataloader(self, batch_size: int | None = None) -> DataLoader:
        self.setup()
        return self._loader(self._test, batch_size)  # type: ignore[arg-type]


def bytes_digest(*arrays: Any) -> str:
    """sha256 (24 hex digits) of arrays' or tensors' raw bytes, shapes and dtypes: the identity of data that
    is read, not computed (computed floats differ across CPUs in their last bits)."""
    h = hashlib.sha256()
    for a in arrays:
        a = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:24]


def files_digest(root: Path, files: list[tuple[str, int]]) -> str:
    """sha256 (24 hex digits) of a file list: each (path, label) as its path relative to `root`, its size
    in bytes and its label (never the root itself: the same files elsewhere are the same data)."""
    h = hashlib.sha256()
    for path, label in files:
        h.update(f"{Path(path).relative_to(root).as_posix()}\t{Path(path).stat().st_size}\t{label}\n".encode())
    return h.hexdigest()[:24]


class TensorImages(Dataset):
    """Images as one uint8/float tensor (n, c, h, w) in [0, 1] after `scale`, normalised on access.
    `source`: the digest of what the images were read from, when they were computed from it (resized);
    by default the digest of the images and labels themselves."""

    def __init__(
        self, images: torch.Tensor, labels: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...], source: str | None = None
    ) -> None:
        self.images = images
        self.labels = labels
        self.normalisation = {"mean": list(mean), "std": list(std)}
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)
        self.source = source

    def source_digest(self) -> str:
        return self.source or bytes_digest(self.images, self.labels)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        x = self.images[i]
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x
        return (x - self.mean) / self.std, int(self.labels[i])
