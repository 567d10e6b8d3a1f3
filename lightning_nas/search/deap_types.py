"""The DEAP individual and fitness types, here only: the GA's from DEAP's global `creator`, created once;
NSGA-II's (`pareto_individual`) as this module's classes, one per objective count.

An individual carries its genotype as an attribute (spaces define genotypes as plain hashable data,
not lists) and a fitness: one maximised value for the GA, or for NSGA-II the RMI (maximised) and each
cost (minimised) with the candidate's budget violation, compared by constrained domination
(`ParetoFitness.dominates`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from deap import base, creator

from lightning_nas.spaces.base import Genotype

FITNESS = "LightningNasFitnessMax"
INDIVIDUAL = "LightningNasIndividual"

if not hasattr(creator, FITNESS):
    creator.create(FITNESS, base.Fitness, weights=(1.0,))
if not hasattr(creator, INDIVIDUAL):
    creator.create(INDIVIDUAL, object, fitness=getattr(creator, FITNESS), genotype=None)


def make_individual(genotype: Genotype, fitness: float | None = None):  # noqa: ANN201
    ind = getattr(creator, INDIVIDUAL)()
    ind.genotype = genotype
    if fitness is not None:
        ind.fitness.values = (fitness,)
    return ind


def same_genotype(a: object, b: object) -> bool:
    return a.genotype == b.genotype  # type: ignore[attr-defined]


class ParetoFitness(base.Fitness):
    """(RMI, cost_1, ..., cost_k) with `violation`, the candidate's total relative budget excess (0 when
    feasible, inf when a value is missing). Constrained domination (Deb 2000): a feasible candidate
    dominates an infeasible one; of two infeasible ones the smaller violation dominates; of two feasible
    ones, Pareto domination of the objectives. DEAP's selNSGA2, sortNondominated and ParetoFront call
    `dominates`, so they all apply the budgets this way."""

    violation: float = 0.0

    def dominates(self, other: base.Fitness, obj: slice = slice(None)) -> bool:  # type: ignore[override]
        mine, theirs = self.violation, getattr(other, "violation", 0.0)
        if mine == 0.0 and theirs == 0.0:
            return super().dominates(other, obj)
        if mine == 0.0 or theirs == 0.0:
            return mine == 0.0
        return mine < theirs

    def __hash__(self) -> int:
        return hash((self.wvalues, self.violation))

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other) and self.violation == getattr(other, "violation", 0.0)

    def __ne__(self, other: object) -> bool:  # DEAP's compares the values only
        return not self.__eq__(other)

    def __deepcopy__(self, memo: dict[int, Any]) -> ParetoFitness:  # DEAP's copies only wvalues
        copy = super().__deepcopy__(memo)
        copy.violation = self.violation
        return copy


class ParetoIndividual:
    """An NSGA-II individual: a genotype and its `ParetoFitness` (subclassed per objective count)."""

    fitness_class: type[ParetoFitness] = ParetoFitness

    def __init__(self) -> None:
        self.genotype: Genotype | None = None
        self.fitness = self.fitness_class()


_PARETO_CLASSES: dict[int, type[ParetoIndividual]] = {}


def _pareto_class(n_costs: int) -> type[ParetoIndividual]:
    """The individual class for RMI + `n_costs` costs. Made here rather than in DEAP's global `creator`,
    so its fitness is always this module's ParetoFitness (also after the module is imported again)."""
    if n_costs not in _PARETO_CLASSES:
        fitness = type(f"ParetoFitness{n_costs}", (ParetoFitness,), {"weights": (1.0,) + (-1.0,) * n_costs})
        _PARETO_CLASSES[n_costs] = type(f"ParetoIndividual{n_costs}", (ParetoIndividual,), {"fitness_class": fitness})
    return _PARETO_CLASSES[n_costs]


def pareto_individual(genotype: Genotype, point: Sequence[float]):  # noqa: ANN201
    """An NSGA-II individual; `point` is (RMI, cost_1, ..., cost_k, violation) as `pareto.objective_point`
    makes it (finite objective values; a missing value shows as violation inf)."""
    *values, violation = (float(v) for v in point)
    ind = _pareto_class(len(values) - 1)()
    ind.genotype = genotype
    ind.fitness.values = tuple(values)
    ind.fitness.violation = math.inf if math.isnan(violation) else violation
    return ind


def pareto_point(ind: Any) -> tuple[float, ...]:
    """The (RMI, costs..., violation) of an NSGA-II individual (what the checkpoint stores)."""
    return (*ind.fitness.values, ind.fitness.violation)
