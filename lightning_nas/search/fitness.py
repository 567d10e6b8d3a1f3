"""Fitness = RMI + penalty (HW-EvRSNAS Eq. 4, 5).

    psi(cost, Omega) = 0 if cost <= Omega else Omega - cost      (in the cost's own unit)

With `search.capacity_weight` w > 0 (opt-in, not in the paper) fitness = RMI + w * log10(MFLOPs) + penalty:
`capacity` is that middle term, computed by the caller (`Problem.capacity`).

With `normalized`, psi = (Omega - cost) / Omega instead. Several constraints: the penalties add up.
A missing cost (NaN) is infeasible and gets fitness -inf: never NaN, never "free"."""

from __future__ import annotations

import math
from collections.abc import Sequence


def penalty(cost: float, budget: float | None, normalized: bool = False) -> float:
    """psi; a cost without a budget (None, NSGA-II's unconstrained objectives) costs nothing."""
    if math.isnan(cost):
        return -math.inf
    if budget is None or cost <= budget:
        return 0.0
    return (budget - cost) / budget if normalized else budget - cost


def feasible(costs: Sequence[float], budgets: Sequence[float | None]) -> bool:
    return all(not math.isnan(c) and (b is None or c <= b) for c, b in zip(costs, budgets, strict=True))


def fitness(
    rmi: float, costs: Sequence[float], budgets: Sequence[float | None], normalized: bool = False, capacity: float = 0.0
) -> float:
    return rmi + capacity + sum(penalty(c, b, normalized) for c, b in zip(costs, budgets, strict=True))


def capacity_term(weight: float, mflops: float) -> float:
    """w * log10(MFLOPs) (0 when w is 0; a network without a positive FLOPs count gets -inf)."""
    if not weight:
        return 0.0
    return weight * math.log10(mflops) if mflops > 0 else -math.inf
