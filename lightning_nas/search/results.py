"""results.json: the answer of a search (the GA: the best individual of the last generation; NSGA-II:
the highest-RMI member of the front within the budgets), its hall of fame, the logbook and the counts,
each candidate summarised with every objective's cost and budget; for NSGA-II also the front
(results.json `pareto_front` and pareto.csv) and its hypervolume."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lightning_nas.costs.objective import Objective
from lightning_nas.run_dir import write_text
from lightning_nas.search.evolution import GAState
from lightning_nas.search.fitness import feasible
from lightning_nas.search.records import RunRecords
from lightning_nas.search.strategy import strategy_of
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


@dataclass
class Answer:
    """What a search answers: its winner, its hall of fame (best first) and, for NSGA-II, the front;
    each candidate with its scalar fitness (RMI + penalty)."""

    winner: tuple[Genotype, float]
    hall_of_fame: list[tuple[Genotype, float]]
    front: list[tuple[Genotype, float]] | None = None


def build_results(
    cfg: Any,
    space: SearchSpace,
    objectives: list[Objective],
    records: RunRecords,
    state: GAState,
    answer: Answer,
    wall_seconds: float,
    run_dir: str,
) -> dict[str, Any]:
    def summary(genotype: Genotype, fit: float) -> dict[str, Any]:
        return candidate_summary(space, objectives, records.entries[space.key(genotype)], genotype, fit)

    best = summary(*answer.winner)
    main = objectives[0]  # the `cost` section of the config; `cost.extra` follow in `constraints`
    results: dict[str, Any] = {
        "algorithm": cfg.search.algorithm,
        "best": best,
        "feasible": best["feasible"],
        "budget": main.budget,
        "cost_metric": main.name,
        "cost_unit": main.unit,
        "constraints": best["costs"],
        "penalty": "normalized" if cfg.cost.normalized else "absolute",
        "constraint_handling": strategy_of(cfg.search).constraint_handling(cfg.search),
        "evaluations": records.evaluations,
        "unique_evaluations": records.unique,
        "trained": records.trained,
        "cache_hits": records.cache_hits,
        "persistent_cache_hits": records.persistent_hits,
        "samples_drawn": state.draws,
        "generations": state.generation,
        "wall_seconds": wall_seconds,
        "seed": cfg.seed,
        "hall_of_fame": [summary(g, f) for g, f in answer.hall_of_fame[: cfg.search.hall_of_fame_size]],
        "logbook": state.logbook,
        "run_dir": run_dir,
    }
    if answer.front is not None:
        results["pareto_front"] = [summary(g, f) for g, f in answer.front]
        results["hv_reference"] = state.hv_reference
        results["hypervolume"] = state.logbook[-1]["hypervolume"] if state.logbook else None
    if not best["feasible"]:
        feasible_rows = [r for r in records.rows if r["feasible"] and r["rmi"] is not None]
        if feasible_rows:
            top = max(feasible_rows, key=lambda r: r["fitness"])
            results["best_feasible"] = summary(space.from_json(top["genotype"]), top["fitness"])
    return results


PARETO_CSV = "pareto.csv"


def write_pareto_csv(path: Path, front: list[dict[str, Any]], objectives: list[Objective], space: SearchSpace) -> None:
    """One row per front member (highest RMI first): its genotype (JSON), key, benchmark identifiers,
    RMI, one `cost_<metric>` column per cost objective, and whether it meets every budget."""
    rows = []
    for m in front:
        values = {c["metric"]: c["value"] for c in m["costs"]}
        ids = space.benchmark_fields(space.from_json(m["genotype"]))
        rows.append({
            "genotype": json.dumps(m["genotype"]), "key": m["key"], **ids, "rmi": m["rmi"],
            **{f"cost_{o.name}": values[o.name] for o in objectives}, "feasible": m["feasible"],
        })  # fmt: skip
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["genotype", "key", "rmi"])
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buffer.getvalue())
