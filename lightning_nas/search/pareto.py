"""The RMI-cost front of a multi-objective search: objective points, constrained domination, the
non-dominated set, its hypervolume, and picking the best architecture of a front under budgets.

A point is (RMI, cost_1, ..., cost_k, violation): RMI maximised, every cost minimised, `violation` the
summed relative excess over the hard budgets (sum of (cost - budget) / budget over the costs above
their budget; 0 when feasible; inf when the RMI or a cost is missing, so that candidate never enters a
front while any other has values)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lightning_nas.errors import ConfigError


def violation(costs: Sequence[float], budgets: Sequence[float | None]) -> float:
    if any(math.isnan(c) for c in costs):
        return math.inf
    return sum(max(0.0, (c - b) / b) for c, b in zip(costs, budgets, strict=True) if b is not None)


def objective_point(rmi: float | None, costs: Sequence[float], budgets: Sequence[float | None]) -> tuple[float, ...]:
    """(RMI, costs..., violation) with finite objective values: a missing RMI or cost is 0 there and the
    violation is inf (crowding distances need finite values; the violation keeps it off the front)."""
    excess = math.inf if rmi is None else violation(costs, budgets)
    values = [0.0 if rmi is None else float(rmi), *(0.0 if math.isnan(c) else float(c) for c in costs)]
    return (*values, excess)


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """Constrained domination of point `a` over point `b` (the rule `ParetoFitness.dominates` applies)."""
    va, vb = a[-1], b[-1]
    if va == 0.0 and vb == 0.0:
        better = [a[0] >= b[0], *(x <= y for x, y in zip(a[1:-1], b[1:-1], strict=True))]
        strictly = [a[0] > b[0], *(x < y for x, y in zip(a[1:-1], b[1:-1], strict=True))]
        return all(better) and any(strictly)
    if va == 0.0 or vb == 0.0:
        return va == 0.0
    return va < vb


def non_dominated(points: Sequence[Sequence[float]]) -> list[int]:
    """Indices of the points no other point dominates (O(n^2); for tests and for reading a run)."""
    return [i for i, p in enumerate(points) if not any(dominates(q, p) for j, q in enumerate(points) if j != i)]


def default_reference(costs: Sequence[Sequence[float]], n_costs: int) -> list[float]:
    """RMI 0 and 1.1 x the largest finite value of each of the `n_costs` costs in `costs` (rows of cost
    vectors); 1.1 for a cost without any finite value."""
    arr = np.asarray(costs, dtype=float).reshape(-1, n_costs)
    largest = [float(col[np.isfinite(col)].max()) if np.isfinite(col).any() else 1.0 for col in arr.T]
    return [0.0, *(1.1 * c for c in largest)]


def hypervolume(points: Sequence[Sequence[float]], reference: Sequence[float]) -> float:
    """The volume the feasible points dominate up to `reference` (RMI, costs...): RMI above its reference,
    each cost below its. Infeasible points and points beyond the reference add nothing."""
    import moocore  # DEAP's own hypervolume backend (deap.benchmarks.tools.hypervolume)

    ref = np.array([-reference[0], *reference[1:]], dtype=float)  # minimisation form
    rows = [[-p[0], *p[1:-1]] for p in points if p[-1] == 0.0]
    arr = np.asarray(rows, dtype=float).reshape(-1, len(ref))
    arr = arr[(arr < ref).all(axis=1)]
    return float(moocore.hypervolume(arr, ref=ref)) if len(arr) else 0.0


def member_costs(member: Mapping[str, Any]) -> dict[str, float]:
    """{metric: value} of a results.json candidate summary (its `costs` list)."""
    return {c["metric"]: (math.nan if c["value"] is None else float(c["value"])) for c in member.get("costs", [])}


def pick(front: Sequence[Mapping[str, Any]], budgets: Mapping[str, float]) -> dict[str, Any]:
    """The highest-RMI member of `front` (results.json candidate summaries) whose cost is within every
    budget given ({metric: budget}); a one-line ConfigError when a metric is not an objective of the front
    or no member qualifies."""
    if not front:
        raise ConfigError("the run has no Pareto front (it was not searched with search.algorithm nsga2)")
    metrics = list(member_costs(front[0]))
    for metric in budgets:
        if metric not in metrics:
            raise ConfigError(f"--budget {metric}: not an objective of this front; give one of {', '.join(metrics)}")
    within = [
        m for m in front
        if m.get("rmi") is not None and all(member_costs(m)[k] <= b for k, b in budgets.items())
    ]  # fmt: skip
    if not within:
        cheapest = {k: min(member_costs(m)[k] for m in front) for k in budgets}
        asked = ", ".join(f"{k} <= {b:g} (cheapest on the front: {cheapest[k]:.6g})" for k, b in budgets.items())
        raise ConfigError(f"no architecture of the front meets {asked}; give a larger budget")
    return dict(max(within, key=lambda m: float(m["rmi"])))


def parse_budgets(values: Sequence[str], metrics: Sequence[str]) -> dict[str, float]:
    """`--budget` values: `5.3` (with exactly one cost objective) or `metric=5.3`, one per metric."""
    budgets: dict[str, float] = {}
    for text in values:
        metric, _, number = text.rpartition("=")
        if not metric:
            if len(metrics) != 1:
                raise ConfigError(f"--budget {text}: the front has {len(metrics)} cost objectives ({', '.join(metrics)}); give metric=value")
            metric = metrics[0]
        try:
            value = float(number)
        except ValueError:
            raise ConfigError(f"--budget {text}: {number!r} is not a number; give e.g. --budget {metric}=5.3") from None
        if not math.isfinite(value) or value <= 0:
            raise ConfigError(f"--budget {text}: a budget must be > 0 and finite")
        if metric in budgets:
            raise ConfigError(f"--budget {metric} is given twice; give each metric once")
        budgets[metric] = value
    if not budgets:
        raise ConfigError("give at least one --budget")
    return budgets
