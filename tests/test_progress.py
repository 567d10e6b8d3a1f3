"""The console's per-generation line: the rate new candidates were scored at and the search's ETA."""

from __future__ import annotations

import io
from types import SimpleNamespace

from lightning_nas.callbacks.progress import ConsoleProgress


def _summary(new: int, seconds: float) -> dict:
    return {
        "best_fitness": 2.5, "mean_fitness": 2.0, "worst_fitness": 1.0, "best_rmi": 2.5, "best_costs": {"flops": 10.0},
        "feasible_fraction": 1.0, "new": new, "cache_hits": 10 - new, "seconds": seconds,
    }  # fmt: skip


def test_generation_line_has_rate_and_eta() -> None:
    out = io.StringIO()
    objective = SimpleNamespace(name="flops", budget=12.0, unit="MFLOPs")
    search = SimpleNamespace(cfg=SimpleNamespace(search=SimpleNamespace(generations=10)), objectives=[objective])
    progress = ConsoleProgress(out)
    progress.on_generation_end(search, 0, _summary(new=10, seconds=40.0))
    progress.on_generation_end(search, 1, _summary(new=4, seconds=20.0))
    first, second = out.getvalue().splitlines()
    assert first.startswith("gen   1/10") and "0.25 cand/s" in first and "ETA 0:06:00" in first  # 9 x 40 s
    assert "0.20 cand/s" in second and "ETA 0:04:00" in second  # 8 x mean(40, 20) s
    assert "flops 10/12 MFLOPs" in second
