"""Fitness = RMI + penalty (HW-EvRSNAS Eq. 4, 5).

    psi(cost, Omega) = 0 if cost <= Omega else Omega - cost      (in the cost's own unit)

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


def fitness(rmi: float, costs: Sequence[float], budgets: Sequence[float | None], normalized: bool = False) -> float:
    return rmi + sum(penalty(c, b, normalized) for c, b in zip(costs, budgets, strict=True))
