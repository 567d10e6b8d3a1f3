"""One hardware objective of a search: a cost model with its budget and direction.

Every cost the user configures (`cost` and each of `cost.extra`) is one `Objective`; none is special.
The GA uses the budgets as constraints (penalty or rejection); a multi-objective search minimises each."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from lightning_nas.costs.base import CostModel
from lightning_nas.spaces.base import Genotype


@dataclass(frozen=True)
class Objective:
    """`model` prices a genotype in `unit`; `budget` is the hard limit Omega (None: no limit);
    `direction` is `minimize` for every hardware cost."""

    model: CostModel
    budget: float | None
    direction: str = "minimize"

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def unit(self) -> str:
        return self.model.unit

    def cost(self, genotype: Genotype) -> float:
        return self.model.cost(genotype)

    def within_budget(self, value: float) -> bool:
        """A missing value (NaN) never meets a budget."""
        return not math.isnan(value) and (self.budget is None or value <= self.budget)

    def describe(self, value: float | None = None) -> dict[str, Any]:
        return {"metric": self.name, "value": value, "budget": self.budget, "unit": self.unit, "direction": self.direction}
