"""The numbers the report shows, extracted from a finished run: per-generation best/mean of fitness,
RMI and cost, every evaluated candidate (RMI vs cost), and the operation counts of the final population
and the top 10 (the paper's Fig. 3 view)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any

from lightning_nas.reporting.run_reader import FinishedRun
from lightning_nas.spaces.base import SearchSpace


@dataclass
class GenerationStats:
    generation: list[int]
    best_fitness: list[float]
    mean_fitness: list[float]
    best_rmi: list[float]  # RMI of the generation's best-fitness individual
    mean_rmi: list[float]
    best_cost: list[float]  # cost of the generation's best-fitness individual
    mean_cost: list[float]


def _finite(values: list[Any]) -> list[float]:
    return [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)]


def _mean(values: list[Any]) -> float:
    vals = _finite(values)
    return sum(vals) / len(vals) if vals else math.nan


def _num(value: Any) -> float:
    vals = _finite([value])
    return vals[0] if vals else math.nan


def cost_column(run: FinishedRun) -> str:
    return f"cost_{run.results['cost_metric']}"


def generation_stats(run: FinishedRun) -> GenerationStats:
    col = cost_column(run)
    gens = sorted({int(r["generation"]) for r in run.rows})
    stats = GenerationStats(gens, [], [], [], [], [], [])
    for g in gens:
        rows = [r for r in run.rows if int(r["generation"]) == g]
        best = max(rows, key=lambda r: _num(r["fitness"]) if math.isfinite(_num(r["fitness"])) else -math.inf)
        stats.best_fitness.append(_num(best["fitness"]))
        stats.mean_fitness.append(_mean([r["fitness"] for r in rows]))
        stats.best_rmi.append(_num(best["rmi"]))
        stats.mean_rmi.append(_mean([r["rmi"] for r in rows]))
        stats.best_cost.append(_num(best[col]))
        stats.mean_cost.append(_mean([r[col] for r in rows]))
    return stats


def unique_candidates(run: FinishedRun) -> list[tuple[float, float]]:
    """(cost, RMI) of every distinct evaluated candidate that has an RMI score."""
    col = cost_column(run)
    seen: dict[str, tuple[float, float]] = {}
    for r in run.rows:
        rmi, cost = _num(r.get("rmi")), _num(r.get(col))
        if r["key"] not in seen and math.isfinite(rmi) and math.isfinite(cost):
            seen[r["key"]] = (cost, rmi)
    return list(seen.values())


def final_population(run: FinishedRun) -> list[Any]:
    last = max(int(r["generation"]) for r in run.rows)
    return [r["genotype"] for r in run.rows if int(r["generation"]) == last]


def top10(run: FinishedRun) -> list[dict[str, Any]]:
    return list(run.results.get("hall_of_fame", []))[:10]


def op_fractions(space: SearchSpace, genotypes: list[Any]) -> dict[str, float]:
    """Share of each gene value (`space.gene_labels`) over all genes of `genotypes`."""
    counts = Counter(label for g in genotypes for label in space.gene_labels(g))
    total = sum(counts.values())
    return {k: v / total for k, v in counts.items()} if total else {}


def run_space(run: FinishedRun) -> SearchSpace:
    """The run's search space, to read its genotypes: built from its recorded space settings, without
    the dataset (its shape does not change how genes read) and without pre-trained weights."""
    from lightning_nas.spaces import build_space

    cfg = run.config()
    resolution = cfg.data.resolution or max(cfg.space.resolutions, default=32)
    shape = SimpleNamespace(name=cfg.data.name, num_classes=10, in_channels=3, resolution=resolution)
    return build_space(replace(cfg.space, weights=None), shape)


def cost_metrics(run: FinishedRun) -> list[tuple[str, str]]:
    """(metric, unit) of every cost objective of the run (`cost`, then `cost.extra`)."""
    return [(c["metric"], c["unit"]) for c in run.results["best"]["costs"]]


def evaluated_points(run: FinishedRun) -> dict[str, dict[str, float]]:
    """Every distinct evaluated candidate with an RMI score: key -> {"rmi": ..., "cost_<metric>": ...}."""
    seen: dict[str, dict[str, float]] = {}
    columns = [f"cost_{m}" for m, _ in cost_metrics(run)]
    for r in run.rows:
        if r["key"] not in seen and math.isfinite(_num(r.get("rmi"))):
            seen[r["key"]] = {"rmi": _num(r["rmi"]), **{c: _num(r.get(c)) for c in columns}}
    return seen


def nb201_accuracy(run: FinishedRun) -> Any:
    """`key -> accuracy (%)` from the NB201 table the run's fine-tune settings name (finetune.nb201_table),
    or None when there is none or the space is not NB201."""
    from lightning_nas.tables.benchmark_accuracy import benchmark_lookup

    cfg = run.config()
    lookup = benchmark_lookup(cfg.finetune, run_space(run).benchmark, cfg.data.name)
    if lookup is None:
        return None
    return lambda key: lookup.table.get(key, lookup.dataset, lookup.field)
