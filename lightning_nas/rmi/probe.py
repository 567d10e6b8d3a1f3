"""The fixed probe batch (RMI-NAS): draw `pool` training images with a seeded generator, augment them
once, and keep the `size` with the lowest reference cross-entropy. Same seed, same batch, bit for bit."""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import Dataset

from lightning_nas.config import ProbeConfig
from lightning_nas.data.base import DataSpec, augment
from lightning_nas.errors import ConfigError
from lightning_nas.rmi.taps import ReferenceTaps, set_bn_mode


@dataclass
class ProbeBatch:
    x: torch.Tensor
    y: torch.Tensor
    indices: list[int]

    def digest(self) -> str:
        """sha256 of the batch contents (identifies it in caches and run records)."""
        h = hashlib.sha256(self.x.contiguous().numpy().tobytes())
        h.update(self.y.numpy().tobytes())
        return h.hexdigest()[:16]


@torch.no_grad()
def select_probe_batch(
    train_set: Dataset,
    spec: DataSpec,
    reference: nn.Module,
    cfg: ProbeConfig,
    seed: int,
    bn_mode: str = "train",
    exclude: frozenset[int] = frozenset(),
) -> ProbeBatch:
    """The probe batch; `exclude`: training-set indices never drawn (the held-out batch excludes the probe's)."""
    n = len(train_set)  # type: ignore[arg-type]
    if not 0 < cfg.batch_size <= cfg.pool:
        raise ConfigError(f"probe.batch_size {cfg.batch_size} must be in 1..probe.pool ({cfg.pool})")
    if cfg.pool > n - len(exclude):
        held = f" besides the {len(exclude)} of the probe batch" if exclude else ""
        raise ConfigError(f"probe.pool {cfg.pool} exceeds the {n - len(exclude)} training images of {spec.name}{held}")
    gen = torch.Generator().manual_seed(seed)
    drawn = [i for i in torch.randperm(n, generator=gen).tolist() if i not in exclude][: cfg.pool]
    items = [train_set[i] for i in drawn]
    x = torch.stack([item[0] for item in items])
    y = torch.tensor([int(item[1]) for item in items])
    if cfg.augment:
        x = augment(x, spec.crop_padding, spec.flip, generator=gen)
    ref = set_bn_mode(copy.deepcopy(reference), bn_mode)
    ce = F.cross_entropy(ref(x), y, reduction="none")
    keep = torch.argsort(ce, stable=True)[: cfg.batch_size]
    return ProbeBatch(x[keep].contiguous(), y[keep].contiguous(), [drawn[i] for i in keep.tolist()])


def heldout_seed(seed: int) -> int:
    """The seed of the held-out batch (`proxy.score_on: heldout`): another draw than the probe's."""
    return int.from_bytes(hashlib.sha256(f"heldout:{seed}".encode()).digest()[:4], "little")


@torch.no_grad()
def reference_features(reference: nn.Module, taps: list[str], x: torch.Tensor, bn_mode: str = "train") -> list[torch.Tensor]:
    """The reference's tapped features on the probe batch (computed once per search)."""
    return [f.detach().clone() for f in ReferenceTaps(reference, taps, bn_mode).features(x)]
