"""NSGA-II on DEAP (`search.algorithm: nsga2`): one search gives the whole RMI-cost front.

Objectives: the RMI (maximised) and every configured cost (minimised); hard budgets, where given, act by
constrained domination (`deap_types.ParetoFitness`). Each generation: evaluate the offspring, merge them
with the parents, keep `population` of the distinct merged candidates with DEAP's `selNSGA2`
(non-dominated sorting, then crowding distance), update the front of everything evaluated (DEAP's
`ParetoFront`) and its hypervolume, then breed the next offspring from crowded tournaments (rank, then
crowding distance) through the space's crossover and mutation, like the GA. Works for any population
>= 2: the tournament draws with an explicit RNG, so DEAP's selTournamentDCD (module `random`, a
multiple of 4) is not used.

`evaluate(genotypes, generation)` returns each genotype's point (RMI, costs..., violation), see
`pareto.objective_point`. The loop's state is the GA's `GAState`, so checkpoint and resume are shared."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any

from deap import tools

from lightning_nas.config import GAConfig
from lightning_nas.search import pareto
from lightning_nas.search.deap_types import pareto_individual, pareto_point, same_genotype
from lightning_nas.search.ga import GAState, _as_rng_state, child_maker
from lightning_nas.spaces.base import Genotype, SearchSpace

Point = tuple[float, ...]


def survivors(pool: list[Any], k: int) -> list[Any]:
    """The k candidates NSGA-II keeps: distinct genotypes first (a copy takes a slot only when there are
    fewer than k distinct ones), chosen by selNSGA2."""
    seen: set[Any] = set()
    distinct, copies = [], []
    for ind in pool:
        (copies if ind.genotype in seen else distinct).append(ind)
        seen.add(ind.genotype)
    if len(distinct) <= k:
        return distinct + copies[: k - len(distinct)]
    return tools.selNSGA2(distinct, k)


def rank_and_crowd(individuals: list[Any]) -> dict[int, tuple[int, float]]:
    """(non-domination rank, crowding distance) of each individual, by id()."""
    out: dict[int, tuple[int, float]] = {}
    for rank, front in enumerate(tools.sortNondominated(individuals, len(individuals))):
        tools.emo.assignCrowdingDist(front)
        for ind in front:
            out[id(ind)] = (rank, ind.fitness.crowding_dist)
    return out


def crowded_tournament(individuals: list[Any], size: int, rng: random.Random) -> list[Any]:
    """Two parents, each the best of `size` drawn with replacement: lower rank, then larger crowding
    distance, then the first drawn."""
    order = rank_and_crowd(individuals)

    def one() -> Any:
        drawn = [rng.choice(individuals) for _ in range(size)]
        return min(drawn, key=lambda ind: (order[id(ind)][0], -order[id(ind)][1]))

    return [one(), one()]


class NSGA2:
    """`evaluate(genotypes, generation) -> points`; `on_generation(state, individuals, record)` after each
    generation (checkpointing, logging); `reference`: the hypervolume reference point (RMI, costs...),
    None for the default (`pareto.default_reference` of the first generation's costs, then fixed)."""

    def __init__(
        self,
        space: SearchSpace,
        cfg: GAConfig,
        evaluate: Callable[[list[Genotype], int], list[Point]],
        on_generation: Callable[[GAState, list[Any], dict[str, Any]], None] | None = None,
        reference: Sequence[float] | None = None,
    ) -> None:
        cfg.validate()
        self.space, self.cfg, self.evaluate = space, cfg, evaluate
        self.on_generation = on_generation
        self.reference = list(reference) if reference else None

    def initial_state(self, rng: random.Random) -> GAState:
        population = [self.space.sample(rng) for _ in range(self.cfg.population)]
        return GAState(0, population, rng.getstate(), draws=len(population))

    def breed(self, parents: list[Any], rng: random.Random) -> list[Genotype]:
        size = self.cfg.tournament_size
        child = child_maker(
            self.space, self.cfg, rng, lambda: [ind.genotype for ind in crowded_tournament(parents, size, rng)]
        )
        return [child() for _ in range(self.cfg.population)]

    def run(self, rng: random.Random, state: GAState | None = None) -> tuple[GAState, list[Any], tools.ParetoFront]:
        """Run (or continue from `state`) to the last generation; returns the final state, the surviving
        population and the front of every candidate evaluated."""
        state = state or self.initial_state(rng)
        rng.setstate(_as_rng_state(state.rng_state))
        draws = state.draws
        front = tools.ParetoFront(similar=same_genotype)
        # ParetoFront inserts a newcomer before members of equal fitness: reversed, ties keep their order
        front.update([pareto_individual(g, p) for g, p in reversed(state.hall_of_fame)])
        logbook = list(state.logbook)
        parents = [pareto_individual(g, p) for g, p in state.evaluated]
        reference = self.reference or state.hv_reference
        if not state.population and state.generation < self.cfg.generations:
            state.population = self.breed(parents, rng)  # a finished run continued with more generations
            draws += len(state.population)
        while state.generation < self.cfg.generations:
            gen = state.generation
            points = self.evaluate(state.population, gen)
            offspring = [pareto_individual(g, p) for g, p in zip(state.population, points, strict=True)]
            parents = survivors(parents + offspring, self.cfg.population)
            front.update(offspring)
            if reference is None:
                n_costs = len(points[0]) - 2
                reference = pareto.default_reference([p[1:-1] for p in points if math.isfinite(p[-1])], n_costs)
            front_points = [pareto_point(ind) for ind in front]
            record = {
                "gen": gen,
                "nevals": len(offspring),
                "draws": draws,
                "front_size": len(front),
                "feasible_front": sum(p[-1] == 0.0 for p in front_points),
                "hypervolume": pareto.hypervolume(front_points, reference),
            }
            logbook.append(record)
            last = gen == self.cfg.generations - 1
            population = [] if last else self.breed(parents, rng)
            draws += len(population)
            state = GAState(
                gen + 1,
                population,
                rng.getstate(),
                list(logbook),
                [(ind.genotype, pareto_point(ind)) for ind in front],
                draws,
                [(ind.genotype, pareto_point(ind)) for ind in parents],
                list(reference),
            )
            if self.on_generation:
                self.on_generation(state, offspring, record)
        return state, parents, front
