"""Latency look-up tables in OFA's YAML format, as a cost model for the ofa_mbv3 space.

OFA publishes one table per device and input resolution (`<resolution>_lookup_table.yaml`), mapping a
layer description to measured statistics, e.g.

    Conv-input:224x224x3-output:112x112x16: {mean: 1.2, std: 0.1}
    expanded_conv-input:112x112x16-output:112x112x16-expand:16-kernel:3-stride:1-idskip:1-se:0-hs:0: {...}
    Conv_1-input:7x7x160-output:7x7x960 / AvgPool2D-input:7x7x960-output:1x1x960
    Conv_2-input:1x1x960-output:1x1x1280 / Logits-input:1x1x1280-output:1000

(`expand` is the middle channel count). A subnet's latency is the sum of its layers' `mean`s. Tables
are read from a local file or folder with PyYAML's safe loader; nothing is downloaded."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from lightning_nas.costs import COSTS, CostContext
from lightning_nas.errors import ConfigError
from lightning_nas.spaces.ofa_mbv3.arch import Block, OFAGenotype, blocks, widths
from lightning_nas.spaces.ofa_mbv3.compat import safe_load_yaml

_STEM_KEY = re.compile(r"^Conv-input:(\d+)x(\d+)x3-output:")


def _shape(*dims: int) -> str:
    return "x".join(str(d) for d in dims)


def block_key(b: Block) -> str:
    return (
        f"expanded_conv-input:{_shape(b.size, b.size, b.in_ch)}-output:{_shape(b.out_size, b.out_size, b.out_ch)}"
        f"-expand:{b.mid}-kernel:{b.ks}-stride:{b.stride}-idskip:{int(b.id_skip)}-se:{int(b.se)}-hs:{int(b.hswish)}"
    )


def layer_keys(g: OFAGenotype, width_mult: float, num_classes: int) -> list[str]:
    """The table keys of every layer of the subnet, in OFA's order."""
    w = widths(width_mult)
    layers = blocks(g, width_mult)
    stem, size, last = layers[0].size, layers[-1].out_size, layers[-1].out_ch
    return [
        f"Conv-input:{_shape(g.r, g.r, 3)}-output:{_shape(stem, stem, w.stem)}",
        *(block_key(b) for b in layers),
        f"Conv_1-input:{_shape(size, size, last)}-output:{_shape(size, size, w.final_expand)}",
        f"AvgPool2D-input:{_shape(size, size, w.final_expand)}-output:{_shape(1, 1, w.final_expand)}",
        f"Conv_2-input:{_shape(1, 1, w.final_expand)}-output:{_shape(1, 1, w.last_channel)}",
        f"Logits-input:{_shape(1, 1, w.last_channel)}-output:{num_classes}",
    ]


def table_files(path: str | Path, what: str, hint: str) -> list[Path]:
    """A table file, or the *.yaml / *.yml tables of a folder (one per resolution); a one-line ConfigError
    naming `what` and `hint` when there is none."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ConfigError(f"{what} not found: {path} ({hint})")
    files = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")) if path.is_dir() else [path]
    if not files:
        raise ConfigError(f"no *.yaml latency tables in {path}")
    return files


def table_resolution(lut: dict[str, Any], path: Path) -> int:
    """The input resolution a table was measured at, read off its stem-conv entry."""
    for key in lut:
        m = _STEM_KEY.match(str(key))
        if m and m.group(1) == m.group(2):
            return int(m.group(1))
    raise ConfigError(f"{path} is not an OFA latency table: no 'Conv-input:<r>x<r>x3-output:...' entry")


class OFALatencyTable:
    """{resolution: {layer key: {'mean': ms, ...}}} with the file each came from."""

    def __init__(self, tables: dict[int, dict[str, Any]], sources: dict[int, Path]) -> None:
        self.tables, self.sources = tables, sources

    @classmethod
    def load(cls, path: str | Path) -> OFALatencyTable:
        """One YAML table, or a folder of them (one per resolution, e.g. 160_lookup_table.yaml)."""
        files = table_files(path, "OFA latency table", "give a <resolution>_lookup_table.yaml or a folder of them")
        tables: dict[int, dict[str, Any]] = {}
        sources: dict[int, Path] = {}
        for f in files:
            lut = safe_load_yaml(f)
            if not isinstance(lut, dict):
                raise ConfigError(f"{f} is not an OFA latency table (expected a mapping of layer keys)")
            r = table_resolution(lut, f)
            if r in tables:
                raise ConfigError(f"two latency tables for resolution {r}: {sources[r]} and {f}")
            tables[r], sources[r] = lut, f
        return cls(tables, sources)

    def entry(self, resolution: int, key: str) -> float:
        if resolution not in self.tables:
            have = ", ".join(map(str, sorted(self.tables)))
            raise ConfigError(f"no OFA latency table for resolution {resolution}; tables cover: {have}")
        lut = self.tables[resolution]
        if key not in lut:
            raise ConfigError(f"OFA latency table {self.sources[resolution]} has no entry {key!r}")
        value = lut[key]
        try:
            return float(value["mean"] if isinstance(value, dict) else value)
        except (KeyError, TypeError, ValueError):
            raise ConfigError(f"OFA latency table {self.sources[resolution]}: entry {key!r} has no numeric 'mean'") from None

    def latency(self, g: OFAGenotype, width_mult: float = 1.0, num_classes: int = 1000) -> float:
        return sum(self.entry(g.r, key) for key in layer_keys(g, width_mult, num_classes))


class OFALatencyCost:
    """Predicted latency (ms) of an ofa_mbv3 subnet: the sum of its layers' table entries."""

    def __init__(self, space: Any, table: OFALatencyTable) -> None:
        self.space, self.table = space, table
        self.name = "ofa_latency"
        self.unit = "ms"
        self._cache: dict[str, float] = {}

    def cost(self, genotype: OFAGenotype) -> float:
        key = self.space.key(genotype)
        if key not in self._cache:
            self._cache[key] = self.table.latency(genotype, self.space.width_mult, self.space.num_classes)
        return self._cache[key]

    def minimum(self) -> float | None:
        return None  # measured latencies need not grow with every gene


@COSTS.register("ofa_latency")
def _build(cfg: Any, ctx: CostContext) -> OFALatencyCost:
    from lightning_nas.spaces.ofa_mbv3.space import OFAMobileNetV3Space

    if not isinstance(ctx.space, OFAMobileNetV3Space):
        raise ConfigError(f"cost metric 'ofa_latency' exists only for the ofa_mbv3 space, not {ctx.space.name!r}")
    if not cfg.table:
        raise ConfigError("cost metric 'ofa_latency' needs cost.table: an OFA <resolution>_lookup_table.yaml or a folder of them")
    return OFALatencyCost(ctx.space, OFALatencyTable.load(cfg.table))
