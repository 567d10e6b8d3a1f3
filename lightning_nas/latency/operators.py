"""What a latency table measures: every distinct operator a space can place, at the shapes it occurs,
and which of them (how many times) make up one genotype's network.

A `TableSpec` is one table (one per input resolution): its `meta` (space, resolution and the shape
settings a table must match to price a network) and its operators. Each space's module (nb201_ops,
ofa_ops) also gives the operator keys of one genotype's network with their multiplicities: predicted
latency = sum of count x entry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from lightning_nas.latency.time_ops import FORMAT


@dataclass(frozen=True)
class Operator:
    key: str
    build: Callable[[], nn.Module]  # the module, freshly made (eval mode is set by the timer)
    input: tuple[int, ...]  # (C, H, W) or (features,): without the batch dimension


@dataclass
class TableSpec:
    space: str
    resolution: int
    shape: dict[str, Any]  # the settings a network must share with the table (channels, classes, ...)
    operators: list[Operator]

    def meta(self, batch: int) -> dict[str, Any]:
        return {"format": FORMAT, "space": self.space, "resolution": self.resolution, "shape": self.shape, "batch": batch}


def shape_str(*dims: int) -> str:
    return "x".join(str(d) for d in dims)
