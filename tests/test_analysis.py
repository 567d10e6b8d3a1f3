"""lightning_nas.analysis: rank agreement, the best feasible arch by a score, the trivial pickers and the
capacity term over arrays (the same numbers the search's fitness gives one arch at a time)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from lightning_nas.analysis.budget import best_feasible, capacity_scores, trivial_picks
from lightning_nas.analysis.ranking import rank_agreement
from lightning_nas.search.fitness import capacity_term


def test_rank_agreement_is_kendall_and_spearman() -> None:
    x = np.array([3.0, 1.0, 2.0, 5.0, 4.0])
    assert rank_agreement(x, x * 2) == pytest.approx((1.0, 1.0))
    assert rank_agreement(x, -x) == pytest.approx((-1.0, -1.0))
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=50), rng.normal(size=50)
    assert rank_agreement(a, b) == pytest.approx((stats.kendalltau(a, b).statistic, stats.spearmanr(a, b).statistic))


def test_rank_agreement_of_nothing_to_rank_is_nan() -> None:
    assert all(math.isnan(v) for v in rank_agreement(np.ones(5), np.arange(5.0)))  # a constant scoring ranks nothing
    assert all(math.isnan(v) for v in rank_agreement(np.array([1.0, 2.0]), np.array([2.0, 1.0])))
    with pytest.raises(ValueError, match="got 3 and 2 values"):
        rank_agreement(np.arange(3.0), np.arange(2.0))


def test_the_best_feasible_is_the_highest_score_under_the_budget() -> None:
    score = np.array([3.0, 9.0, 5.0, 5.0, np.nan])
    cost = np.array([1.0, 4.0, 2.0, 2.0, 0.5])
    assert best_feasible(score, cost, 4.0) == 1
    assert best_feasible(score, cost, 3.0) == 2  # a tie goes to the lower index
    assert best_feasible(score, np.array([1.0, np.nan, 9.0, 9.0, 0.5]), 4.0) == 0  # NaN cost: infeasible
    assert best_feasible(score, cost, 0.1) == -1


def test_the_best_feasible_is_never_above_the_budget_and_beats_every_feasible_score() -> None:
    rng = np.random.default_rng(1)
    for _ in range(200):
        score, cost = rng.normal(size=30), rng.uniform(0, 10, size=30)
        budget = float(rng.uniform(0, 10))
        best = best_feasible(score, cost, budget)
        feasible = cost <= budget
        if not feasible.any():
            assert best == -1
            continue
        assert cost[best] <= budget and score[best] == score[feasible].max()


def test_trivial_picks_are_the_most_flops_and_the_feasible_mean() -> None:
    oracle = SimpleNamespace(cost=np.array([1.0, 2.0, 3.0, np.nan]), accuracy=np.array([90.0, 92.0, 95.0, 99.0]))
    flops = np.array([10.0, 30.0, 20.0, 99.0])
    assert trivial_picks(oracle, flops, 3.0) == {"max_flops_acc": 92.0, "random_feasible_acc": pytest.approx(92.333333)}
    assert trivial_picks(oracle, flops, 1.0) == {"max_flops_acc": 90.0, "random_feasible_acc": 90.0}
    with pytest.raises(ValueError, match="no architecture is feasible under the budget 0.5"):
        trivial_picks(oracle, flops, 0.5)


@pytest.mark.parametrize("weight", [0.0, 0.3, 1.0, 2.0])
def test_capacity_scores_are_the_fitness_term_of_each_arch(weight) -> None:
    rng = np.random.default_rng(2)
    score, mflops = rng.normal(size=40), np.concatenate([rng.uniform(0.5, 200, size=38), [0.0, -1.0]])
    got = capacity_scores(score, mflops, weight)
    want = [s + capacity_term(weight, m) for s, m in zip(score, mflops, strict=True)]
    assert got.tolist() == pytest.approx(want)
    assert np.isneginf(got[-2:]).all() == bool(weight)
