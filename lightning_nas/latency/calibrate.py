"""Calibrate a latency table: one factor per table (per resolution) that turns the sum of isolated
operator latencies into end-to-end latency on this machine.

Operators timed alone run with their input and weights hot in cache and without the allocations and
dispatch between layers of a whole network, so their sum is below the network's latency by a roughly
constant factor (measured in benchmarks/results/latency_lut_cpu). `calibrate` times `n` architectures
end to end (seed `seed`; use a seed the validation does not use) with the table's settings and stores
the median of measured / operator sum in the table's `_meta.calibration`; predictions (the cost model,
`validate`) are then the operator sum times that factor. The ranking does not change."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from lightning_nas.costs.local_latency import genotype_counts
from lightning_nas.errors import ConfigError
from lightning_nas.latency import time_ops
from lightning_nas.latency.validate import open_for_timing, sample, time_network


def calibrate(lut_path: Path, n: int, seed: int, timing: dict[str, Any] | None = None) -> dict[int, dict[str, Any]]:
    """Time `n` seeded architectures per resolution and write each table's calibration; returns them."""
    lut, space = open_for_timing(lut_path)
    ratios: dict[int, list[float]] = {r: [] for r in lut.tables}
    began = time.perf_counter()
    drawn = sample(space, n * len(lut.tables) * 4, seed)  # enough to find n per resolution
    for g in drawn:
        resolution, counts = genotype_counts(space, g)
        if len(ratios[resolution]) >= n:
            continue
        meta = lut.metas[resolution]
        measured = time_network(space, g, meta, {**(meta.get("timing") or {}), **(timing or {})})
        ratios[resolution].append(measured / lut.operator_sum(resolution, counts))
        done = sum(len(v) for v in ratios.values())
        time_ops._progress(done, n * len(ratios), began, f"r{resolution}: measured / operator sum {ratios[resolution][-1]:.3f}")
        if done == n * len(ratios):
            break
    out = {}
    for resolution, values in ratios.items():
        if len(values) < 2:
            raise ConfigError(f"calibration drew only {len(values)} architecture(s) at resolution {resolution}; give a larger --n")
        out[resolution] = {"scale": statistics.median(values), "n": len(values), "seed": seed,
                           "ratio_min": min(values), "ratio_max": max(values), "seconds": time.perf_counter() - began}  # fmt: skip
        path = lut.sources[resolution]
        data = time_ops.read_table(path)
        meta = data.pop(time_ops.META)
        meta["calibration"] = out[resolution]
        time_ops.write_table(path, meta, data)
    return out
