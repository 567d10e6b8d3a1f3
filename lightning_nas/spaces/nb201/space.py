"""NAS-Bench-201 search space: a genotype is a tuple of 6 op indices in NB201's op order."""

from __future__ import annotations

import functools
import gzip
import itertools
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from numbers import Integral
from typing import TYPE_CHECKING, Any

from nas_201_api import NASBench201API
from torch import nn

from lightning_nas.errors import ConfigError
from lightning_nas.spaces import SPACE_TYPES, SPACES
from lightning_nas.spaces.base import NB201_BENCHMARK, Tap, gene_values, measure_taps
from lightning_nas.spaces.nb201 import network as net
from lightning_nas.spaces.nb201.network import EDGES, OPS

if TYPE_CHECKING:
    from lightning_nas.latency.operators import TableSpec

NB201Genotype = tuple[int, int, int, int, int, int]


def to_arch_str(genotype: NB201Genotype) -> str:
    """`(3, 3, 4, 1, 3, 1)` -> `|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|...|`."""
    nodes = []
    for node in (1, 2, 3):
        ops = [f"{OPS[o]}~{src}" for o, (dst, src) in zip(genotype, EDGES, strict=True) if dst == node]
        nodes.append("|" + "|".join(ops) + "|")
    return "+".join(nodes)


def from_arch_str(arch: str) -> NB201Genotype:
    """Parse an NB201 arch string; ConfigError naming the bad part when it is not one."""
    shape_ok = arch.count("+") == 2 and all(n.startswith("|") and n.endswith("|") for n in arch.split("+"))
    if not shape_ok:
        raise ConfigError(
            f"invalid NAS-Bench-201 arch string {arch!r}; expected |op~0|+|op~0|op~1|+|op~0|op~1|op~2| "
            f"with op in {', '.join(OPS)}"
        )
    try:
        nodes = NASBench201API.str2lists(arch)
    except (ValueError, AssertionError, IndexError) as err:
        raise ConfigError(f"invalid NAS-Bench-201 arch string {arch!r}: {err}") from None
    genotype: list[int] = []
    for node, inputs in enumerate(nodes, start=1):
        if [int(src) for _, src in inputs] != list(range(node)):
            raise ConfigError(
                f"invalid NAS-Bench-201 arch string {arch!r}: node {node} must take inputs 0..{node - 1}"
            )
        for op, _ in inputs:
            if op not in OPS:
                raise ConfigError(f"unknown NAS-Bench-201 op {op!r} in {arch!r}; valid: {', '.join(OPS)}")
            genotype.append(OPS.index(op))
    return tuple(genotype)  # type: ignore[return-value]


def from_ops_digits(digits: str) -> NB201Genotype:
    """`"421211"` (the `ops` column of the benchmark tables) -> (4, 2, 1, 2, 1, 1)."""
    return tuple(int(d) for d in digits)  # type: ignore[return-value]


@SPACE_TYPES.register("nb201")
@dataclass
class NB201Space:
    """NB201 cells. `C`, `N` size the network the RMI proxy trains (paper: 16, 5); `full_C`, `full_N`
    size the benchmark network whose FLOPs/params and hardware cost count (always 16, 5 in NB201);
    `full_resolution` is the input size its FLOPs are counted at (None: `resolution`, the data's; a proxy
    that reads the data at a lower resolution keeps the benchmark's FLOPs with 32)."""

    num_classes: int = 10
    in_channels: int = 3
    resolution: int = 32
    C: int = 16
    N: int = 5
    full_C: int = 16
    full_N: int = 5
    name: str = "nb201"
    benchmark: str | None = NB201_BENCHMARK
    full_resolution: int | None = None
    flops_unit: str = "MFLOPs"  # NAS-Bench-201's name for its FLOPs

    def sample(self, rng: random.Random) -> NB201Genotype:
        return tuple(rng.randrange(len(OPS)) for _ in EDGES)  # type: ignore[return-value]

    def mutate(self, genotype: NB201Genotype, rng: random.Random, rate: float) -> NB201Genotype:
        """Per-edge mutation (EvNAS): each edge, with probability `rate`, takes a different op."""
        out = list(genotype)
        for i, op in enumerate(out):
            if rng.random() < rate:
                out[i] = rng.choice([o for o in range(len(OPS)) if o != op])
        return tuple(out)  # type: ignore[return-value]

    def crossover(
        self, a: NB201Genotype, b: NB201Genotype, rng: random.Random
    ) -> tuple[NB201Genotype, NB201Genotype]:
        """Per-edge uniform crossover: each edge swaps between the parents with probability 1/2."""
        c1, c2 = list(a), list(b)
        for i in range(len(EDGES)):
            if rng.random() < 0.5:
                c1[i], c2[i] = c2[i], c1[i]
        return tuple(c1), tuple(c2)  # type: ignore[return-value]

    def to_module(self, genotype: NB201Genotype, proxy: bool = True) -> nn.Module:
        C, N = (self.C, self.N) if proxy else (self.full_C, self.full_N)
        return net.NB201Network(genotype, C, N, self.num_classes, self.in_channels)

    def tap_names(self, genotype: NB201Genotype, proxy: bool = True) -> list[str]:
        return net.tap_names(self.N if proxy else self.full_N)

    def taps(self, genotype: NB201Genotype, proxy: bool = True) -> list[Tap]:
        shape = (self.in_channels, self.resolution, self.resolution)
        return measure_taps(self.to_module(genotype, proxy), self.tap_names(genotype, proxy), shape)

    def proxy_signature(self) -> dict[str, Any]:
        """The proxy network's shape: cell width and depth and the dataset's (full_C/full_N only change costs)."""
        return {
            "name": self.name,
            "C": self.C,
            "N": self.N,
            "num_classes": self.num_classes,
            "in_channels": self.in_channels,
            "resolution": self.resolution,
        }

    def benchmark_fields(self, genotype: NB201Genotype) -> dict[str, Any]:
        return {"arch_str": to_arch_str(genotype), "nb201_index": nb201_index(genotype)}

    def key(self, genotype: NB201Genotype) -> str:
        return to_arch_str(genotype)

    def class_key(self, genotype: NB201Genotype) -> str:
        from lightning_nas.spaces.nb201.isomorphism import canonical

        return canonical(genotype, "nb201")  # NAS-Bench-201's own classes (6,466)

    def describe(self, genotype: NB201Genotype) -> str:
        return to_arch_str(genotype)

    def to_json(self, genotype: NB201Genotype) -> Any:
        return list(genotype)

    def from_json(self, data: Any) -> NB201Genotype:
        ops = list(data) if isinstance(data, list | tuple) else []
        is_index = [isinstance(x, Integral) and not isinstance(x, bool) and 0 <= x < len(OPS) for x in ops]
        if len(ops) != len(EDGES) or not all(is_index):
            raise ConfigError(f"invalid NB201 genotype {data!r}; expected 6 op indices in 0..{len(OPS) - 1}")
        return tuple(int(x) for x in ops)  # type: ignore[return-value]

    def parse(self, text: str) -> NB201Genotype:
        text = text.strip()
        if text.startswith("["):
            import json

            try:
                data = json.loads(text)
            except json.JSONDecodeError as err:
                raise ConfigError(f"invalid NB201 genotype JSON {text!r}: {err}") from None
            return self.from_json(data)
        return from_arch_str(text)

    def complexity(self, genotype: NB201Genotype) -> tuple[float, float]:
        flops, params = net.complexity(
            genotype, self.full_C, self.full_N, self.full_resolution or self.resolution, self.num_classes, self.in_channels
        )
        return flops / 1e6, params / 1e6

    def enumerate(self) -> Iterator[NB201Genotype]:
        return itertools.product(range(len(OPS)), repeat=len(EDGES))  # type: ignore[return-value]

    def min_complexity(self) -> None:
        return None  # finite: a cost enumerates the space

    def proxy_size(self) -> dict[str, Any]:
        return {"C": self.C, "N": self.N}

    def table_fields(self, genotype: NB201Genotype) -> dict[str, Any]:
        return {"arch_str": to_arch_str(genotype), "arch_index": nb201_index(genotype)}

    def gene_labels(self, data: Any) -> list[str]:
        return [OPS[int(i)] for i in gene_values(data)]

    def label_order(self, labels: set[str]) -> list[str]:
        return [op for op in OPS if op in labels] + sorted(labels - set(OPS))

    # ---- latency tables of the full-size network (full_C, full_N) ----------------------------------
    def latency_tables(self) -> list[TableSpec]:
        from lightning_nas.latency.nb201_ops import nb201_table

        return [nb201_table(self.full_C, self.full_N, self.resolution, self.num_classes, self.in_channels)]

    def latency_counts(self, genotype: NB201Genotype) -> tuple[int, Counter[str]]:
        from lightning_nas.latency.nb201_ops import nb201_counts

        shape = (self.full_C, self.full_N, self.resolution, self.num_classes, self.in_channels)
        return self.resolution, nb201_counts(genotype, *shape)

    def latency_network(self, genotype: NB201Genotype) -> tuple[nn.Module, tuple[int, ...]]:
        return self.to_module(genotype, proxy=False), (self.in_channels, self.resolution, self.resolution)

    @classmethod
    def from_latency_shape(cls, shape: dict[str, Any], resolutions: Sequence[int]) -> NB201Space:
        """The space a latency table's shape describes (None or missing: `latency build`'s defaults)."""
        res = list(resolutions) or [32]
        if len(res) != 1 or res[0] < 4:
            raise ConfigError(f"nb201 takes one --resolution >= 4, got {res}")
        return cls(num_classes=shape.get("num_classes") or 10, in_channels=shape.get("in_channels", 3),
                   resolution=res[0], full_C=shape.get("C", 16), full_N=shape.get("N", 5))  # fmt: skip


@functools.lru_cache(maxsize=1)
def _index_order() -> tuple[NB201Genotype, ...]:
    """The NB201 index order, shipped with the package (it is not a base-5 enumeration)."""
    path = resources.files("lightning_nas.spaces.nb201").joinpath("index.txt.gz")
    with resources.as_file(path) as p, gzip.open(p, "rt") as f:
        return tuple(from_ops_digits(line.strip()) for line in f if line.strip() and not line.startswith("#"))


@functools.lru_cache(maxsize=1)
def _index_of() -> dict[NB201Genotype, int]:
    return {g: i for i, g in enumerate(_index_order())}


def nb201_index(genotype: NB201Genotype) -> int:
    """The NAS-Bench-201 / NATS-tss / HW-NAS-Bench index of a genotype."""
    return _index_of()[tuple(genotype)]  # type: ignore[index]


def genotype_of_index(index: int) -> NB201Genotype:
    order = _index_order()
    if not 0 <= index < len(order):
        raise ConfigError(f"NB201 index {index} out of range; valid: 0..{len(order) - 1}")
    return order[index]


@SPACES.register("nb201")
def _from_config(cfg: Any, spec: Any) -> NB201Space:
    for key in ("C", "N", "full_C", "full_N", "full_resolution"):
        value = getattr(cfg, key)
        if value is None and key == "full_resolution":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"space.{key} must be an integer >= 1, got {value!r}")
    return NB201Space(
        spec.num_classes, spec.in_channels, spec.resolution, cfg.C, cfg.N, cfg.full_C, cfg.full_N,
        full_resolution=cfg.full_resolution,
    )
