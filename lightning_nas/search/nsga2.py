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
`pareto.objective_point`. The loop (`evolution.EvolutionLoop`) and its `GAState` are the GA's, so
checkpoint and resume are shared. Registered in `STRATEGIES` as `nsga2`."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from deap import tools

from lightning_nas.config import GAConfig
from lightning_nas.errors import ConfigError
from lightning_nas.search import pareto
from lightning_nas.search.deap_types import pareto_individual, pareto_point, same_genotype
from lightning_nas.search.evolution import EvolutionLoop, GAState, OnGeneration
from lightning_nas.search.fitness import fitness
from lightning_nas.search.ga import child_maker
from lightning_nas.search.results import Answer
from lightning_nas.search.strategy import STRATEGIES, budget_text
from lightning_nas.spaces.base import Genotype, SearchSpace

if TYPE_CHECKING:
    from lightning_nas.config import RunConfig
    from lightning_nas.costs.objective import Objective
    from lightning_nas.search.engine import Search
    from lightning_nas.search.records import RunRecords

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


def front_answer(
    space: SearchSpace, objectives: list[Objective], records: RunRecords, front: list[Any], normalized: bool
) -> Answer:
    """NSGA-II's answer: the front (highest RMI first); the winner is its highest-RMI member within the
    budgets (the front is all feasible once one feasible candidate was evaluated)."""
    budgets = [o.budget for o in objectives]

    def scored(ind: Any) -> tuple[Genotype, float]:
        rmi = records.entries[space.key(ind.genotype)]["rmi"]
        costs = [o.cost(ind.genotype) for o in objectives]
        return ind.genotype, fitness(0.0 if rmi is None else rmi, costs, budgets, normalized)

    members = sorted(front, key=lambda ind: (-ind.fitness.values[0], *ind.fitness.values[1:], space.key(ind.genotype)))
    feasible_first = sorted(members, key=lambda ind: ind.fitness.violation > 0)
    return Answer(scored(feasible_first[0]), [scored(ind) for ind in members], [scored(ind) for ind in members])


def check_objectives(cfg: RunConfig) -> None:
    """Distinct cost metrics, and a hypervolume reference of the right length and RMI value."""
    metrics = [c.metric for c in cfg.cost.constraints()]
    twice = sorted({m for m in metrics if metrics.count(m) > 1})
    if twice:
        raise ConfigError(
            f"search.algorithm nsga2 needs distinct cost objectives, but {', '.join(twice)} is given more than once "
            f"in cost / cost.extra ({', '.join(metrics)})"
        )
    ref = cfg.search.hv_reference
    if ref and len(ref) != 1 + len(metrics):
        raise ConfigError(
            f"search.hv_reference has {len(ref)} value(s); give {1 + len(metrics)}: the RMI, then {', '.join(metrics)}"
        )
    taps = len(cfg.reference.taps)
    if ref and not 0 <= ref[0] < taps:
        raise ConfigError(
            f"search.hv_reference RMI {ref[0]:g} bounds no architecture: the RMI of {taps} taps lies in [0, {taps}]; "
            f"give a value in [0, {taps}) (0 is the default)"
        )


@STRATEGIES.register("nsga2")
class NSGA2(EvolutionLoop):
    """`evaluate(genotypes, generation) -> points`; `on_generation(state, individuals, record)` after each
    generation (checkpointing, logging); `reference`: the hypervolume reference point (RMI, costs...),
    None for the default (`pareto.default_reference` of the first generation's costs, then fixed)."""

    budgets_optional = True
    generation_metrics = ("front_size", "feasible_front", "hypervolume")

    def __init__(
        self,
        space: SearchSpace,
        cfg: GAConfig,
        evaluate: Callable[[list[Genotype], int], list[Point]],
        on_generation: OnGeneration | None = None,
        reference: Sequence[float] | None = None,
    ) -> None:
        super().__init__(space, cfg, evaluate, on_generation)
        self.reference = list(reference) if reference else None
        self.hv_reference: list[float] | None = self.reference
        self.front = tools.ParetoFront(similar=same_genotype)

    # ---- what the engine and the checks ask -------------------------------------------------
    @classmethod
    def check_search(cls, cfg: GAConfig) -> None:
        if cfg.constraint_handling == "rejection":
            raise ConfigError(
                "search.constraint_handling rejection works with search.algorithm ga only; nsga2 applies the budgets "
                "by constrained domination (leave constraint_handling at penalty)"
            )
        if cfg.capacity_weight:
            raise ConfigError("search.capacity_weight works with search.algorithm ga only (nsga2 keeps RMI and the costs apart); set it to 0")

    @classmethod
    def check(cls, cfg: RunConfig) -> None:
        check_objectives(cfg)

    @classmethod
    def constraint_handling(cls, cfg: GAConfig) -> str:
        return "constrained domination"

    @classmethod
    def goal(cls, objectives: list[Objective], cfg: GAConfig) -> str:
        names = ", ".join(o.name for o in objectives)
        return f"NSGA-II front of RMI vs {names}, budgets {budget_text(objectives)} (constrained domination)"

    @staticmethod
    def fitness_of(row: dict[str, Any], costs: list[float], budgets: list[float | None]) -> Point:
        """The point (RMI, costs..., violation), see `pareto.objective_point`."""
        return pareto.objective_point(row["rmi"], costs, budgets)

    @classmethod
    def for_search(cls, search: Search) -> NSGA2:
        reference = search.cfg.search.hv_reference or None
        return cls(search.space, search.cfg.search, search.evaluate_population, search.on_generation, reference)

    def answer(self, search: Search) -> Answer:
        normalized = search.cfg.cost.normalized
        return front_answer(search.space, search.objectives, search.records, list(self.front), normalized)

    # ---- the loop's steps (EvolutionLoop.run) ------------------------------------------------
    def initial_state(self, rng: random.Random) -> GAState:
        population = [self.space.sample(rng) for _ in range(self.cfg.population)]
        return GAState(0, population, rng.getstate(), draws=len(population))

    def breed(self, parents: list[Any], rng: random.Random) -> list[Genotype]:
        size = self.cfg.tournament_size
        child = child_maker(
            self.space, self.cfg, rng, lambda: [ind.genotype for ind in crowded_tournament(parents, size, rng)]
        )
        return [child() for _ in range(self.cfg.population)]

    def restore(self, state: GAState) -> None:
        self.front = tools.ParetoFront(similar=same_genotype)
        # ParetoFront inserts a newcomer before members of equal fitness: reversed, ties keep their order
        self.front.update([pareto_individual(g, p) for g, p in reversed(state.hall_of_fame)])
        self.kept = [pareto_individual(g, p) for g, p in state.evaluated]
        self.hv_reference = self.reference or state.hv_reference

    def update(self, generation: int, genotypes: list[Genotype], fits: list[Any]) -> tuple[list[Any], dict[str, Any]]:
        offspring = [pareto_individual(g, p) for g, p in zip(genotypes, fits, strict=True)]
        self.kept = survivors(self.kept + offspring, self.cfg.population)
        self.front.update(offspring)
        if self.hv_reference is None:
            n_costs = len(fits[0]) - 2
            self.hv_reference = pareto.default_reference([p[1:-1] for p in fits if math.isfinite(p[-1])], n_costs)
        front_points = [pareto_point(ind) for ind in self.front]
        record = {
            "gen": generation,
            "nevals": len(offspring),
            "draws": self.draws,
            "front_size": len(self.front),
            "feasible_front": sum(p[-1] == 0.0 for p in front_points),
            "hypervolume": pareto.hypervolume(front_points, self.hv_reference),
        }
        return offspring, record

    def breed_next(self, generation: int, rng: random.Random) -> list[Genotype]:
        population = self.breed(self.kept, rng)
        self.draws += len(population)
        return population

    def archive(self) -> tools.ParetoFront:
        return self.front

    def pair(self, individual: Any) -> tuple[Genotype, Point]:
        return individual.genotype, pareto_point(individual)

    def state_reference(self) -> list[float] | None:
        return None if self.hv_reference is None else list(self.hv_reference)
