"""DEAP's global `creator` classes, created once, here only.

An individual carries its genotype as an attribute (spaces define genotypes as plain hashable data,
not lists), and a single maximised fitness value."""

from __future__ import annotations

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
