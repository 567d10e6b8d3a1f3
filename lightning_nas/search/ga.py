"""The generational genetic algorithm of HW-EvRSNAS (Algorithm 1) on DEAP.

Each generation: evaluate every individual, record statistics / hall of fame / logbook, then breed the
next population: `elites` best survive, the rest are children of tournament-selected parents through
the space's crossover (probability `crossover_prob`) and per-gene mutation (`mutation_rate`).
`constraint_handling: rejection` re-draws every sample and child until `accept` holds (the baseline the
paper's penalty replaces), counting draws and giving up after `max_rejection_draws`.

All randomness comes from one `random.Random`; its state is part of the checkpointable `GAState`. The
loop is `evolution.EvolutionLoop`'s; registered in `STRATEGIES` as `ga`."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from deap import tools

from lightning_nas.config import GAConfig
from lightning_nas.errors import ConfigError
from lightning_nas.search.deap_types import make_individual, same_genotype
from lightning_nas.search.evolution import EvolutionLoop, Fitness, GAState, OnGeneration
from lightning_nas.search.results import Answer
from lightning_nas.search.strategy import STRATEGIES, budget_text
from lightning_nas.spaces.base import Genotype, SearchSpace

if TYPE_CHECKING:
    from lightning_nas.costs.objective import Objective
    from lightning_nas.search.engine import Search

__all__ = [
    "Fitness", "GAState", "GeneticAlgorithm", "RejectionLimitReached", "child_maker", "fitness_stats", "ga_answer",
    "make_statistics", "tournament",
]  # fmt: skip


class RejectionLimitReached(ConfigError):
    """Rejection sampling reached `max_rejection_draws` draws in the run (all generations together)."""


def _finite(values: list[float]) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    return arr[np.isfinite(arr)]


def make_statistics() -> tools.Statistics:
    stats = tools.Statistics(lambda ind: ind.fitness.values[0])
    stats.register("max", lambda v: float(np.max(v)))
    stats.register("mean", lambda v: float(np.mean(_finite(v))) if len(_finite(v)) else -math.inf)
    stats.register("min", lambda v: float(np.min(_finite(v))) if len(_finite(v)) else -math.inf)
    return stats


def fitness_stats(values: list[float]) -> dict[str, float]:
    """max / mean / min of fitness values as the GA's logbook records them (-inf values left out of the
    mean and min)."""
    return make_statistics().compile([make_individual(None, v) for v in values])  # type: ignore[arg-type]


def ga_answer(last: list[Any], hof: Any) -> Answer:
    """The GA's answer: the best of the last generation."""
    winner = max(last, key=lambda ind: ind.fitness.values[0])
    return Answer(
        (winner.genotype, winner.fitness.values[0]), [(ind.genotype, ind.fitness.values[0]) for ind in hof]
    )


def tournament(population: list[Any], k: int, size: int, rng: random.Random) -> list[Any]:
    """k tournament winners (DEAP's selTournament, with an explicit RNG instead of module `random`)."""
    return [
        max((rng.choice(population) for _ in range(size)), key=lambda ind: ind.fitness.values[0])
        for _ in range(k)
    ]


def child_maker(
    space: SearchSpace, cfg: GAConfig, rng: random.Random, parents: Callable[[], list[Genotype]]
) -> Callable[[], Genotype]:
    """Children one at a time: two `parents()` are crossed (probability `crossover_prob`) and both
    children mutated per gene (`mutation_rate`); the second child is kept for the next call."""
    pending: list[Genotype] = []

    def child() -> Genotype:
        if not pending:
            a, b = parents()
            if rng.random() < cfg.crossover_prob:
                a, b = space.crossover(a, b, rng)
            pending.extend(space.mutate(g, rng, cfg.mutation_rate) for g in (b, a))
        return pending.pop()

    return child


@STRATEGIES.register("ga")
class GeneticAlgorithm(EvolutionLoop):
    """`evaluate(genotypes, generation) -> fitnesses`; `accept(genotype) -> bool` for rejection sampling;
    `on_generation(state, individuals, record)` after each generation (checkpointing, logging)."""

    def __init__(
        self,
        space: SearchSpace,
        cfg: GAConfig,
        evaluate: Callable[[list[Genotype], int], list[float]],
        accept: Callable[[Genotype], bool] | None = None,
        on_generation: OnGeneration | None = None,
    ) -> None:
        super().__init__(space, cfg, evaluate, on_generation)
        self.accept = accept if cfg.constraint_handling == "rejection" else None
        self.hof_size = cfg.hall_of_fame_size
        self.filling = 0  # the generation whose population is being drawn (for the rejection-limit error)
        self.hof = tools.HallOfFame(self.hof_size, similar=same_genotype)
        self.stats = make_statistics()

    # ---- what the engine and the checks ask -------------------------------------------------
    @classmethod
    def check_search(cls, cfg: GAConfig) -> None:
        """Every `search` setting applies to the GA."""

    @classmethod
    def goal(cls, objectives: list[Objective], cfg: GAConfig) -> str:
        return f"constraint {budget_text(objectives)} ({cfg.constraint_handling})"

    @staticmethod
    def fitness_of(row: dict[str, Any], costs: list[float], budgets: list[float | None]) -> float:
        """RMI + penalty (+ the capacity term), the row's `fitness`."""
        return row["fitness"]

    @classmethod
    def for_search(cls, search: Search) -> GeneticAlgorithm:
        return cls(search.space, search.cfg.search, search.evaluate_population, search.is_feasible, search.on_generation)

    def answer(self, search: Search) -> Answer:
        return ga_answer(self.kept, self.hof)

    # ---- drawing, with rejection when asked -------------------------------------------------
    def _draw(self, make: Callable[[], Genotype]) -> Genotype:
        while True:
            self.draws += 1
            genotype = make()
            if self.accept is None or self.accept(genotype):
                return genotype
            if self.draws >= self.cfg.max_rejection_draws:
                raise RejectionLimitReached(
                    f"rejection sampling reached search.max_rejection_draws = {self.cfg.max_rejection_draws} draws in "
                    f"this run (all generations together) while filling generation {self.filling + 1}'s population "
                    "under the budget; loosen the budget, raise the limit or use constraint_handling=penalty"
                )

    def initial_state(self, rng: random.Random) -> GAState:
        self.draws, self.filling = 0, 0
        population = [self._draw(lambda: self.space.sample(rng)) for _ in range(self.cfg.population)]
        return GAState(0, population, rng.getstate(), draws=self.draws)

    def breed(self, individuals: list[Any], rng: random.Random) -> list[Genotype]:
        cfg = self.cfg
        children = [ind.genotype for ind in tools.selBest(individuals, cfg.elites)]
        child = child_maker(
            self.space, cfg, rng, lambda: [ind.genotype for ind in tournament(individuals, 2, cfg.tournament_size, rng)]
        )
        while len(children) < cfg.population:
            children.append(self._draw(child))
        return children

    # ---- the loop's steps (EvolutionLoop.run) ------------------------------------------------
    def restore(self, state: GAState) -> None:
        self.hof = tools.HallOfFame(self.hof_size, similar=same_genotype)
        self.hof.update([make_individual(g, f) for g, f in state.hall_of_fame])
        self.kept = [make_individual(g, f) for g, f in state.evaluated]

    def update(self, generation: int, genotypes: list[Genotype], fits: list[Any]) -> tuple[list[Any], dict[str, Any]]:
        self.kept = [make_individual(g, f) for g, f in zip(genotypes, fits, strict=True)]
        self.hof.update(self.kept)
        record = {"gen": generation, "nevals": len(self.kept), "draws": self.draws, **self.stats.compile(self.kept)}
        return self.kept, record

    def breed_next(self, generation: int, rng: random.Random) -> list[Genotype]:
        self.filling = generation
        return self.breed(self.kept, rng)

    def archive(self) -> tools.HallOfFame:
        return self.hof

    def pair(self, individual: Any) -> tuple[Genotype, float]:
        return individual.genotype, individual.fitness.values[0]
