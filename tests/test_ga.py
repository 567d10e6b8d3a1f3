"""The DEAP GA on analytic objectives with known optima; penalty vs rejection sampling."""

from __future__ import annotations

import importlib
import random

import pytest

from lightning_nas.config import GAConfig
from lightning_nas.errors import ConfigError
from lightning_nas.search.ga import GeneticAlgorithm, RejectionLimitReached
from lightning_nas.settings import check_search
from lightning_nas.spaces.nb201.space import NB201Space

TARGET = (3, 3, 2, 1, 4, 0)


def matches(genotypes, _gen):
    return [float(sum(a == b for a, b in zip(g, TARGET, strict=True))) for g in genotypes]


def test_reaches_the_known_optimum():
    state, last, hof = GeneticAlgorithm(NB201Space(), GAConfig(population=12, generations=40), matches).run(random.Random(0))
    assert hof[0].genotype == TARGET and hof[0].fitness.values[0] == 6.0
    best_last = max(last, key=lambda ind: ind.fitness.values[0])
    assert best_last.genotype == TARGET  # elitism: the best survives to the last generation
    assert [r["gen"] for r in state.logbook] == list(range(40))
    maxima = [r["max"] for r in state.logbook]
    assert maxima == sorted(maxima)  # elitism: the best never gets worse


def test_same_seed_same_search_generation_by_generation():
    runs = [GeneticAlgorithm(NB201Space(), GAConfig(population=8, generations=6), matches).run(random.Random(7))[0] for _ in range(2)]
    assert runs[0].logbook == runs[1].logbook and runs[0].hall_of_fame == runs[1].hall_of_fame
    other = GeneticAlgorithm(NB201Space(), GAConfig(population=8, generations=6), matches).run(random.Random(8))[0]
    assert other.logbook != runs[0].logbook


def test_resuming_from_a_state_reaches_the_same_result():
    cfg = GAConfig(population=8, generations=6)
    full = GeneticAlgorithm(NB201Space(), cfg, matches).run(random.Random(3))[0]
    states = []
    GeneticAlgorithm(NB201Space(), cfg, matches, on_generation=lambda s, *_: states.append(s)).run(random.Random(3))
    resumed = GeneticAlgorithm(NB201Space(), cfg, matches).run(random.Random(999), states[2])[0]  # as if killed after gen 3
    assert resumed.logbook == full.logbook and resumed.hall_of_fame == full.hall_of_fame


def test_a_finished_run_continued_with_more_generations_equals_the_longer_run():
    states = []
    GeneticAlgorithm(NB201Space(), GAConfig(population=8, generations=3), matches, on_generation=lambda s, *_: states.append(s)).run(random.Random(3))
    assert states[-1].population == []  # the last generation breeds no children
    longer = GeneticAlgorithm(NB201Space(), GAConfig(population=8, generations=6), matches)
    continued = longer.run(random.Random(999), states[-1])[0]
    full = GeneticAlgorithm(NB201Space(), GAConfig(population=8, generations=6), matches).run(random.Random(3))[0]
    assert continued.logbook == full.logbook and continued.hall_of_fame == full.hall_of_fame


def test_the_smallest_population_runs_with_the_default_tournament():
    state = GeneticAlgorithm(NB201Space(), GAConfig(population=2, generations=3), matches).run(random.Random(0))[0]
    assert GAConfig().tournament_size > 2 and [r["nevals"] for r in state.logbook] == [2, 2, 2]


def draws_to_fill(budget: int, handling: str, seed: int, generations: int = 3) -> int:
    """Toy space: cost = sum of op indices (0..24); budget = max allowed cost."""
    cfg = GAConfig(population=10, generations=generations, constraint_handling=handling, max_rejection_draws=10**6)
    ga = GeneticAlgorithm(NB201Space(), cfg, matches, accept=lambda g: sum(g) <= budget)
    return ga.run(random.Random(seed))[0].draws


def test_rejection_draws_grow_as_the_budget_tightens_penalty_stays_at_population():
    budgets = [16, 10, 6, 3]
    rejection = [sum(draws_to_fill(b, "rejection", s) for s in range(3)) / 3 for b in budgets]
    assert rejection == sorted(rejection) and rejection[-1] > 20 * rejection[0]
    for b in budgets:  # penalty: N_pop draws, then N_pop - 1 children (one elite) per generation, whatever the budget
        assert draws_to_fill(b, "penalty", 0) == 10 + 9 * 2


def test_rejection_stops_with_a_clear_message_for_an_infeasible_budget():
    cfg = GAConfig(population=4, generations=2, constraint_handling="rejection", max_rejection_draws=500)
    ga = GeneticAlgorithm(NB201Space(), cfg, matches, accept=lambda g: False)
    with pytest.raises(RejectionLimitReached, match="max_rejection_draws = 500 draws in this run .* generation 1"):
        ga.run(random.Random(0))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"population": 1}, "population must be in 2..100000"),
        ({"population": 2_000_000_000}, "population must be in 2..100000"),  # MemoryError after minutes before
        ({"generations": 0}, "generations must be >= 1"),
        ({"tournament_size": 0}, "tournament_size must be >= 1"),
        ({"mutation_rate": 1.5}, "mutation_rate"),
        ({"constraint_handling": "ignore"}, "unknown search.constraint_handling 'ignore'; valid: penalty, rejection"),
    ],
)
def test_bad_ga_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        check_search(GAConfig(**kwargs))


def test_deap_creator_classes_are_created_once():
    import lightning_nas.search.deap_types as types

    first = types.make_individual((1, 2, 3, 4, 0, 0), 1.0)
    importlib.reload(types)  # a second import must not re-create (DEAP would warn and replace)
    second = types.make_individual((1, 2, 3, 4, 0, 0), 1.0)
    assert type(first) is type(second)


def test_rejection_limit_counts_the_whole_run_and_names_the_generation():
    """The limit is over every draw of the run: generation 1 fills (4 draws), generation 2's children do not."""
    seen = []

    def first_four(g):
        seen.append(g)
        return len(seen) <= 4

    cfg = GAConfig(population=4, generations=3, constraint_handling="rejection", max_rejection_draws=50)
    with pytest.raises(RejectionLimitReached, match="50 draws in this run .* filling generation 2's population"):
        GeneticAlgorithm(NB201Space(), cfg, matches, accept=first_four).run(random.Random(0))
    assert len(seen) == 50


def test_hall_of_fame_size_is_a_config_key():
    for size in (1, 3):
        _, _, hof = GeneticAlgorithm(NB201Space(), GAConfig(population=6, generations=3, hall_of_fame_size=size), matches).run(
            random.Random(0)
        )
        assert len(hof) == size
    with pytest.raises(ConfigError, match="hall_of_fame_size must be >= 1, got 0"):
        check_search(GAConfig(hall_of_fame_size=0))
