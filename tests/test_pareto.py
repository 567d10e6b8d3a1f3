"""The front's mathematics (lightning_nas.search.pareto, deap_types.ParetoFitness): constrained domination
against a rule written out here from Deb (2000), its order properties on random points, DEAP's fitness
agreeing with it, the non-dominated set, violations and objective points, hypervolumes computed by hand
(2-D and 3-D) and by an independent 2-D sweep, the default reference, and picking a front member under
`--budget` values. Pure functions: milliseconds."""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import pytest
from deap import tools

from lightning_nas.errors import ConfigError
from lightning_nas.search import deap_types, pareto
from lightning_nas.search.deap_types import pareto_individual, pareto_point, same_genotype

INF = math.inf


# ---- an independent statement of the rule ------------------------------------------------------
def deb_dominates(a, b) -> bool:
    """Deb's constrained domination, written from its definition: (RMI, costs..., violation) with RMI
    maximised and costs minimised; feasible means violation 0."""
    (ra, *ca, va), (rb, *cb, vb) = a, b
    if va > 0 and vb > 0:
        return va < vb
    if va > 0 or vb > 0:
        return va == 0
    no_worse = ra >= rb and all(x <= y for x, y in zip(ca, cb, strict=True))
    better_somewhere = ra > rb or any(x < y for x, y in zip(ca, cb, strict=True))
    return no_worse and better_somewhere


def random_points(rng: np.random.Generator, n: int, n_costs: int) -> list[tuple[float, ...]]:
    """Points on a coarse grid (many ties in every objective) with a mix of violations: feasible most
    of the time, else a small, a large or an infinite excess."""
    points = []
    for _ in range(n):
        rmi = float(rng.integers(0, 4)) / 2
        costs = [float(rng.integers(1, 5)) for _ in range(n_costs)]
        v = float(rng.choice([0.0, 0.0, 0.0, 0.25, 1.5, INF]))
        points.append((rmi, *costs, v))
    return points


# ---- dominates -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "a,b,expected",
    [
        ((2.0, 5.0, 0.0), (1.0, 6.0, 0.0), True),  # better in both
        ((2.0, 5.0, 0.0), (2.0, 6.0, 0.0), True),  # equal RMI, cheaper
        ((2.0, 5.0, 0.0), (1.0, 5.0, 0.0), True),  # equal cost, higher RMI
        ((2.0, 5.0, 0.0), (2.0, 5.0, 0.0), False),  # equal: neither
        ((2.0, 5.0, 0.0), (3.0, 6.0, 0.0), False),  # a trade-off: neither
        ((3.0, 6.0, 0.0), (2.0, 5.0, 0.0), False),
        ((0.0, 99.0, 0.0), (3.0, 1.0, 0.5), True),  # feasible beats infeasible, however bad its values
        ((3.0, 1.0, 0.5), (0.0, 99.0, 0.0), False),
        ((0.0, 9.0, 0.2), (3.0, 1.0, 0.7), True),  # both infeasible: the smaller violation wins
        ((3.0, 1.0, 0.7), (0.0, 9.0, 0.2), False),
        ((3.0, 1.0, 0.5), (3.0, 1.0, 0.5), False),  # equal violations: neither
        ((0.0, 0.0, 0.5), (9.0, 1.0, INF), True),  # a missing value (inf) loses to any finite violation
        ((9.0, 1.0, INF), (0.0, 0.0, INF), False),
        ((2.0, 5.0, 1.0, 0.0), (2.0, 5.0, 2.0, 0.0), True),  # two costs: cheaper in the second
        ((2.0, 4.0, 3.0, 0.0), (2.0, 5.0, 2.0, 0.0), False),  # two costs: a trade-off
    ],
)
def test_dominates_by_hand(a, b, expected):
    assert pareto.dominates(a, b) is expected
    assert deb_dominates(a, b) is expected  # the oracle below agrees with the hand cases


@pytest.mark.parametrize("n_costs", [1, 2, 3])
def test_dominates_is_debs_rule_irreflexive_antisymmetric_and_transitive(n_costs):
    rng = np.random.default_rng(n_costs)
    points = random_points(rng, 60, n_costs)
    relation = {
        (i, j): pareto.dominates(a, b) for (i, a), (j, b) in itertools.product(enumerate(points), repeat=2)
    }
    assert any(relation.values()) and not all(relation.values())
    for (i, j), d in relation.items():
        assert d == deb_dominates(points[i], points[j]), (points[i], points[j])
        if i == j:
            assert not d  # irreflexive
        elif d:
            assert not relation[j, i]  # antisymmetric
    for i, j, k in itertools.product(range(0, 60, 3), repeat=3):  # transitive (a strict partial order)
        if relation[i, j] and relation[j, k]:
            assert relation[i, k], (points[i], points[j], points[k])


@pytest.mark.parametrize("n_costs", [1, 2])
def test_deap_fitness_dominates_agrees_with_pareto_dominates(n_costs):
    rng = np.random.default_rng(10 + n_costs)
    points = random_points(rng, 50, n_costs)
    individuals = [pareto_individual(i, p) for i, p in enumerate(points)]
    disagreements = [
        (a, b)
        for (a, ia), (b, ib) in itertools.product(zip(points, individuals, strict=True), repeat=2)
        if ia.fitness.dominates(ib.fitness) != pareto.dominates(a, b)
    ]
    assert not disagreements, disagreements[:5]
    assert [pareto_point(ind) for ind in individuals] == points  # the point round-trips


def test_pareto_individual_fields_and_missing_violation():
    ind = pareto_individual((1, 2, 3, 4, 0, 0), (2.5, 7.0, 3.0, 0.0))
    assert ind.genotype == (1, 2, 3, 4, 0, 0)
    assert ind.fitness.values == (2.5, 7.0, 3.0) and ind.fitness.weights == (1.0, -1.0, -1.0)
    assert ind.fitness.violation == 0.0
    assert pareto_individual("g", (1.0, 2.0, math.nan)).fitness.violation == INF


def test_pareto_fitness_equality_and_hash_include_the_violation():
    a = pareto_individual("a", (2.0, 5.0, 0.0)).fitness
    b = pareto_individual("b", (2.0, 5.0, 0.0)).fitness
    c = pareto_individual("c", (2.0, 5.0, 0.4)).fitness
    assert a == b and hash(a) == hash(b)
    assert a != c and isinstance(a, deap_types.ParetoFitness)  # the module's class now (test_ga reloads it)


def test_deep_copies_keep_the_violation_also_inside_deaps_pareto_front():
    ind = pareto_individual("over", (3.0, 1.0, 0.75))
    assert copy.deepcopy(ind.fitness).violation == 0.75
    assert copy.deepcopy(ind).fitness.violation == 0.75
    # ParetoFront stores deep copies: without the violation the infeasible copy would count as feasible
    # and block the feasible, dominated-looking candidate below from entering
    front = tools.ParetoFront(similar=same_genotype)
    front.update([ind])
    assert front[0].fitness.violation == 0.75
    feasible = pareto_individual("fits", (1.0, 2.0, 0.0))  # worse RMI and cost, but within budget
    front.update([feasible])
    assert [m.genotype for m in front] == ["fits"]
    assert front[0].fitness.violation == 0.0


# ---- non_dominated -----------------------------------------------------------------------------
def test_non_dominated_by_hand():
    points = [
        (2.0, 5.0, 0.0),  # 0: on the front
        (1.0, 6.0, 0.0),  # 1: dominated by 0
        (3.0, 8.0, 0.0),  # 2: on the front (trade-off with 0)
        (9.0, 1.0, 0.3),  # 3: infeasible: dominated by every feasible point
        (2.0, 5.0, 0.0),  # 4: a twin of 0: neither dominates the other
    ]
    assert pareto.non_dominated(points) == [0, 2, 4]
    assert pareto.non_dominated([(9.0, 1.0, 0.3), (0.0, 9.0, 0.1), (5.0, 5.0, INF)]) == [1]  # least violation
    assert pareto.non_dominated([]) == []


@pytest.mark.parametrize("n_costs", [1, 2])
def test_non_dominated_is_mutually_non_dominated_and_dominates_the_rest(n_costs):
    rng = np.random.default_rng(20 + n_costs)
    for _ in range(5):
        points = random_points(rng, 40, n_costs)
        front = pareto.non_dominated(points)
        assert front and len(front) < len(points)
        for i, j in itertools.product(front, repeat=2):
            assert not pareto.dominates(points[i], points[j])
        for k in set(range(len(points))) - set(front):
            assert any(pareto.dominates(points[i], points[k]) for i in front)


# ---- violation and objective_point ---------------------------------------------------------------
def test_violation():
    assert pareto.violation([8.0], [10.0]) == 0.0
    assert pareto.violation([10.0], [10.0]) == 0.0  # at the budget: feasible
    assert pareto.violation([12.0], [10.0]) == pytest.approx(0.2)
    assert pareto.violation([12.0, 6.0], [10.0, 4.0]) == pytest.approx(0.2 + 0.5)  # summed relative excess
    assert pareto.violation([12.0, 600.0], [10.0, None]) == pytest.approx(0.2)  # no budget: never violated
    assert pareto.violation([600.0], [None]) == 0.0
    assert pareto.violation([math.nan, 1.0], [None, 10.0]) == INF  # a missing cost
    with pytest.raises(ValueError):
        pareto.violation([1.0, 2.0], [10.0])  # one budget per cost


def test_objective_point():
    assert pareto.objective_point(2.5, [12.0, 3.0], [10.0, None]) == pytest.approx((2.5, 12.0, 3.0, 0.2))
    assert pareto.objective_point(2.5, [8.0], [10.0]) == (2.5, 8.0, 0.0)
    for point in (
        pareto.objective_point(None, [8.0], [10.0]),  # the candidate failed: no RMI
        pareto.objective_point(2.5, [math.nan, 3.0], [None, None]),  # a cost the table lacks
        pareto.objective_point(None, [math.nan], [None]),
    ):
        *values, excess = point
        assert excess == INF and all(math.isfinite(v) for v in values), point  # crowding needs finite values
    assert pareto.objective_point(None, [8.0], [10.0]) == (0.0, 8.0, INF)
    assert pareto.objective_point(2.5, [math.nan, 3.0], [None, None]) == (2.5, 0.0, 3.0, INF)
    # a point with a missing value never enters a front while any other has values
    points = [pareto.objective_point(None, [0.1], [None]), pareto.objective_point(0.5, [50.0], [10.0])]
    assert pareto.non_dominated(points) == [1]


# ---- hypervolume -------------------------------------------------------------------------------
def test_hypervolume_2d_by_hand():
    ref = [0.0, 10.0]
    assert pareto.hypervolume([(3.0, 4.0, 0.0)], ref) == pytest.approx(3 * 6)
    # two boxes 3 x 6 and 1 x 8 overlapping in 1 x 6
    two = [(3.0, 4.0, 0.0), (1.0, 2.0, 0.0)]
    assert pareto.hypervolume(two, ref) == pytest.approx(18 + 8 - 6)
    extra = [
        (2.0, 5.0, 0.0),  # dominated: inside the others' volume
        (9.0, 1.0, 0.3),  # infeasible: adds nothing however good
        (9.0, 1.0, INF),  # missing value
        (5.0, 11.0, 0.0),  # cost beyond the reference
        (-1.0, 1.0, 0.0),  # RMI below the reference
        (4.0, 10.0, 0.0),  # on the reference: no volume
    ]
    assert pareto.hypervolume(two + extra, ref) == pytest.approx(20)
    assert pareto.hypervolume(extra[1:], ref) == 0.0
    assert pareto.hypervolume([], ref) == 0.0
    assert pareto.hypervolume([(3.0, 4.0, 0.0)], [1.0, 8.0]) == pytest.approx(2 * 4)  # RMI reference 1


def test_hypervolume_3d_by_hand():
    ref = [0.0, 10.0, 10.0]
    assert pareto.hypervolume([(2.0, 4.0, 5.0, 0.0)], ref) == pytest.approx(2 * 6 * 5)
    # boxes 2 x 6 x 5 and 1 x 8 x 2, overlapping in 1 x 6 x 2
    points = [(2.0, 4.0, 5.0, 0.0), (1.0, 2.0, 8.0, 0.0)]
    assert pareto.hypervolume(points, ref) == pytest.approx(60 + 16 - 12)
    extra = [
        (5.0, 1.0, 1.0, 0.01),
        (1.0, 5.0, 6.0, 0.0),
        (3.0, 1.0, 12.0, 0.0),
    ]  # infeasible, dominated, beyond
    assert pareto.hypervolume(points + extra, ref) == pytest.approx(64)


def sweep_2d(points, ref) -> float:
    """Exact 2-D hypervolume of the feasible points inside the reference, by a sweep over cost."""
    kept = sorted((c, r) for r, c, v in points if v == 0.0 and r > ref[0] and c < ref[1])
    volume, best = 0.0, ref[0]
    for i, (c, r) in enumerate(kept):
        best = max(best, r)
        right = kept[i + 1][0] if i + 1 < len(kept) else ref[1]
        volume += (right - c) * (best - ref[0])
    return volume


def test_hypervolume_2d_matches_a_sweep_and_grows_with_the_set():
    rng = np.random.default_rng(5)
    ref = [0.5, 3.5]
    for _ in range(20):
        points = random_points(rng, 15, 1)
        points = [
            (r + float(rng.uniform(-0.1, 0.1)), c + float(rng.uniform(-0.1, 0.1)), v) for r, c, v in points
        ]
        hv = pareto.hypervolume(points, ref)
        assert hv == pytest.approx(sweep_2d(points, ref), abs=1e-12)
        assert hv == pytest.approx(pareto.hypervolume([points[i] for i in pareto.non_dominated(points)], ref))
        assert pareto.hypervolume(points[:7], ref) <= hv + 1e-12


def test_default_reference():
    costs = [[10.0, 2.0], [30.0, 1.0], [20.0, 4.0]]
    assert pareto.default_reference(costs, 2) == pytest.approx([0.0, 33.0, 4.4])
    # a missing (NaN) cost is left out; a cost no candidate has falls back to 1 (x 1.1)
    assert pareto.default_reference([[10.0, math.nan], [math.nan, math.nan]], 2) == pytest.approx(
        [0.0, 11.0, 1.1]
    )
    assert pareto.default_reference([[10.0, math.inf]], 2) == pytest.approx([0.0, 11.0, 1.1])  # finite values only
    assert pareto.default_reference([], 2) == pytest.approx([0.0, 1.1, 1.1])  # no candidate had costs
    assert pareto.default_reference([[5.0]], 1) == pytest.approx([0.0, 5.5])
    # the reference bounds every point it was made from: each one adds volume
    points = [(1.0, *c, 0.0) for c in costs]
    ref = pareto.default_reference(costs, 2)
    assert all(pareto.hypervolume([p], ref) > 0 for p in points)


# ---- pick and parse_budgets ----------------------------------------------------------------------
def member(name: str, rmi: float | None, **costs: float) -> dict:
    return {
        "key": name,
        "rmi": rmi,
        "costs": [{"metric": k, "value": v, "budget": None} for k, v in costs.items()],
    }


FRONT = [
    member("big", 3.0, flops=40.0, params=1.2),
    member("mid", 2.5, flops=20.0, params=0.4),
    member("lean", 2.0, flops=8.0, params=0.9),
    member("tiny", 1.0, flops=3.0, params=0.1),
]


def test_pick_the_highest_rmi_within_every_budget():
    assert pareto.pick(FRONT, {"flops": 100.0})["key"] == "big"
    assert pareto.pick(FRONT, {"flops": 40.0})["key"] == "big"  # at the budget counts
    assert pareto.pick(FRONT, {"flops": 39.9})["key"] == "mid"
    assert pareto.pick(FRONT, {"flops": 10.0})["key"] == "lean"
    assert pareto.pick(FRONT, {"params": 0.5})["key"] == "mid"
    assert pareto.pick(FRONT, {"flops": 10.0, "params": 0.5})["key"] == "tiny"  # both budgets at once
    assert pareto.pick(FRONT, {"flops": 25.0, "params": 1.0})["key"] == "mid"
    chosen = pareto.pick(FRONT, {"flops": 10.0})
    assert chosen == FRONT[2] and chosen is not FRONT[2]  # a copy
    failed = [member("failed", None, flops=1.0), *FRONT]
    assert pareto.pick(failed, {"flops": 5.0})["key"] == "tiny"  # a member without an RMI is never picked


def test_pick_refuses_an_unknown_metric_a_budget_below_the_front_and_an_empty_front():
    with pytest.raises(
        ConfigError, match=r"--budget latency: not an objective of this front; give one of flops, params"
    ):
        pareto.pick(FRONT, {"latency": 5.0})
    with pytest.raises(ConfigError, match=r"flops <= 2\.5 \(cheapest on the front: 3\)") as err:
        pareto.pick(FRONT, {"flops": 2.5})
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match=r"params <= 0\.05"):
        pareto.pick(FRONT, {"flops": 50.0, "params": 0.05})
    with pytest.raises(ConfigError, match="no Pareto front"):
        pareto.pick([], {"flops": 5.0})


def test_parse_budgets():
    assert pareto.parse_budgets(["5.3"], ["flops"]) == {"flops": 5.3}
    assert pareto.parse_budgets(["flops=5.3"], ["flops"]) == {"flops": 5.3}
    assert pareto.parse_budgets(["flops=20", "params=0.5"], ["flops", "params"]) == {
        "flops": 20.0,
        "params": 0.5,
    }
    assert pareto.parse_budgets(["1e2"], ["pixel3_latency"]) == {"pixel3_latency": 100.0}


@pytest.mark.parametrize(
    "values,metrics,needle",
    [
        (["flops=1", "flops=2"], ["flops"], "--budget flops is given twice"),
        (["3", "flops=2"], ["flops"], "--budget flops is given twice"),
        (["flops=abc"], ["flops"], "--budget flops=abc: 'abc' is not a number"),
        (["abc"], ["flops"], "--budget abc: 'abc' is not a number"),
        (["flops="], ["flops"], "--budget flops=: '' is not a number"),
        (["flops=0"], ["flops"], "--budget flops=0: a budget must be > 0"),
        (["flops=-2"], ["flops"], "--budget flops=-2: a budget must be > 0"),
        (["nan"], ["flops"], "--budget nan: a budget must be > 0 and finite"),
        (["flops=inf"], ["flops"], "--budget flops=inf: a budget must be > 0 and finite"),
        (
            ["5"],
            ["flops", "params"],
            "--budget 5: the front has 2 cost objectives (flops, params); give metric=value",
        ),
        ([], ["flops"], "give at least one --budget"),
    ],
)
def test_parse_budgets_refuses(values, metrics, needle):
    with pytest.raises(ConfigError) as err:
        pareto.parse_budgets(values, metrics)
    assert needle in str(err.value) and "\n" not in str(err.value)
