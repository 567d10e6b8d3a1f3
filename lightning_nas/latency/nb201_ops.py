"""NAS-Bench-201's operators for a latency table: the stem, each edge operation in each stage (at the
stage's channels and resolution), the cell's own work (its node sums and dispatch, `cell_frame`), the two
reduction blocks and the head (BN, ReLU, global pooling, classifier). A network is N cells per stage: the prediction
counts each edge's operation N times per stage."""

from __future__ import annotations

from collections import Counter

import torch
from torch import nn

from lightning_nas.latency.operators import Operator, TableSpec, shape_str
from lightning_nas.spaces.nb201.network import EDGES, OPS, Cell, ResNetReduction, make_op

SKIP = OPS.index("skip_connect")


def cell_frame(channels: int) -> nn.Module:
    """A cell's own work besides its edge operations: its forward (node sums, dispatch) with identity
    edges. Each edge's operation is counted by its own entry (an identity call, ~1 us, is counted twice)."""
    return Cell((SKIP,) * len(EDGES), channels)


class Head(nn.Module):
    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.lastact = nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(inplace=True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.lastact(x)), 1))


def stages(C: int, resolution: int) -> list[tuple[int, int]]:
    """(channels, feature-map size) of the three stages."""
    out, size = [], resolution
    for s in range(3):
        if s > 0:
            size = (size + 1) // 2
        out.append((C * 2**s, size))
    return out


def _op_key(op: str, c: int, h: int) -> str:
    return f"{op}-input:{shape_str(h, h, c)}"


def _reduction_key(c_in: int, h_in: int, c: int, h: int) -> str:
    return f"reduction-input:{shape_str(h_in, h_in, c_in)}-output:{shape_str(h, h, c)}"


def _stem_key(in_channels: int, C: int, r: int) -> str:
    return f"stem-input:{shape_str(r, r, in_channels)}-output:{shape_str(r, r, C)}"


def _head_key(c: int, h: int, num_classes: int) -> str:
    return f"head-input:{shape_str(h, h, c)}-output:{num_classes}"


def nb201_table(C: int = 16, N: int = 5, resolution: int = 32, num_classes: int = 10, in_channels: int = 3) -> TableSpec:
    st = stages(C, resolution)
    ops = [Operator(_stem_key(in_channels, C, resolution),
                    lambda: nn.Sequential(nn.Conv2d(in_channels, C, 3, padding=1, bias=False), nn.BatchNorm2d(C)),
                    (in_channels, resolution, resolution))]  # fmt: skip
    for s, (c, h) in enumerate(st):
        if s > 0:
            c_in, h_in = st[s - 1]
            ops.append(Operator(_reduction_key(c_in, h_in, c, h), lambda c_in=c_in, c=c: ResNetReduction(c_in, c), (c_in, h_in, h_in)))
        for op in OPS:
            ops.append(Operator(_op_key(op, c, h), lambda op=op, c=c: make_op(op, c), (c, h, h)))
        ops.append(Operator(_op_key("cell", c, h), lambda c=c: cell_frame(c), (c, h, h)))
    c, h = st[-1]
    ops.append(Operator(_head_key(c, h, num_classes), lambda: Head(c, num_classes), (c, h, h)))
    shape = {"C": C, "N": N, "num_classes": num_classes, "in_channels": in_channels}
    return TableSpec("nb201", resolution, shape, ops)


def nb201_counts(genotype: tuple[int, ...], C: int, N: int, resolution: int, num_classes: int, in_channels: int) -> Counter[str]:
    """The operator keys of the genotype's network (C, N), with how often each occurs."""
    st = stages(C, resolution)
    keys: Counter[str] = Counter({_stem_key(in_channels, C, resolution): 1})
    for s, (c, h) in enumerate(st):
        if s > 0:
            keys[_reduction_key(*st[s - 1], c, h)] += 1
        for o in genotype:
            keys[_op_key(OPS[o], c, h)] += N
        keys[_op_key("cell", c, h)] += N
    keys[_head_key(*st[-1], num_classes)] += 1
    assert len(genotype) == len(EDGES)
    return keys
