"""Cost models: cheap, pure functions of the genotype, run before any training.

A cost model has a `name`, a `unit` and `cost(genotype)`; NaN means "no value" (e.g. HW-NAS-Bench has
no EdgeTPU latency for 4,699 NB201 architectures), which the fitness treats as infeasible."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from lightning_nas.spaces.base import Genotype


@runtime_checkable
class CostModel(Protocol):
    name: str
    unit: str

    def cost(self, genotype: Genotype) -> float: ...

    def minimum(self) -> float | None:
        """The smallest cost over the whole space when it can be known cheaply, else None."""
        ...
