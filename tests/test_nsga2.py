"""NSGA-II (search.algorithm nsga2): the algorithm on synthetic objectives over the real NB201 space, whose
true front is known by brute force over all 15625 genotypes, and on a four-genotype toy space; then
whole searches through `python -m lightning_nas.search` (digits, NB201 C4/N1 and the OFA space, 2 proxy
steps): pareto.csv and results.json, the front over evaluations.csv, two cost objectives, a failed
candidate, resume after a kill, and the one-line refusals of bad NSGA-II settings."""

from __future__ import annotations

import csv
import functools
import json
import math
import os
import random
import signal
from pathlib import Path

import numpy as np
import pytest

from lightning_nas.config import GAConfig
from lightning_nas.errors import ConfigError
from lightning_nas.search import pareto
from lightning_nas.search.deap_types import pareto_point
from lightning_nas.search.nsga2 import NSGA2
from lightning_nas.spaces.nb201.space import NB201Space
from tests.conftest import REPO
from tests.reliability.runs import assert_same_results, copy_run, one_error_line, run_main, search_args, spawn
from tests.run_fixtures import rows_of

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# ---- synthetic objectives over NB201 ------------------------------------------------------------
# cost: the sum of a random per-(edge, op) price; RMI: a concave, noisy function of the same prices, so
# the two conflict (a cheaper op usually scores lower) and the front is a staircase of ~70 genotypes.
_tables = np.random.default_rng(1)
PRICE = _tables.uniform(0.0, 1.0, size=(6, 5))
GAIN = np.sqrt(PRICE) + 0.3 * _tables.uniform(0.0, 1.0, size=(6, 5))
EDGES = np.arange(6)


def synthetic(genotype, budget: float | None = None) -> tuple[float, float, float]:
    """(RMI, cost, violation) of an NB201 genotype."""
    ops = np.asarray(genotype)
    cost = float(PRICE[EDGES, ops].sum())
    return float(GAIN[EDGES, ops].sum()), cost, pareto.violation([cost], [budget])


def synthetic_2costs(genotype) -> tuple[float, float, float, float]:
    """A second cost that disagrees with the first: more expensive for the ops the first finds cheap."""
    rmi, cost, _ = synthetic(genotype)
    return rmi, cost, float(sum((4 - op) * (1 + i % 3) for i, op in enumerate(genotype))), 0.0


@functools.cache
def space_table() -> tuple[list, np.ndarray, np.ndarray]:
    """Every NB201 genotype with its synthetic RMI and cost."""
    genotypes = list(NB201Space().enumerate())
    ops = np.array(genotypes)
    rmi = GAIN[EDGES, ops].sum(axis=1)
    cost = PRICE[EDGES, ops].sum(axis=1)
    assert len(genotypes) == 5**6
    return genotypes, rmi, cost


@functools.cache
def true_front() -> tuple[frozenset, list[tuple[float, float, float]]]:
    """The genotypes and points of the exact RMI-cost front (brute force: cheapest first, keep each one
    that beats every cheaper one's RMI; the values are continuous, so there are no ties)."""
    genotypes, rmi, cost = space_table()
    members, best = [], -math.inf
    for i in np.lexsort((-rmi, cost)):
        if rmi[i] > best:
            members.append(i)
            best = rmi[i]
    return frozenset(genotypes[i] for i in members), [(float(rmi[i]), float(cost[i]), 0.0) for i in members]


class Recorder:
    """An `evaluate` that computes `objective(g)` and remembers every distinct genotype it was asked for."""

    def __init__(self, objective=synthetic) -> None:
        self.objective = objective
        self.seen: dict = {}
        self.calls: list[int] = []

    def __call__(self, genotypes, generation):
        self.calls.append(generation)
        points = [self.objective(g) for g in genotypes]
        self.seen.update(zip(genotypes, points, strict=True))
        return points


def front_of(state) -> dict:
    return dict(state.hall_of_fame)


def assert_front_of_everything_evaluated(front: dict, seen: dict) -> None:
    """The front is exactly the non-dominated set of the distinct evaluated candidates: mutually
    non-dominated, nothing evaluated dominates a member, and every non-dominated candidate is in it."""
    genotypes, points = list(seen), list(seen.values())
    expected = {genotypes[i] for i in pareto.non_dominated(points)}
    assert set(front) == expected
    assert len(front) == len(set(front))  # each genotype once
    members = list(front.values())
    for a in members:
        assert not any(pareto.dominates(b, a) for b in members)
        assert not any(pareto.dominates(p, a) for p in points)
    for g, p in front.items():
        assert seen[g] == p  # the front carries the point evaluated


def nadir_hypervolume(points) -> float:
    """Hypervolume w.r.t. the true front's nadir (its lowest RMI, its highest cost): only the part of
    the objective space where the front lies counts, so missed front members show."""
    _, exact = true_front()
    ref = [min(p[0] for p in exact) - 1e-9, max(p[1] for p in exact) + 1e-9]
    return pareto.hypervolume(points, ref)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_finds_most_of_the_known_front(seed):
    members, exact = true_front()
    evaluate = Recorder()
    state, parents, front = NSGA2(NB201Space(), GAConfig(population=20, generations=30), evaluate).run(
        random.Random(seed)
    )
    found = front_of(state)
    assert [pareto_point(ind) for ind in front] == list(found.values())
    assert_front_of_everything_evaluated(found, evaluate.seen)
    seen = list(evaluate.seen.values())
    cheapest = min(evaluate.seen, key=lambda g: evaluate.seen[g][1])
    best_rmi = max(evaluate.seen, key=lambda g: evaluate.seen[g][0])
    assert cheapest in found and best_rmi in found
    # it covers most of the true front: 0.97-0.99 of the hypervolume measured over seeds 0-7, where random
    # sampling with 600 draws gets 0.89-0.92
    ratio = nadir_hypervolume(list(found.values())) / nadir_hypervolume(exact)
    assert ratio >= 0.95, ratio
    sampler = random.Random(100 + seed)
    genotypes = space_table()[0]
    drawn = [synthetic(genotypes[sampler.randrange(len(genotypes))]) for _ in range(len(seen))]
    assert ratio > nadir_hypervolume(drawn) / nadir_hypervolume(exact)  # better than as many random draws
    assert len(set(found) & members) >= 15  # true front members themselves (23-39 measured)
    # the run's bookkeeping
    assert len(parents) == 20 and evaluate.calls == list(range(30))
    assert [r["gen"] for r in state.logbook] == list(range(30))
    assert all(r["nevals"] == 20 for r in state.logbook)
    assert [r["draws"] for r in state.logbook] == [20 * (g + 1) for g in range(30)]
    assert state.generation == 30 and state.population == []
    last = state.logbook[-1]
    assert last["front_size"] == last["feasible_front"] == len(found)
    assert last["hypervolume"] == pytest.approx(pareto.hypervolume(list(found.values()), state.hv_reference))


def first_generation_costs(seed: int, population: int) -> list[list[float]]:
    rng = random.Random(seed)
    return [[synthetic(NB201Space().sample(rng))[1]] for _ in range(population)]


@pytest.mark.parametrize("reference", [None, [1.0, 4.5]])
def test_hypervolume_never_decreases_and_its_reference_stays_fixed(reference):
    state, _, _ = NSGA2(
        NB201Space(), GAConfig(population=8, generations=25), Recorder(), reference=reference
    ).run(random.Random(4))
    volumes = [r["hypervolume"] for r in state.logbook]
    assert volumes == sorted(volumes) and volumes[-1] > volumes[0] > 0
    expected = reference or pareto.default_reference(first_generation_costs(4, 8), 1)
    assert state.hv_reference == pytest.approx(expected)


@pytest.mark.parametrize("population", [2, 5, 7, 9])
def test_population_sizes_that_are_not_a_multiple_of_four(population):
    evaluate = Recorder()
    cfg = GAConfig(population=population, generations=6)
    assert cfg.tournament_size > 2  # population 2: the tournament draws with replacement
    state, parents, _ = NSGA2(NB201Space(), cfg, evaluate).run(random.Random(population))
    assert len(parents) == population and len({ind.genotype for ind in parents}) == population
    assert [r["nevals"] for r in state.logbook] == [population] * 6
    assert state.draws == population * 6
    assert len(evaluate.seen) > population  # it bred new candidates
    assert_front_of_everything_evaluated(front_of(state), evaluate.seen)


def test_same_seed_same_front_other_seed_other_front():
    def run(seed):
        return NSGA2(NB201Space(), GAConfig(population=10, generations=8), Recorder()).run(
            random.Random(seed)
        )[0]

    a, b, c = run(11), run(11), run(12)
    assert a.hall_of_fame == b.hall_of_fame and a.logbook == b.logbook and a.evaluated == b.evaluated
    assert a.hall_of_fame != c.hall_of_fame


def test_resuming_from_any_generations_state_gives_the_same_front_and_logbook():
    cfg = GAConfig(population=7, generations=8)
    states = []
    full, full_parents, _ = NSGA2(
        NB201Space(), cfg, Recorder(), on_generation=lambda s, *_: states.append(s)
    ).run(random.Random(5))
    assert len(states) == 8 and states[-1].hall_of_fame == full.hall_of_fame
    for k in (0, 3, 6):  # as if killed after generation k + 1
        evaluate = Recorder()
        resumed, parents, front = NSGA2(NB201Space(), cfg, evaluate).run(random.Random(999), states[k])
        assert evaluate.calls == list(range(k + 1, 8))  # only the generations not yet done
        assert resumed.hall_of_fame == full.hall_of_fame
        assert resumed.logbook == full.logbook
        assert resumed.evaluated == full.evaluated and resumed.hv_reference == full.hv_reference
        assert [ind.genotype for ind in parents] == [ind.genotype for ind in full_parents]


def test_a_finished_run_continued_with_more_generations_equals_the_longer_run():
    states = []
    NSGA2(
        NB201Space(),
        GAConfig(population=6, generations=4),
        Recorder(),
        on_generation=lambda s, *_: states.append(s),
    ).run(random.Random(8))
    assert states[-1].population == []  # the last generation breeds no children
    continued = NSGA2(NB201Space(), GAConfig(population=6, generations=9), Recorder()).run(
        random.Random(0), states[-1]
    )[0]
    longer = NSGA2(NB201Space(), GAConfig(population=6, generations=9), Recorder()).run(random.Random(8))[0]
    assert continued.logbook == longer.logbook and continued.hall_of_fame == longer.hall_of_fame


def tied(genotype) -> tuple[float, float, float]:
    """Coarse objectives: many distinct genotypes share the same (RMI, cost)."""
    return (
        float(sum(op == 3 for op in genotype) + 0.5 * sum(op == 2 for op in genotype)),
        float(sum(genotype)),
        0.0,
    )


def test_resuming_keeps_the_order_of_front_members_with_equal_objectives():
    """PRODUCT BUG (reported): the front is rebuilt on resume by inserting `state.hall_of_fame` in its stored
    order, and DEAP's HallOfFame puts each newcomer before its equals, so members with equal objective
    values come back reversed: results.json `pareto_front` / pareto.csv (highest RMI first, ties in front
    order) then differ from the uninterrupted run's (lightning_nas.search.compare counts the order)."""
    cfg = GAConfig(population=6, generations=8)
    states = []
    full = NSGA2(NB201Space(), cfg, Recorder(tied), on_generation=lambda s, *_: states.append(s)).run(
        random.Random(1)
    )[0]
    values = [p for _, p in full.hall_of_fame]
    assert len(set(values)) < len(values), "the check needs front members with equal objective values"
    resumed = NSGA2(NB201Space(), cfg, Recorder(tied)).run(random.Random(1), states[3])[0]
    assert sorted(resumed.hall_of_fame) == sorted(full.hall_of_fame)  # the same members...
    assert resumed.hall_of_fame == full.hall_of_fame  # ...in the same order


def test_a_hard_budget_keeps_the_front_feasible_once_a_feasible_candidate_was_evaluated():
    budget = 1.3  # about 1% of NB201 under the synthetic cost
    _, _, cost = space_table()
    assert 0 < (cost <= budget).mean() < 0.02
    evaluate = Recorder(functools.partial(synthetic, budget=budget))
    seen_by_generation = []

    def check(state, offspring, record):
        any_feasible = any(p[-1] == 0.0 for p in evaluate.seen.values())
        front = front_of(state)
        seen_by_generation.append(any_feasible)
        assert record["front_size"] == len(front)
        assert record["feasible_front"] == sum(p[-1] == 0.0 for p in front.values())
        if any_feasible:
            assert all(p[-1] == 0.0 for p in front.values()), front
            assert record["hypervolume"] > 0
        else:  # nothing fits yet: the least violation leads
            least = min(p[-1] for p in evaluate.seen.values())
            assert all(p[-1] == least for p in front.values()) and record["hypervolume"] == 0.0
        assert_front_of_everything_evaluated(front, evaluate.seen)

    cfg = GAConfig(population=10, generations=20)
    state, parents, _ = NSGA2(NB201Space(), cfg, evaluate, on_generation=check).run(random.Random(3))
    assert seen_by_generation[0] is False and seen_by_generation[-1] is True, (
        "the run must cross from none to some"
    )
    assert all(synthetic(g)[1] <= budget for g in front_of(state))
    volumes = [r["hypervolume"] for r in state.logbook]
    assert volumes == sorted(volumes)
    # the budget drives the search: the survivors end up within it, unlike an unconstrained run's
    assert sum(ind.fitness.violation == 0.0 for ind in parents) >= 3


def test_two_cost_objectives():
    evaluate = Recorder(synthetic_2costs)
    state, _, front = NSGA2(NB201Space(), GAConfig(population=12, generations=10), evaluate).run(
        random.Random(2)
    )
    assert all(len(ind.fitness.values) == 3 and ind.fitness.weights == (1.0, -1.0, -1.0) for ind in front)
    assert_front_of_everything_evaluated(front_of(state), evaluate.seen)
    assert len(state.hv_reference) == 3
    volumes = [r["hypervolume"] for r in state.logbook]
    assert volumes == sorted(volumes) and volumes[-1] > 0


def test_candidates_without_a_score_never_reach_the_front():
    def some_fail(genotype):
        rmi, cost, _ = synthetic(genotype)
        failed = genotype[0] == 3  # a fifth of the space cannot be scored
        return pareto.objective_point(None if failed else rmi, [cost], [None])

    evaluate = Recorder(some_fail)
    state, _, _ = NSGA2(NB201Space(), GAConfig(population=10, generations=6), evaluate).run(random.Random(0))
    assert any(g[0] == 3 for g in evaluate.seen), "some evaluated candidate must have failed"
    assert all(g[0] != 3 for g in front_of(state))
    assert_front_of_everything_evaluated(front_of(state), evaluate.seen)


class FourGenotypes:
    """A toy space (genotypes 0..3) that implements what the search loop uses of the SearchSpace
    protocol: fewer distinct genotypes than the population."""

    name, benchmark = "toy4", None

    def sample(self, rng):
        return rng.randrange(4)

    def mutate(self, genotype, rng, rate):
        return rng.randrange(4) if rng.random() < rate else genotype

    def crossover(self, a, b, rng):
        return b, a


def test_a_space_smaller_than_the_population():
    # a pure trade-off: every genotype is on the front
    evaluate = Recorder(lambda g: (float(g), float(g), 0.0))
    cfg = GAConfig(population=7, generations=12, mutation_rate=0.5)
    state, parents, _ = NSGA2(FourGenotypes(), cfg, evaluate).run(random.Random(0))
    assert len(parents) == 7 and {ind.genotype for ind in parents} == set(range(4))  # copies fill the rest
    assert sorted(g for g, _ in state.hall_of_fame) == [0, 1, 2, 3]  # each once, however often evaluated


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"algorithm": "nsga3"}, "unknown search.algorithm 'nsga3'; valid: ga, nsga2"),
        ({"constraint_handling": "rejection"}, "rejection works with search.algorithm ga only"),
        ({"hv_reference": [0.0, math.nan]}, "search.hv_reference must be finite numbers"),
        ({"hv_reference": [True, 1.0]}, "search.hv_reference must be finite numbers"),
    ],
)
def test_bad_nsga2_settings(kwargs, match):
    from lightning_nas.settings import check_search

    with pytest.raises(ConfigError, match=match):  # checked once per command, with the rest of the config
        check_search(GAConfig(**{"algorithm": "nsga2", **kwargs}))


# ---- whole searches through the CLI -------------------------------------------------------------
NSGA2_TINY = [
    "--search.algorithm",
    "nsga2",
    "--search.population",
    "5",
    "--search.generations",
    "3",
    "--proxy.steps",
    "2",
]


def nsga2_args(root: Path, run: Path, *extra: str) -> list[str]:
    """The tiny search (digits, NB201 C4/N1, one torch thread, reference and score caches under root) as
    an NSGA-II run of population 5 x 3 generations with 2 proxy steps."""
    return [*search_args(root, *NSGA2_TINY), "--run_dir", str(run), *extra]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, one_torch_thread) -> Path:
    """`full`: 3 generations, no budget (flops); `short`: its first 2 generations; `two`: flops within 12
    and params (no budget), one generation-0 candidate failing every attempt, an explicit reference."""
    root = tmp_path_factory.mktemp("nsga2_runs")
    assert run_main(*nsga2_args(root, root / "full", "--cost.budget", "null")) == 0
    assert (
        run_main(*nsga2_args(root, root / "short", "--cost.budget", "null", "--search.generations", "2")) == 0
    )
    failing = NB201Space().key(
        NB201Space().sample(random.Random(0))
    )  # generation 0's first candidate (seed 0)
    faults = root / "faults.json"
    faults.write_text(json.dumps({failing: {"fault": "raise"}}))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LIGHTNING_NAS_FAULTS", str(faults))
        two = nsga2_args(
            root, root / "two", "--cost.budget", "12", "--cost.extra", "[{metric: params, budget: null}]",
            "--search.hv_reference", "[0, 40, 2]", "--cache.enabled", "false",  # the fault acts on training
        )  # fmt: skip
        assert run_main(*two) == 0
    (root / "failing_key").write_text(failing)
    return root


def pareto_rows(run: Path) -> list[dict[str, str]]:
    with open(run / "pareto.csv", newline="") as f:
        return list(csv.DictReader(f))


def evaluated_points(run: Path, metrics: list[str], budgets: list[float | None]) -> dict[str, tuple]:
    """{key: (RMI, costs..., violation)} of every distinct evaluation in evaluations.csv."""
    points = {}
    with open(run / "evaluations.csv", newline="") as f:
        for row in csv.DictReader(f):
            rmi = float(row["rmi"]) if row["rmi"] not in ("", "None", "nan") else None
            costs = [float(row[f"cost_{m}"]) for m in metrics]
            points[row["key"]] = pareto.objective_point(rmi, costs, budgets)
    return points


def results_of(run: Path) -> dict:
    return json.loads((run / "results.json").read_text())


def check_front_files(run: Path, metrics: list[str], budgets: list[float | None]) -> tuple[list[dict], dict]:
    """pareto.csv and results.json agree, and the front is the non-dominated set of everything evaluated."""
    results = results_of(run)
    rows, front = pareto_rows(run), results["pareto_front"]
    assert results["algorithm"] == "nsga2" and results["constraint_handling"] == "constrained domination"
    assert list(rows[0]) == [
        "genotype",
        "key",
        "arch_str",
        "nb201_index",
        "rmi",
        *(f"cost_{m}" for m in metrics),
        "feasible",
    ]
    assert [r["key"] for r in rows] == [m["key"] for m in front]
    for row, member in zip(rows, front, strict=True):
        assert json.loads(row["genotype"]) == member["genotype"]
        assert float(row["rmi"]) == pytest.approx(member["rmi"], abs=1e-12)
        assert row["feasible"] == str(member["feasible"])
        assert [c["metric"] for c in member["costs"]] == metrics and [
            c["budget"] for c in member["costs"]
        ] == budgets
        for c in member["costs"]:
            assert float(row[f"cost_{c['metric']}"]) == pytest.approx(c["value"], abs=1e-12)
    assert [m["rmi"] for m in front] == sorted((m["rmi"] for m in front), reverse=True)  # highest RMI first
    points = evaluated_points(run, metrics, budgets)
    keys = list(points)
    assert {r["key"] for r in rows} == {keys[i] for i in pareto.non_dominated(list(points.values()))}
    on_front = [points[r["key"]] for r in rows]
    assert not any(pareto.dominates(a, b) for a in on_front for b in on_front)
    assert results["hv_reference"] is not None and len(results["hv_reference"]) == 1 + len(metrics)
    assert results["hypervolume"] == pytest.approx(
        pareto.hypervolume(on_front, results["hv_reference"]), rel=1e-9
    )
    volumes = [r["hypervolume"] for r in results["logbook"]]
    assert volumes == sorted(volumes) and results["logbook"][-1]["front_size"] == len(rows)
    return rows, points


def test_the_front_files_of_a_run_without_a_budget(runs):
    run = runs / "full"
    rows, points = check_front_files(run, ["flops"], [None])
    results = results_of(run)
    assert results["budget"] is None and results["evaluations"] == 15 and len(results["logbook"]) == 3
    # one member where a single arch is both the cheapest and the best (the RMIs come from training on this
    # CPU, so the front's size is not fixed: on an AMD EPYC the highest-RMI arch is also the cheapest)
    assert len(rows) >= 1 and all(r["feasible"] == "True" for r in rows)
    # the cheapest (of equal FLOPs, which NB201 has many of, the highest RMI) and the highest-RMI candidate
    cheapest = min(points, key=lambda k: (points[k][1], -points[k][0]))
    best_rmi = max(points, key=lambda k: (points[k][0], -points[k][1]))
    assert {cheapest, best_rmi} <= {r["key"] for r in rows}
    assert results["best"]["key"] == best_rmi  # no budget: the answer is the highest-RMI member
    # the default reference: RMI 0 and 1.1 x the largest cost of the first generation
    gen0 = [r for r in rows_of(run) if r["generation"] == 0]
    assert results["hv_reference"] == pytest.approx([0.0, 1.1 * max(r["cost_flops"] for r in gen0)])


def test_two_cost_objectives_a_budget_and_a_failed_candidate(runs):
    run = runs / "two"
    rows, points = check_front_files(run, ["flops", "params"], [12.0, None])
    results = results_of(run)
    failing = (runs / "failing_key").read_text()
    assert points[failing][-1] == math.inf  # it failed (RMI None) ...
    assert failing not in {r["key"] for r in rows}  # ... and is not on the front
    feasible = [k for k, p in points.items() if p[-1] == 0.0]
    assert feasible and len(feasible) < len(points), (
        "the run must hold candidates on both sides of the budget"
    )
    assert all(r["feasible"] == "True" and float(r["cost_flops"]) <= 12.0 for r in rows)
    assert results["hv_reference"] == [0.0, 40.0, 2.0]
    best = max(rows, key=lambda r: float(r["rmi"]))
    assert results["best"]["key"] == best["key"] and results["feasible"] is True


def test_a_run_continued_to_more_generations_equals_the_uninterrupted_run(runs, tmp_path):
    run = copy_run(runs / "short", tmp_path / "short")
    assert len(results_of(run)["logbook"]) == 2
    assert run_main("--resume", str(run), "--search.generations", "3") == 0
    assert_same_results(run, runs / "full")
    assert pareto_rows(run) == pareto_rows(runs / "full")


@pytest.mark.parametrize("generation", [0, 2], ids=["killed-in-generation-0", "killed-after-generation-1"])
def test_a_killed_run_resumes_to_the_same_front(runs, tmp_path, generation):
    """Killed (SIGKILL) while training a candidate: in generation 0 (no checkpoint yet: the resume replays
    from the seed with the two scores recorded) or in generation 2 (the checkpoint after generation 1)."""
    rows = rows_of(runs / "full")
    earlier = {r["key"] for r in rows if r["generation"] < generation}
    new = [r["key"] for r in rows if r["generation"] == generation and r["key"] not in earlier]
    victim = new[2] if generation == 0 else new[0]
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps({victim: {"fault": "kill", "times": 1}}))
    killed = tmp_path / "killed"
    argv = nsga2_args(runs, killed, "--cost.budget", "null", "--cache.enabled", "false")
    proc = spawn(*argv, env={**os.environ, "LIGHTNING_NAS_FAULTS": str(faults)})
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL, err[-2000:]
    assert not (killed / "pareto.csv").exists() and not (killed / "results.json").exists()
    if generation == 0:
        assert not (killed / "checkpoint.json").exists()
    else:
        assert json.loads((killed / "checkpoint.json").read_text())["generation"] == 2
    assert run_main("--resume", str(killed)) == 0
    assert_same_results(killed, runs / "full")
    assert pareto_rows(killed) == pareto_rows(runs / "full")


def test_the_ofa_space_with_nsga2(tmp_path):
    from lightning_nas.spaces.ofa_mbv3.space import OFAMobileNetV3Space

    run = tmp_path / "ofa"
    code = run_main(
        "--config", str(REPO / "configs" / "ofa_tiny.yaml"), "--search.algorithm", "nsga2", "--threads", "1",
        "--reference.cache_dir", str(tmp_path / "cache"), "--runs_root", str(tmp_path / "runs"),
        "--tb_logs", str(tmp_path / "tb"), "--run_dir", str(run),
    )  # fmt: skip
    assert code == 0
    results = results_of(run)
    assert results["algorithm"] == "nsga2" and results["budget"] == 4.0 and results["evaluations"] == 8
    rows = pareto_rows(run)
    assert list(rows[0]) == ["genotype", "key", "rmi", "cost_flops", "feasible"]  # no NB201 identifiers
    points = evaluated_points(run, ["flops"], [4.0])
    keys = list(points)
    assert {r["key"] for r in rows} == {keys[i] for i in pareto.non_dominated(list(points.values()))}
    space = OFAMobileNetV3Space(num_classes=10, resolution=16)
    for row in rows:
        genotype = space.from_json(json.loads(row["genotype"]))
        assert space.key(genotype) == row["key"]
        assert float(row["cost_flops"]) == pytest.approx(space.complexity(genotype)[0])
    assert 0 < sum(p[-1] == 0.0 for p in points.values()) < len(points), (
        "candidates on both sides of the budget"
    )
    assert all(r["feasible"] == "True" for r in rows)


@pytest.fixture(scope="module")
def cheapest_flops(tmp_path_factory: pytest.TempPathFactory) -> float:
    """The cheapest NB201 architecture's FLOPs at the tiny config (the full-size network costs)."""
    from lightning_nas.config import parse_config
    from lightning_nas.pipeline import build_problem

    cfg, _ = parse_config(search_args(tmp_path_factory.mktemp("cheapest"), "--search.algorithm", "nsga2"))
    lowest = build_problem(cfg).objectives[0].model.minimum()
    assert lowest is not None and lowest > 0
    return lowest


@pytest.mark.parametrize(
    "extra,needles",
    [
        (["--search.algorithm", "nsga3"], ["search.algorithm", "'nsga3'"]),
        (["--search.algorithm", "nsga2", "--search.constraint_handling", "rejection"], ["constraint_handling rejection"]),
        (["--cost.budget", "null"], ["cost.budget is null"]),  # the GA needs a budget
        (["--search.algorithm", "nsga2", "--cost.extra", "[{metric: flops, budget: null}]"], ["flops is given more than once"]),
        (["--search.algorithm", "nsga2", "--search.hv_reference", "[0, 40, 1]"], ["search.hv_reference has 3 value(s); give 2"]),
        (["--search.algorithm", "nsga2", "--search.hv_reference", "[0]"], ["search.hv_reference has 1 value(s); give 2"]),
        (["--search.algorithm", "nsga2", "--search.hv_reference", "[3, 40]"], ["search.hv_reference RMI 3 "]),
        (["--search.algorithm", "nsga2", "--search.hv_reference", "[-0.5, 40]"], ["search.hv_reference RMI -0.5 "]),
        (["--search.algorithm", "nsga2", "--search.hv_reference", "[0, {cheapest}]"], ["search.hv_reference flops {cheapest:g} "]),
        (["--search.algorithm", "nsga2", "--search.hv_reference", "[0, 0.01]"], ["search.hv_reference flops 0.01 "]),
    ],
    ids=["unknown-algorithm", "rejection", "null-budget-ga", "duplicate-metric", "reference-too-long", "reference-too-short",
         "reference-rmi-taps", "reference-rmi-negative", "reference-at-cheapest", "reference-below-cheapest"],
)  # fmt: skip
def test_bad_nsga2_input_is_one_error_line_exit_2(extra, needles, cheapest_flops, tmp_path, capfd):
    extra = [a.replace("{cheapest}", repr(cheapest_flops)) for a in extra]
    needles = [n.replace("{cheapest:g}", f"{cheapest_flops:g}") for n in needles]
    capfd.readouterr()
    code = run_main(
        *search_args(tmp_path, "--search.generations", "1", "--run_dir", str(tmp_path / "run")), *extra
    )
    _, err = capfd.readouterr()
    assert code == 2, err[-2000:]
    one_error_line(err, *needles)
    assert not (tmp_path / "run").exists()
