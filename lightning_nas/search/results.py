"""results.json: the answer of a search (the best individual of the last generation), its hall of
fame, the logbook and the counts, each candidate summarised with every objective's cost and budget."""

from __future__ import annotations

from typing import Any

from lightning_nas.costs.objective import Objective
from lightning_nas.search.fitness import feasible
from lightning_nas.search.ga import GAState
from lightning_nas.search.records import RunRecords
from lightning_nas.spaces.base import Genotype, SearchSpace


def candidate_summary(
    space: SearchSpace, objectives: list[Objective], entry: dict[str, Any], genotype: Genotype, fit: float
) -> dict[str, Any]:
    costs = [o.cost(genotype) for o in objectives]
    return {
        "genotype": space.to_json(genotype),
        "key": space.key(genotype),
        "description": space.describe(genotype),
        "rmi": entry["rmi"],
        "cka": entry["cka"],
        "fitness": fit,
        "cost": costs[0],
        "costs": [o.describe(c) for o, c in zip(objectives, costs, strict=True)],
        "feasible": feasible(costs, [o.budget for o in objectives]),
        **space.benchmark_fields(genotype),
    }


def build_results(
    cfg: Any,
    space: SearchSpace,
    objectives: list[Objective],
    records: RunRecords,
    state: GAState,
    last: list[Any],
    hof: Any,
    wall_seconds: float,
    run_dir: str,
) -> dict[str, Any]:
    def summary(genotype: Genotype, fit: float) -> dict[str, Any]:
        return candidate_summary(space, objectives, records.entries[space.key(genotype)], genotype, fit)

    winner = max(last, key=lambda ind: ind.fitness.values[0])  # the best of the last generation
    best = summary(winner.genotype, winner.fitness.values[0])
    main = objectives[0]  # the `cost` section of the config; `cost.extra` follow in `constraints`
    results: dict[str, Any] = {
        "best": best,
        "feasible": best["feasible"],
        "budget": main.budget,
        "cost_metric": main.name,
        "cost_unit": main.unit,
        "constraints": best["costs"],
        "penalty": "normalized" if cfg.cost.normalized else "absolute",
        "constraint_handling": cfg.search.constraint_handling,
        "evaluations": records.evaluations,
        "unique_evaluations": records.unique,
        "trained": records.trained,
        "cache_hits": records.cache_hits,
        "persistent_cache_hits": records.persistent_hits,
        "samples_drawn": state.draws,
        "generations": state.generation,
        "wall_seconds": wall_seconds,
        "seed": cfg.seed,
        "hall_of_fame": [summary(ind.genotype, ind.fitness.values[0]) for ind in hof],
        "logbook": state.logbook,
        "run_dir": run_dir,
    }
    if not best["feasible"]:
        feasible_rows = [r for r in records.rows if r["feasible"] and r["rmi"] is not None]
        if feasible_rows:
            top = max(feasible_rows, key=lambda r: r["fitness"])
            results["best_feasible"] = summary(space.from_json(top["genotype"]), top["fitness"])
    return results
