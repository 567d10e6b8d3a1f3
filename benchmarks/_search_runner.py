"""Run one HW-EvRSNAS search for a benchmark (in this process, no callbacks), sharing the scorer
between runs of one setting (`_scoring.SCORERS`) and scoring through the persistent cache."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from _common import base_overrides
from _scoring import SCORERS

from lightning_nas.config import parse_config
from lightning_nas.search.engine import Search
from lightning_nas.spaces.nb201.space import NB201Genotype

_RUNS = Path(tempfile.mkdtemp(prefix="lnas-bench-runs-"))


def run_search(
    seed: int, metric: str, budget: float, population: int, generations: int, handling: str, cache_path: str | None, extra: tuple[str, ...]
) -> tuple[NB201Genotype, dict[str, Any]]:
    """(the found genotype, results.json of the run)."""
    overrides = [
        "--cost.metric", metric,
        "--cost.budget", repr(float(budget)),
        "--search.population", str(population),
        "--search.generations", str(generations),
        "--search.constraint_handling", handling,
        "--runs_root", str(_RUNS),
        "--tb_logs", str(_RUNS / "tb"),
        "--name", f"{metric}-{seed}-{handling}",
    ]  # fmt: skip
    cfg, _ = parse_config(base_overrides(seed, cache_path, [*extra, *overrides]))
    results = Search(cfg, callbacks=[], scorer=SCORERS).run()  # one image load / probe batch per setting
    entries = [json.loads(line) for line in (Path(results["run_dir"]) / "evaluations.jsonl").read_text().splitlines()]
    results["bench_trained"] = sum(bool(e.get("trained")) for e in entries)  # candidates trained by this run
    results["bench_persistent_hits"] = sum(bool(e.get("persistent_hit")) for e in entries)
    genotype = tuple(int(x) for x in results["best"]["genotype"])
    return genotype, results  # type: ignore[return-value]
