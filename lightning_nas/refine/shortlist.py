"""The refine stage's short list: at most `refine.k` feasible candidates, one per class
(`SearchSpace.class_key`), taken source by source in the order and numbers of `refine.shortlist`:

- `fitness`: the highest fitness among the candidates the search scored;
- `capacity`: the highest-capacity feasible candidates the search scored;
- `space_capacity`: the highest-capacity feasible archs of the whole space (a space that can be enumerated;
  elsewhere the source gives nothing and says so).

Capacity is the space's FLOPs, or its params when a FLOPs budget binds (every good candidate then sits at
that budget). Feasible: every budgeted cost, `cost.extra` too, at or under its budget. Ties go to the key."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from lightning_nas.errors import ConfigError
from lightning_nas.spaces.base import Genotype, SearchSpace

SOURCES = ("fitness", "capacity", "space_capacity")


@dataclass(frozen=True)
class Candidate:
    genotype: Genotype
    key: str
    source: str  # the SOURCES entry that chose it
    fitness: float | None  # None: not scored by the search (space_capacity)
    costs: dict[str, float] = field(default_factory=dict)  # objective name -> cost


def capacity_of(space: SearchSpace, objectives: list[Any]) -> tuple[str, int]:
    """(name, index into `space.complexity`): params under a budgeted FLOPs objective, else FLOPs."""
    flops_bound = any(o.name == "flops" and o.budget is not None for o in objectives)
    return ("params", 1) if flops_bound else ("flops", 0)


def is_feasible(costs: list[float], objectives: list[Any]) -> bool:
    return all(o.budget is None or (math.isfinite(c) and c <= o.budget) for c, o in zip(costs, objectives, strict=True))


def scored_candidates(space: SearchSpace, rows: list[dict[str, Any]], objectives: list[Any]) -> list[Candidate]:
    """The distinct feasible candidates the search scored (the best row of each key), best fitness first."""
    best: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.get("feasible") and row.get("rmi") is not None and (row["key"] not in best or row["fitness"] > best[row["key"]]["fitness"]):
            best[row["key"]] = row
    out = [Candidate(space.from_json(r["genotype"]), k, "fitness", float(r["fitness"]),
                     {o.name: float(r[f"cost_{o.name}"]) for o in objectives}) for k, r in best.items()]  # fmt: skip
    return sorted(out, key=lambda c: (-(c.fitness or 0.0), c.key))


def space_candidates(space: SearchSpace, objectives: list[Any]) -> list[Candidate] | None:
    """Every feasible member of an enumerable space (None for a space that cannot be enumerated)."""
    members = space.enumerate()
    if members is None:
        return None
    out = []
    for g in members:
        costs = [o.cost(g) for o in objectives]
        if is_feasible(costs, objectives):
            out.append(Candidate(g, space.key(g), "space_capacity", None, {o.name: c for o, c in zip(objectives, costs, strict=True)}))
    return out


def by_capacity(space: SearchSpace, candidates: list[Candidate], index: int, source: str) -> list[Candidate]:
    ranked = sorted(candidates, key=lambda c: (-space.complexity(c.genotype)[index], c.key))
    return [Candidate(c.genotype, c.key, source, c.fitness, c.costs) for c in ranked]


def space_pool(space: SearchSpace, objectives: list[Any]) -> list[Candidate] | None:
    """The `space_capacity` source: the space's feasible members, highest capacity first (None: the space
    cannot be enumerated). The same for every search under these budgets: pass it to `build_shortlist`."""
    whole = space_candidates(space, objectives)
    return None if whole is None else by_capacity(space, whole, capacity_of(space, objectives)[1], "space_capacity")


def pool_of(source: str, space: SearchSpace, scored: list[Candidate], objectives: list[Any], whole: Any) -> list[Candidate] | None:
    """One source's candidates, best first (None: the space cannot be enumerated)."""
    if source == "fitness":
        return scored
    if source == "capacity":
        return by_capacity(space, scored, capacity_of(space, objectives)[1], source)
    return whole() if callable(whole) else whole


def build_shortlist(space: SearchSpace, rows: list[dict[str, Any]], objectives: list[Any], k: int, mix: dict[str, int],
                    whole: list[Candidate] | None = None) -> tuple[list[Candidate], list[str]]:  # fmt: skip
    """The short list and a note per source that gave fewer than asked (why). `whole`: `space_pool` computed
    once for many searches under the same budgets (default: computed here when a source needs it)."""
    if any(o.budget is None for o in objectives):
        raise ConfigError("refine needs a budget on every cost objective (the short list holds feasible candidates); give each a budget")
    scored = scored_candidates(space, rows, objectives)
    pool_of_space = whole if whole is not None else (lambda: space_pool(space, objectives))
    chosen: list[Candidate] = []
    classes: set[str] = set()
    notes = []
    for source, wanted in mix.items():
        pool = pool_of(source, space, scored, objectives, pool_of_space) if wanted > 0 else []
        if pool is None:
            notes.append(f"{source}: the {space.name} space cannot be enumerated, so it gives none")
            continue
        taken = 0
        for c in pool:
            if taken == wanted or len(chosen) == k:
                break
            cls = space.class_key(c.genotype)
            if cls not in classes:
                classes.add(cls)
                chosen.append(c)
                taken += 1
        if taken < wanted and len(chosen) < k:
            notes.append(f"{source}: {taken} of {wanted} (no more feasible candidates of new classes)")
    return chosen, notes
