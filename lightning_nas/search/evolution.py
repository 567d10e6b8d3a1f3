"""The generational loop that the GA and NSGA-II share: start or resume from a `GAState`, then per
generation evaluate, update, breed the next population and hand a checkpointable state on.

A subclass says how to start (`initial_state`), how to rebuild its archive from a state (`restore`), what
a generation's evaluation changes (`update`, which returns the logbook record), which candidates it keeps
and breeds from (`kept`), its archive (`archive`) and how it breeds (`breed_next`). All randomness comes
from one `random.Random`, whose state each `GAState` carries."""

from __future__ import annotations

import random
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lightning_nas.config import GAConfig
from lightning_nas.search.strategy import Strategy
from lightning_nas.spaces.base import Genotype, SearchSpace

Fitness = float | tuple[float, ...]  # the GA's RMI + penalty, or NSGA-II's (RMI, costs..., violation)
OnGeneration = Callable[["GAState", list[Any], dict[str, Any]], None]


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


class EvolutionLoop(Strategy):
    """`evaluate(genotypes, generation) -> fitnesses`; `on_generation(state, individuals, record)` after
    each generation (checkpointing, logging)."""

    def __init__(
        self,
        space: SearchSpace,
        cfg: GAConfig,
        evaluate: Callable[[list[Genotype], int], list[Any]],
        on_generation: OnGeneration | None = None,
    ) -> None:
        self.space, self.cfg, self.evaluate = space, cfg, evaluate
        self.on_generation = on_generation
        self.draws = 0
        self.logbook: list[dict[str, Any]] = []
        self.kept: list[Any] = []  # the individuals the next generation is bred from (state.evaluated)

    @abstractmethod
    def initial_state(self, rng: random.Random) -> GAState:
        """Generation 0's population, not yet evaluated."""

    @abstractmethod
    def restore(self, state: GAState) -> None:
        """Rebuild the archive and `kept` from `state` (its logbook and draws are restored here)."""

    @abstractmethod
    def update(self, generation: int, genotypes: list[Genotype], fits: list[Any]) -> tuple[list[Any], dict[str, Any]]:
        """Take a generation's fitnesses: the evaluated individuals and the logbook record."""

    @abstractmethod
    def breed_next(self, generation: int, rng: random.Random) -> list[Genotype]:
        """The population of `generation`, bred from `kept`."""

    @abstractmethod
    def archive(self) -> Any:
        """The best found so far (hall of fame or Pareto front)."""

    @abstractmethod
    def pair(self, individual: Any) -> tuple[Genotype, Fitness]:
        """(genotype, fitness) as a state records it."""

    def state_reference(self) -> list[float] | None:
        """A state's `hv_reference` (None: the strategy has none)."""
        return None

    def run(self, rng: random.Random, state: GAState | None = None) -> tuple[GAState, list[Any], Any]:
        """Run (or continue from `state`) to the last generation; returns the final state, the kept
        individuals (GA: the last generation; NSGA-II: the survivors) and the archive."""
        state = state or self.initial_state(rng)
        rng.setstate(_as_rng_state(state.rng_state))
        self.logbook, self.draws = list(state.logbook), state.draws
        self.restore(state)
        if not state.population and state.generation < self.cfg.generations:
            # a finished run continued with more generations: breed what its last generation skipped
            state.population = self.breed_next(state.generation, rng)
        while state.generation < self.cfg.generations:
            gen = state.generation
            individuals, record = self.update(gen, state.population, self.evaluate(state.population, gen))
            self.logbook.append(record)
            population = [] if gen == self.cfg.generations - 1 else self.breed_next(gen + 1, rng)
            state = self.snapshot(gen + 1, population, rng.getstate())
            if self.on_generation:
                self.on_generation(state, individuals, record)
        return state, self.kept, self.archive()

    def snapshot(self, generation: int, population: list[Genotype], rng_state: Any) -> GAState:
        """The checkpointable state after `generation` - 1 generations."""
        return GAState(
            generation,
            population,
            rng_state,
            list(self.logbook),
            [self.pair(ind) for ind in self.archive()],
            self.draws,
            [self.pair(ind) for ind in self.kept],
            self.state_reference(),
        )


def _as_rng_state(state: Any) -> tuple:
    """random.Random states survive JSON as nested lists; turn them back into tuples."""
    version, internal, gauss = state
    return (version, tuple(internal), gauss)
