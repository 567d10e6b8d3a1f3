"""The penalty variants through the whole search (config -> GA -> proxy -> evaluations.csv / results.json):
the normalized penalty's fitness on every evaluation row, and rejection sampling's feasible-only
populations, its draw count and its clear stop when no architecture meets every constraint."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from lightning_nas.config import RunConfig, parse_config
from lightning_nas.search.engine import Search
from lightning_nas.search.ga import RejectionLimitReached
from tests.conftest import shared_file, tiny_overrides

pytestmark = pytest.mark.usefixtures("one_torch_thread")

POPULATION, GENERATIONS, ELITES = 4, 2, 1
# draws a run makes when every draw is accepted: the first population, then all but the elites
ACCEPTED_DRAWS = POPULATION + (GENERATIONS - 1) * (POPULATION - ELITES)


@pytest.fixture(scope="module")
def reference_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One reference model for the module (trained by the first search, loaded by the others)."""
    return tmp_path_factory.mktemp("reference_cache")


def config(tmp: Path, reference_cache: Path, *extra: str) -> RunConfig:
    cfg, _ = parse_config([
        *tiny_overrides(tmp),
        "--reference.cache_dir", str(reference_cache),
        "--proxy.steps", "2",
        "--search.population", str(POPULATION),
        "--search.generations", str(GENERATIONS),
        "--search.elites", str(ELITES),
        "--cache.enabled", "false",
        "--run_dir", str(tmp / "run"),
        *extra,
    ])  # fmt: skip
    return cfg


def evaluation_rows(run: Path) -> list[dict[str, str]]:
    with open(run / "evaluations.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_normalized_penalty_is_the_fitness_of_every_evaluation(tmp_path, reference_cache):
    budget = 12.0  # about the median FLOPs of the space: both feasible and over-budget candidates
    cfg = config(tmp_path, reference_cache, "--cost.budget", str(budget), "--cost.normalized", "true")
    results = Search(cfg, callbacks=[]).run()
    assert results["penalty"] == "normalized"
    rows = evaluation_rows(tmp_path / "run")
    assert len(rows) == results["evaluations"] == POPULATION * GENERATIONS
    over = 0
    for row in rows:
        rmi, cost, fit = float(row["rmi"]), float(row["cost_flops"]), float(row["fitness"])
        if cost > budget:
            over += 1
            assert row["feasible"] == "False"
            assert fit == pytest.approx(rmi + (budget - cost) / budget, abs=1e-9), row
            assert fit != pytest.approx(rmi + (budget - cost), abs=1e-6)  # not the absolute penalty
        else:
            assert row["feasible"] == "True" and fit == pytest.approx(rmi, abs=1e-12), row
    assert 0 < over < len(rows), "the run must hold both branches for the check to mean anything"
    for gen, record in enumerate(results["logbook"]):  # the GA saw the same fitness values
        fits = [float(r["fitness"]) for r in rows if int(r["generation"]) == gen]
        assert record["max"] == pytest.approx(max(fits), abs=1e-9)
    for summary in [results["best"], *results["hall_of_fame"]]:  # results.json: the same rule
        expected = summary["rmi"] + min(0.0, (budget - summary["cost"]) / budget)
        assert summary["fitness"] == pytest.approx(expected, abs=1e-9), summary


def test_rejection_evaluates_only_feasible_candidates(tmp_path, reference_cache):
    budget = 3.0  # tight: only a few percent of NB201 fits, yet above the cheapest architecture
    cfg = config(
        tmp_path, reference_cache, "--cost.budget", str(budget), "--search.constraint_handling", "rejection"
    )
    search = Search(cfg, callbacks=[])
    flops = np.array([search.space.complexity(g)[0] for g in search.space.enumerate()])
    assert 0 < (flops <= budget).mean() < 0.15, "the budget must reject most random samples"
    results = search.run()
    rows = evaluation_rows(tmp_path / "run")
    assert len(rows) == results["evaluations"] == POPULATION * GENERATIONS
    assert all(row["feasible"] == "True" and float(row["cost_flops"]) <= budget for row in rows)
    assert all(float(row["fitness"]) == float(row["rmi"]) for row in rows)  # feasible: no penalty
    assert results["constraint_handling"] == "rejection" and results["feasible"] is True
    assert results["samples_drawn"] >= results["evaluations"]
    assert results["samples_drawn"] > ACCEPTED_DRAWS  # some draws were rejected and drawn again
    assert results["logbook"][-1]["draws"] == results["samples_drawn"]


def test_rejection_stops_clearly_when_no_architecture_meets_every_constraint(tmp_path, reference_cache):
    """Each HW-NAS-Bench budget alone is met (the cheapest on its device), both together by none: only
    the draws can find out, and they stop at max_rejection_draws before anything is trained."""
    path = shared_file("hw-nas-bench", "nb201_hw_metrics.csv.gz")
    from lightning_nas.tables.hw_nas_bench import HWNASBenchTable

    table = HWNASBenchTable.load(path)
    pixel3, edgegpu = table.get("cifar10", "pixel3_latency"), table.get("cifar10", "edgegpu_latency")
    b1, b2 = float(np.nanmin(pixel3)), float(np.nanmin(edgegpu))
    assert not ((pixel3 <= b1) & (edgegpu <= b2)).any()
    extra = json.dumps(
        [{"metric": "edgegpu_latency", "budget": b2, "table": str(path), "dataset": "cifar10"}]
    )
    cfg = config(
        tmp_path, reference_cache,
        "--cost.metric", "pixel3_latency", "--cost.budget", repr(b1), "--cost.table", str(path),
        "--cost.dataset", "cifar10", "--cost.extra", extra,
        "--search.constraint_handling", "rejection", "--search.max_rejection_draws", "300",
    )  # fmt: skip
    with pytest.raises(
        RejectionLimitReached, match=r"max_rejection_draws = 300 draws .* generation 1's population"
    ):
        Search(cfg, callbacks=[]).run()
    run = tmp_path / "run"
    assert not (run / "results.json").exists() and not (run / "evaluations.csv").exists()
