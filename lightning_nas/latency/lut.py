"""A latency look-up table as the search reads it: one file (NB201) or a folder of OFA's
`<resolution>_lookup_table.yaml` files, each with the `_meta` its build wrote; checked against the space
it prices (space, resolution, shape settings, every operator present) before any search starts."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

from lightning_nas.costs.ofa_latency_table import table_files
from lightning_nas.errors import ConfigError
from lightning_nas.latency.operators import TableSpec
from lightning_nas.latency.time_ops import FORMAT, META, TableError, read_table


class LatencyLUT:
    """{resolution: {key: entry}} with each table's meta and file."""

    def __init__(self, tables: dict[int, dict[str, Any]], metas: dict[int, dict[str, Any]], sources: dict[int, Path]) -> None:
        self.tables, self.metas, self.sources = tables, metas, sources

    @classmethod
    def load(cls, path: str | Path) -> LatencyLUT:
        files = table_files(path, "latency table", "make one with python -m lightning_nas.latency build")
        tables: dict[int, dict[str, Any]] = {}
        metas: dict[int, dict[str, Any]] = {}
        sources: dict[int, Path] = {}
        for f in files:
            try:
                data = read_table(f)
            except TableError as err:
                raise ConfigError(str(err)) from None
            meta = data.get(META)
            if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                raise ConfigError(
                    f"{f} is not a lightning_nas latency table (no '{META}' with format {FORMAT}); "
                    "build one with python -m lightning_nas.latency build"
                )
            r = meta.get("resolution")
            if r in tables:
                raise ConfigError(f"two latency tables for resolution {r}: {sources[r]} and {f}")
            entries = {k: v for k, v in data.items() if k != META}
            calibration = meta.get("calibration")
            if calibration is not None and not (isinstance(calibration, dict) and _positive(calibration.get("scale"))):
                raise ConfigError(f"{f}: _meta.calibration must hold a positive finite 'scale', got {calibration!r}")
            for key, value in entries.items():
                if not isinstance(value, dict) or not _positive(value.get("median", value.get("mean"))):
                    raise ConfigError(f"{f}: entry {key!r} has no positive finite 'median' or 'mean' (ms), got {value!r}")
            tables[r], metas[r], sources[r] = entries, meta, f
        spaces = {m.get("space") for m in metas.values()}
        if len(spaces) > 1:
            raise ConfigError(f"the latency tables in {path} are for different spaces: {', '.join(sorted(map(str, spaces)))}")
        return cls(tables, metas, sources)

    @property
    def space(self) -> str:
        return str(next(iter(self.metas.values())).get("space"))

    def check(self, expected: list[TableSpec], what: str) -> None:
        """Refuse a table built for another space, resolution or shape, or missing an operator the space
        can place; `what` names the network in the message."""
        for spec in expected:
            if self.space != spec.space:
                raise ConfigError(f"latency table {self.sources[next(iter(self.sources))]} was built for the {self.space} space, not {spec.space}")
            if spec.resolution not in self.tables:
                have = ", ".join(map(str, sorted(self.tables)))
                raise ConfigError(f"no latency table for resolution {spec.resolution} ({what}); the tables cover {have}")
            meta, source = self.metas[spec.resolution], self.sources[spec.resolution]
            if meta.get("shape") != spec.shape:
                raise ConfigError(f"latency table {source} was built for {meta.get('shape')}, but {what} has {spec.shape}")
            missing = [op.key for op in spec.operators if op.key not in self.tables[spec.resolution]]
            if missing:
                raise ConfigError(
                    f"latency table {source} lacks {len(missing)} operator(s) the space can place, e.g. {missing[0]!r}; "
                    "was its build interrupted? run the same build command again to finish it"
                )

    def operator_sum(self, resolution: int, counts: Counter[str]) -> float:
        """Sum of count x entry (ms, `entry_ms`); a ConfigError naming the first operator the table lacks."""
        table = self.tables.get(resolution)
        if table is None:
            raise ConfigError(f"no latency table for resolution {resolution}; the tables cover {', '.join(map(str, sorted(self.tables)))}")
        total = 0.0
        for key, n in counts.items():
            if key not in table:
                raise ConfigError(f"latency table {self.sources[resolution]} has no entry for operator {key!r}")
            total += n * entry_ms(table[key])
        return total

    def scale(self, resolution: int) -> float:
        """The table's calibration factor (`python -m lightning_nas.latency calibrate`), 1 without one."""
        calibration = self.metas[resolution].get("calibration") if resolution in self.metas else None
        return float(calibration["scale"]) if isinstance(calibration, dict) else 1.0

    def predict(self, resolution: int, counts: Counter[str]) -> float:
        """The predicted latency (ms): the operators' sum times the table's calibration factor."""
        return self.scale(resolution) * self.operator_sum(resolution, counts)


def entry_ms(entry: dict[str, Any]) -> float:
    """An operator's latency: our median where the table has it (robust to a slow outlier block), else
    OFA's mean."""
    return float(entry.get("median", entry.get("mean")))


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
