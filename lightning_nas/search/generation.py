"""What a generation leaves behind: each candidate's row of evaluations.csv and the generation's
summary that the callbacks receive."""

from __future__ import annotations

import math
from typing import Any

from lightning_nas.pipeline import Problem
from lightning_nas.search.fitness import feasible, fitness
from lightning_nas.search.ga import fitness_stats
from lightning_nas.search.records import RunRecords
from lightning_nas.spaces.base import Genotype


def candidate_row(
    problem: Problem, records: RunRecords, at: tuple[int, int], genotype: Genotype, costs: list[float], fresh: bool
) -> dict[str, Any]:
    """The row of candidate `at` = (generation, position): its score, costs, fitness and feasibility;
    `fresh`: scored in this generation (its seconds count), else a cache hit."""
    key = problem.space.key(genotype)
    entry = records.entries[key]
    cfg, budgets = problem.cfg, problem.budgets
    rmi = entry["rmi"] if entry["rmi"] is not None else 0.0
    capacity = problem.capacity(genotype)
    return {
        "generation": at[0],
        "individual": at[1],
        "key": key,
        "genotype": problem.space.to_json(genotype),
        "rmi": entry["rmi"],
        **{f"cka_{j}": c for j, c in enumerate(entry["cka"] or [])},
        **{f"cost_{o.name}": c for o, c in zip(problem.objectives, costs, strict=True)},
        **({"capacity": capacity} if cfg.search.capacity_weight else {}),
        "fitness": fitness(rmi, costs, budgets, cfg.cost.normalized, capacity),
        "feasible": feasible(costs, budgets),
        "seconds": entry["seconds"] if fresh else 0.0,
        "cache_hit": not fresh,
        **({"error": entry["error"]} if entry.get("error") else {}),
    }


def generation_summary(
    problem: Problem, records: RunRecords, record: dict[str, Any], seconds: float, metrics: tuple[str, ...]
) -> dict[str, Any]:
    """Best / mean / worst fitness, the best's RMI, costs and description, the feasible fraction and the
    counts of the generation `record` logs, its `seconds`, and the strategy's own logbook `metrics` (NSGA-II: its front)."""
    space, objectives = problem.space, problem.objectives
    rows = records.generation(record["gen"])
    best = max(rows, key=lambda r: r["fitness"])
    new = sum(not r["cache_hit"] for r in rows)
    stats = record if "max" in record else fitness_stats([r["fitness"] for r in rows])
    return {
        "best_fitness": stats["max"],
        "mean_fitness": stats["mean"],
        "worst_fitness": stats["min"],
        "best_rmi": best["rmi"] if best["rmi"] is not None else math.nan,
        "best_costs": {o.name: best[f"cost_{o.name}"] for o in objectives},
        "best_description": space.describe(space.from_json(best["genotype"])),
        "feasible_fraction": sum(r["feasible"] for r in rows) / len(rows),
        "unique_evaluations": records.unique,
        "new": new,
        "cache_hits": len(rows) - new,
        "seconds": seconds,
        **{k: record[k] for k in metrics if k in record},
    }

