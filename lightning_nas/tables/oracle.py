"""The NAS-Bench-201 oracle for benchmarks: the constrained optimum (best test accuracy among all
architectures whose cost is <= the budget, the dashed line of the paper's Fig. 2) and a found
architecture's regret (optimum - its accuracy, percentage points) and feasibility.

Costs are arrays indexed by NB201 index: an HW-NAS-Bench column (NaN = not measured = never feasible)
or the table's FLOPs / params."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lightning_nas.errors import ConfigError
from lightning_nas.spaces.nb201.space import NB201Genotype, genotype_of_index, nb201_index, to_arch_str
from lightning_nas.tables.nb201_accuracy import NB201AccuracyTable


@dataclass(frozen=True)
class Optimum:
    index: int
    arch_str: str
    accuracy: float
    cost: float
    budget: float
    feasible_count: int


@dataclass(frozen=True)
class Verdict:
    """How a found architecture does against the constrained optimum."""

    index: int
    arch_str: str
    accuracy: float
    cost: float
    feasible: bool
    optimum: float
    regret_pp: float


def feasible_mask(cost: np.ndarray, budget: float) -> np.ndarray:
    """cost <= budget; NaN cost (no measurement) is never feasible."""
    with np.errstate(invalid="ignore"):
        return ~np.isnan(cost) & (cost <= budget)


def constrained_optimum(accuracy: np.ndarray, cost: np.ndarray, budget: float) -> Optimum:
    """The architecture with the best accuracy among those with cost <= budget (lowest cost, then
    lowest index on ties)."""
    mask = feasible_mask(cost, budget) & ~np.isnan(accuracy)
    if not mask.any():
        raise ConfigError(
            f"no NAS-Bench-201 architecture has cost <= {budget:g}; the cheapest costs {np.nanmin(cost):.6g}"
        )
    best = np.nanmax(np.where(mask, accuracy, np.nan))
    ties = np.flatnonzero(mask & (accuracy == best))
    index = int(min(ties, key=lambda i: (cost[i], i)))
    return Optimum(
        index, to_arch_str(genotype_of_index(index)), float(best), float(cost[index]), budget, int(mask.sum())
    )


def regret(optimum: float, accuracy: float) -> float:
    """Percentage points the found accuracy lies below the optimum (>= 0 for a feasible find; an
    infeasible find may beat the optimum, giving a negative value)."""
    return float(optimum - accuracy)


class NB201Oracle:
    """One dataset and one cost: `optimum(budget)` and `judge(genotype, budget)`."""

    def __init__(
        self, table: NB201AccuracyTable, dataset: str, cost: np.ndarray, field: str = "test_acc"
    ) -> None:
        if cost.shape != (15625,):
            raise ConfigError(
                f"cost array must hold one value per NB201 index (15625), got shape {cost.shape}"
            )
        self.accuracy = table.column(dataset, field)
        self.cost = cost
        self.dataset, self.field = dataset, field
        self._optima: dict[float, Optimum] = {}

    def optimum(self, budget: float) -> Optimum:
        if budget not in self._optima:
            self._optima[budget] = constrained_optimum(self.accuracy, self.cost, budget)
        return self._optima[budget]

    def judge(self, genotype: NB201Genotype, budget: float) -> Verdict:
        i = nb201_index(genotype)
        acc, cost = float(self.accuracy[i]), float(self.cost[i])
        ok = bool(feasible_mask(np.array([cost]), budget)[0])
        best = self.optimum(budget).accuracy
        return Verdict(i, to_arch_str(genotype), acc, cost, ok, best, regret(best, acc))

    def percentile_budget(self, q: float) -> float:
        """The q-th percentile (0-100) of the cost over the architectures that have one."""
        return float(np.nanpercentile(self.cost, q))

    def top_k(self, budget: float, k: int) -> list[int]:
        """Indices of the k most accurate feasible architectures, best first."""
        mask = feasible_mask(self.cost, budget) & ~np.isnan(self.accuracy)
        idx = np.flatnonzero(mask)
        order = np.lexsort((idx, -self.accuracy[idx]))
        return [int(i) for i in idx[order][:k]]
