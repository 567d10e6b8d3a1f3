"""The NAS-Bench-201 network: stem, 3 stages of N cells (C, 2C, 4C) with ResNet reduction blocks
between them, BN+ReLU, global pool, linear. Written after the NB201 paper's TinyNetwork so that its
FLOPs and parameter counts equal the benchmark's."""

from __future__ import annotations

import torch
from torch import nn

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
# Edge e joins node EDGES[e][1] (input) to node EDGES[e][0] (output): (1<-0),(2<-0),(2<-1),(3<-0),(3<-1),(3<-2).
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out),
        )


class Zero(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def make_op(name: str, channels: int) -> nn.Module:
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"unknown NB201 op {name!r}")


class Cell(nn.Module):
    """A 4-node DAG; node i sums op(i<-j)(node j) over j < i; the output is node 3."""

    def __init__(self, ops: tuple[int, ...], channels: int) -> None:
        super().__init__()
        self.edges = nn.ModuleList(make_op(OPS[o], channels) for o in ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for node in (1, 2, 3):
            nodes.append(
                sum(op(nodes[src]) for op, (dst, src) in zip(self.edges, EDGES, strict=True) if dst == node)
            )
        return nodes[3]


class ResNetReduction(nn.Module):
    """NB201's reduction block: two 3x3 ReLU-Conv-BN (first stride 2) plus avg-pool + 1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class NB201Network(nn.Module):
    """`cells` holds the 3N cells and the 2 reduction blocks in order; `lastact` is the final BN+ReLU."""

    def __init__(self, ops: tuple[int, ...], C: int, N: int, num_classes: int, in_channels: int = 3) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        blocks: list[nn.Module] = []
        for stage in range(3):
            width = C * 2**stage
            if stage > 0:
                blocks.append(ResNetReduction(width // 2, width))
            blocks.extend(Cell(ops, width) for _ in range(N))
        self.cells = nn.Sequential(*blocks)
        self.lastact = nn.Sequential(nn.BatchNorm2d(4 * C), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(4 * C, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.lastact(self.cells(self.stem(x)))
        return self.classifier(torch.flatten(self.global_pooling(out), 1))


def tap_names(N: int) -> list[str]:
    """Last cell of stage 1, last cell of stage 2, final BN+ReLU (cells 4, 10 and lastact for N=5)."""
    return [f"cells.{N - 1}", f"cells.{2 * N}", "lastact"]


def complexity(ops: tuple[int, ...], C: int, N: int, resolution: int, num_classes: int, in_channels: int) -> tuple[int, int]:
    """Exact (FLOPs, params) counted as NAS-Bench-201 counts them: multiply-accumulates of Conv2d and
    Linear (with bias), parameters of convs, BN affine and the classifier; pooling/BN/ReLU FLOPs are 0."""
    n_1x1 = sum(OPS[o] == "nor_conv_1x1" for o in ops)
    n_3x3 = sum(OPS[o] == "nor_conv_3x3" for o in ops)
    h = resolution
    flops = h * h * C * in_channels * 9
    params = 9 * in_channels * C + 2 * C
    for stage in range(3):
        c = C * 2**stage
        if stage > 0:
            h = (h + 1) // 2
            c_in = c // 2
            flops += h * h * (9 * c * c_in + 9 * c * c + c * c_in)
            params += 9 * c_in * c + 2 * c + 9 * c * c + 2 * c + c_in * c
        flops += N * h * h * c * c * (n_1x1 + 9 * n_3x3)
        params += N * (n_1x1 * (c * c + 2 * c) + n_3x3 * (9 * c * c + 2 * c))
    params += 2 * 4 * C + 4 * C * num_classes + num_classes
    flops += 4 * C * num_classes + num_classes
    return flops, params
