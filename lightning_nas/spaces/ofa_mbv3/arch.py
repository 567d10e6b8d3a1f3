"""The OFA MobileNetV3 genotype and the macro layout of its subnets, as plain data and arithmetic.

OFA's MobileNetV3 supernet: a stride-2 3x3 stem, a fixed first block (3x3 depthwise, expand 1), then
5 stages of up to 4 MBConv blocks (widths 24, 40, 80, 112, 160 x width_mult, strides 2, 2, 2, 1, 2,
squeeze-excite in stages 2, 4, 5, h-swish in stages 3-5), a 1x1 expand to 960, global pooling, a 1x1
feature mix to 1280 and the classifier. A genotype sets, per block, kernel size `ks` and expand ratio
`e` (20 each; blocks beyond a stage's depth are inactive), per stage the depth `d` (5), and the input
resolution `r`. Everything here is computed without building a network (and without importing `ofa`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

N_STAGES = 5
MAX_DEPTH = 4
N_BLOCKS = N_STAGES * MAX_DEPTH
CHANNEL_DIVISIBLE = 8
SE_REDUCTION = 4

BASE_WIDTHS = (16, 16, 24, 40, 80, 112, 160)  # stem, first block, stages 1-5
BASE_FINAL_EXPAND = 960
BASE_LAST_CHANNEL = 1280
STAGE_STRIDES = (2, 2, 2, 1, 2)
STAGE_SE = (False, True, False, True, True)
STAGE_HSWISH = (False, False, True, True, True)


@dataclass(frozen=True)
class OFAGenotype:
    """OFA's `{"ks": [20], "e": [20], "d": [5]}` plus the input resolution `r`; hashable."""

    ks: tuple[int, ...]
    e: tuple[int, ...]
    d: tuple[int, ...]
    r: int

    def active_blocks(self) -> Iterator[tuple[int, int]]:
        """(stage, block index in 0..19) of every active block, in network order."""
        for stage, depth in enumerate(self.d):
            for j in range(depth):
                yield stage, stage * MAX_DEPTH + j


@functools.lru_cache(maxsize=4096)
def make_divisible(value: float, divisor: int = CHANNEL_DIVISIBLE) -> int:
    """Round a channel count to a multiple of `divisor`, never more than 10 % below `value` (as OFA)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


@dataclass(frozen=True)
class Widths:
    stem: int
    first_block: int
    stages: tuple[int, ...]
    final_expand: int
    last_channel: int


@functools.lru_cache(maxsize=8)
def widths(width_mult: float) -> Widths:
    w = [make_divisible(b * width_mult) for b in BASE_WIDTHS]
    return Widths(w[0], w[1], tuple(w[2:]), make_divisible(BASE_FINAL_EXPAND * width_mult), make_divisible(BASE_LAST_CHANNEL * width_mult))


def conv_out(size: int, stride: int) -> int:
    """Output size of a 'same'-padded convolution (odd kernel) with `stride`."""
    return (size - 1) // stride + 1


@dataclass(frozen=True)
class Block:
    """One MBConv block of a subnet with its input size `size` (square) and output size `out_size`."""

    in_ch: int
    mid: int
    out_ch: int
    ks: int
    stride: int
    size: int
    out_size: int
    se: bool
    hswish: bool
    expand: bool  # has the 1x1 inverted-bottleneck conv (expand ratio != 1)

    @property
    def id_skip(self) -> bool:
        return self.stride == 1 and self.in_ch == self.out_ch

    @property
    def se_mid(self) -> int:
        return make_divisible(self.mid // SE_REDUCTION)


def stem_size(resolution: int) -> int:
    return conv_out(resolution, 2)


def blocks(g: OFAGenotype, width_mult: float) -> list[Block]:
    """The subnet's MBConv blocks, the fixed first block included, with their feature-map sizes."""
    w = widths(width_mult)
    size = stem_size(g.r)
    out = [Block(w.stem, w.stem, w.first_block, 3, 1, size, size, False, False, False)]
    in_ch = w.first_block
    for stage, i in g.active_blocks():
        first = i == stage * MAX_DEPTH
        stride = STAGE_STRIDES[stage] if first else 1
        mid = make_divisible(round(in_ch * g.e[i]))
        out_size = conv_out(size, stride)
        out.append(Block(in_ch, mid, w.stages[stage], g.ks[i], stride, size, out_size, STAGE_SE[stage], STAGE_HSWISH[stage], True))
        in_ch, size = w.stages[stage], out_size
    return out


def block_flops(b: Block) -> list[int]:
    """Multiply-accumulates of the block's convolutions in network order (OFA counts conv and linear
    layers only): inverted bottleneck, depthwise, SE reduce and expand (on the pooled 1x1 map), point."""
    flops = [b.in_ch * b.mid * b.size**2] if b.expand else []
    flops.append(b.mid * b.ks**2 * b.out_size**2)
    if b.se:
        flops += [b.mid * b.se_mid, b.se_mid * b.mid]
    return [*flops, b.mid * b.out_ch * b.out_size**2]


def block_params(b: Block) -> int:
    params = b.in_ch * b.mid + 2 * b.mid if b.expand else 0
    params += b.mid * b.ks**2 + 2 * b.mid
    if b.se:
        params += 2 * b.mid * b.se_mid + b.se_mid + b.mid  # reduce and expand convs with bias
    return params + b.mid * b.out_ch + 2 * b.out_ch


def _layer_flops(layers: list[Block], resolution: int, width_mult: float, num_classes: int) -> list[int]:
    """Multiply-accumulates of every conv / linear layer of the subnet, in network order."""
    w = widths(width_mult)
    size = layers[-1].out_size
    flops = [3 * w.stem * 9 * stem_size(resolution) ** 2]
    for b in layers:
        flops += block_flops(b)
    return [*flops, layers[-1].out_ch * w.final_expand * size**2, w.final_expand * w.last_channel, w.last_channel * num_classes]


def _params(layers: list[Block], width_mult: float, num_classes: int) -> int:
    w = widths(width_mult)
    total = 3 * w.stem * 9 + 2 * w.stem + sum(block_params(b) for b in layers)
    total += layers[-1].out_ch * w.final_expand + 2 * w.final_expand + w.final_expand * w.last_channel
    return total + w.last_channel * num_classes + num_classes


def ofa_sum(counts: list[int]) -> float:
    """Sum as OFA's profiler does: each layer's count stored in a float32 tensor, summed in float32.
    (Equal to the exact integer sum up to float32 rounding, ~1e-7 relative at 224x224.)"""
    return float(np.cumsum(np.asarray(counts, dtype=np.float32), dtype=np.float32)[-1])  # cumsum: sequential


def params(g: OFAGenotype, width_mult: float = 1.0, num_classes: int = 1000) -> int:
    """Parameters of the subnet (conv weights, BN affine, SE biases, classifier weight and bias)."""
    return _params(blocks(g, width_mult), width_mult, num_classes)


def complexity(g: OFAGenotype, width_mult: float = 1.0, num_classes: int = 1000) -> tuple[float, int]:
    """(FLOPs, params) of the subnet exactly as OFA's `count_net_flops` and a parameter count give them."""
    layers = blocks(g, width_mult)
    return ofa_sum(_layer_flops(layers, g.r, width_mult, num_classes)), _params(layers, width_mult, num_classes)
