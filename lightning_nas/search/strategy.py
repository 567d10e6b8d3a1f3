"""Search strategies by name (`search.algorithm`). Each strategy module registers its class in
`STRATEGIES` (`@STRATEGIES.register("ga")`); the engine, the checks and the callbacks ask that class
what differs between strategies instead of testing its name:

- `check_search(cfg.search)` / `check(cfg)`: the settings it accepts;
- `budgets_optional`: whether a cost may come without a hard budget;
- `fitness_of(row, costs, budgets)`: what the strategy is given for each evaluated candidate;
- `generation_metrics`: its own logbook entries that a generation's summary carries;
- `constraint_handling(cfg.search)` and `goal(objectives, cfg.search)`: how results and the console name it;
- `for_search(search)`, then `run(rng, state)` and `answer(search)`: the search itself and its answer."""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from lightning_nas.registry import Registry

if TYPE_CHECKING:
    from lightning_nas.config import GAConfig, RunConfig
    from lightning_nas.costs.objective import Objective
    from lightning_nas.search.engine import Search
    from lightning_nas.search.evolution import GAState
    from lightning_nas.search.results import Answer

STRATEGIES: Registry[type[Strategy]] = Registry(
    "search.algorithm", providers=("lightning_nas.search.ga", "lightning_nas.search.nsga2")
)


def strategy_of(cfg: GAConfig) -> type[Strategy]:
    """The strategy class `cfg.algorithm` names (a one-line ConfigError listing the valid ones)."""
    return STRATEGIES.get(cfg.algorithm)


class Strategy(ABC):
    """What the engine, the checks and the callbacks ask of a search strategy."""

    budgets_optional: ClassVar[bool] = False
    generation_metrics: ClassVar[tuple[str, ...]] = ()

    @classmethod  # noqa: B027 - optional: nothing to refuse by default
    def check_search(cls, cfg: GAConfig) -> None:
        """Refuse `search` settings this strategy cannot honour (ConfigError)."""

    @classmethod  # noqa: B027 - optional: nothing to refuse by default
    def check(cls, cfg: RunConfig) -> None:
        """Refuse settings of the resolved config that need more than the `search` section."""

    @classmethod
    def constraint_handling(cls, cfg: GAConfig) -> str:
        """How budgets act, as results.json records it."""
        return cfg.constraint_handling

    @classmethod
    @abstractmethod
    def goal(cls, objectives: list[Objective], cfg: GAConfig) -> str:
        """What the search looks for under which budgets, one line for the console."""

    @staticmethod
    @abstractmethod
    def fitness_of(row: dict[str, Any], costs: list[float], budgets: list[float | None]) -> Any:
        """The fitness the strategy is given for an evaluated candidate (its evaluations row)."""

    @classmethod
    @abstractmethod
    def for_search(cls, search: Search) -> Strategy:
        """The strategy wired to a running search (its space, settings, evaluation and checkpointing)."""

    @abstractmethod
    def run(self, rng: random.Random, state: GAState | None = None) -> tuple[GAState, Any, Any]:
        """Run (or continue from `state`) to the last generation; the final state comes first."""

    @abstractmethod
    def answer(self, search: Search) -> Answer:
        """The answer of the finished `run`: winner, hall of fame and, where there is one, the front."""


def budget_text(objectives: list[Objective]) -> str:
    """`flops <= 12 MFLOPs, ...`: each objective's budget."""
    from lightning_nas.reporting.format import fmt_budget

    return ", ".join(f"{o.name} <= {fmt_budget(o.budget)} {o.unit}" for o in objectives)


__all__ = ["STRATEGIES", "Strategy", "budget_text", "strategy_of"]
