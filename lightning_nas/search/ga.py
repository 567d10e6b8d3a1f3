"""The generational genetic algorithm of HW-EvRSNAS (Algorithm 1) on DEAP.

Each generation: evaluate every individual, record statistics / hall of fame / logbook, then breed the
next population: `elites` best survive, the rest are children of tournament-selected parents through
the space's crossover (probability `crossover_prob`) and per-gene mutation (`mutation_rate`).
`constraint_handling: rejection` re-draws every sample and child until `accept` holds (the baseline the
paper's penalty replaces), counting draws and giving up after `max_rejection_draws`.

All randomness comes from one `random.Random`; its state is part of the checkpointable `GAState`."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from deap import tools

from lightning_nas.config import GAConfig
from lightning_nas.errors import ConfigError
from lightning_nas.search.deap_types import make_individual, same_genotype
from lightning_nas.spaces.base import Genotype, SearchSpace


class RejectionLimitReached(ConfigError):
    """Rejection sampling reached `max_rejection_draws` draws in the run (all generations together)."""


Fitness = float | tuple[float, ...]  # the GA's RMI + penalty, or NSGA-II's (RMI, costs..., violation)


@dataclass
class GAState:
    """Everything needed to continue a run: `population` is generation `generation`, not yet evaluated.
    `evaluated` is the previous generation (NSGA-II: its surviving parents); `hall_of_fame` the best
    distinct candidates (NSGA-II: the Pareto front of everything evaluated); `hv_reference` NSGA-II's
    hypervolume reference point, fixed once the first generation is evaluated."""

    generation: int
    population: list[Genotype]
    rng_state: Any
    logbook: list[dict[str, Any]] = field(default_factory=list)
    hall_of_fame: list[tuple[Genotype, Fitness]] = field(default_factory=list)
    draws: int = 0
    evaluated: list[tuple[Genotype, Fitness]] = field(default_factory=list)
    hv_reference: list[float] | None = None


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


class GeneticAlgorithm:
    """`evaluate(genotypes, generation) -> fitnesses`; `accept(genotype) -> bool` for rejection sampling;
    `on_generation(state, individuals, record)` after each generation (checkpointing, logging)."""

    def __init__(
        self,
        space: SearchSpace,
        cfg: GAConfig,
        evaluate: Callable[[list[Genotype], int], list[float]],
        accept: Callable[[Genotype], bool] | None = None,
        on_generation: Callable[[GAState, list[Any], dict[str, Any]], None] | None = None,
    ) -> None:
        cfg.validate()
        self.space, self.cfg, self.evaluate = space, cfg, evaluate
        self.accept = accept if cfg.constraint_handling == "rejection" else None
        self.on_generation = on_generation
        self.hof_size = cfg.hall_of_fame_size
        self.draws = 0
        self.filling = 0  # the generation whose population is being drawn (for the rejection-limit error)

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

    # ---- the loop ----------------------------------------------------------------------------
    def run(
        self, rng: random.Random, state: GAState | None = None
    ) -> tuple[GAState, list[Any], tools.HallOfFame]:
        """Run (or continue from `state`) to the last generation; returns the final state, the last
        generation's evaluated individuals and the hall of fame."""
        state = state or self.initial_state(rng)
        rng.setstate(_as_rng_state(state.rng_state))
        self.draws = state.draws
        hof = tools.HallOfFame(self.hof_size, similar=same_genotype)
        hof.update([make_individual(g, f) for g, f in state.hall_of_fame])
        logbook = tools.Logbook()
        logbook.extend(state.logbook)
        stats = make_statistics()
        individuals = [make_individual(g, f) for g, f in state.evaluated]
        if not state.population and state.generation < self.cfg.generations:
            # a finished run continued with more generations: breed what its last generation skipped
            self.filling = state.generation
            state.population = self.breed(individuals, rng)
        while state.generation < self.cfg.generations:
            gen = state.generation
            fits = self.evaluate(state.population, gen)
            individuals = [make_individual(g, f) for g, f in zip(state.population, fits, strict=True)]
            hof.update(individuals)
            record = {
                "gen": gen,
                "nevals": len(individuals),
                "draws": self.draws,
                **stats.compile(individuals),
            }
            logbook.record(**record)
            last = gen == self.cfg.generations - 1
            self.filling = gen + 1
            population = [] if last else self.breed(individuals, rng)
            state = GAState(
                gen + 1,
                population,
                rng.getstate(),
                list(logbook),
                [(ind.genotype, ind.fitness.values[0]) for ind in hof],
                self.draws,
                [(ind.genotype, ind.fitness.values[0]) for ind in individuals],
            )
            if self.on_generation:
                self.on_generation(state, individuals, record)
        return state, individuals, hof


def _as_rng_state(state: Any) -> tuple:
    """random.Random states survive JSON as nested lists; turn them back into tuples."""
    version, internal, gauss = state
    return (version, tuple(internal), gauss)
