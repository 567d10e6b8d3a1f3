"""benchmarks/pareto_vs_single.py (one NSGA-II run vs single-budget GA runs): its pure parts, and the
tiny profile end to end (CIFAR-10 JPEGs and tables from ../shared, real 2-step proxy trainings; well
under a minute on a 2-core CPU)."""

from __future__ import annotations

import csv
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, shared_file

sys.path.insert(0, str(REPO / "benchmarks"))

import pareto_vs_single  # noqa: E402

LAST_LINE = re.compile(
    r"^eval_ratio=(\d+\.\d{4}) mean_gap_pp=(-?\d+\.\d{4}|nan) front_regret_pp=(-?\d+\.\d{4}|nan) "
    r"single_regret_pp=(-?\d+\.\d{4}|nan)$"
)


def _pick(seed: int, pct: int, front: float, single: float, optimum: float = 94.0, **kw) -> dict:
    return {"seed": seed, "percentile": pct, "budget": float(pct), "optimum": optimum, "front_acc": front,
            "single_acc": single, "max_flops_acc": 93.0, "gap_pp": single - front, "front_regret_pp": optimum - front,
            "single_regret_pp": optimum - single, "max_flops_regret_pp": optimum - 93.0,
            "front_missing": math.isnan(front), "front_feasible": not math.isnan(front), "single_feasible": True,
            "single_best_feasible": kw.get("best_feasible", True)}  # fmt: skip


def _run(algorithm: str, evaluations: int, unique: int, trained: int) -> dict:
    return {
        "algorithm": algorithm,
        "evaluations": evaluations,
        "unique_evaluations": unique,
        "trained": trained,
        "wall_s": 1.0,
    }


def test_single_answer_falls_back_to_best_feasible() -> None:
    best, other = {"feasible": True, "rmi": 2.0}, {"feasible": True, "rmi": 1.0}
    assert pareto_vs_single.single_answer({"best": best}) == (best, "best")
    over = {"feasible": False, "rmi": 2.5}
    assert pareto_vs_single.single_answer({"best": over, "best_feasible": other}) == (other, "best_feasible")
    assert pareto_vs_single.single_answer({"best": over})[1] == "best (infeasible, no feasible candidate)"


def test_headline_ratios_gaps_and_goals() -> None:
    runs = [_run("nsga2", 16, 12, 12)] + [_run("ga", 16, 10, 4) for _ in range(9)]
    picks = [_pick(0, 10, 93.0, 93.1), _pick(0, 20, 93.5, 93.2), _pick(0, 30, math.nan, 92.0)]
    h = pareto_vs_single.headline(runs, picks, {0: {"nsga2": 12, "ga_union": 40, "ga_beyond_nsga2": 33}})
    assert h["eval_ratio"] == pytest.approx(16 / 144) and h["goal_eval_ratio"]["met"]
    assert h["unique_ratio"] == pytest.approx(12 / 40) and h["ga_unique_sum"] == 90 and h["ga_trained"] == 36
    assert h["ga_beyond_nsga2"] == 33
    assert h["mean_gap_pp"] == pytest.approx(-0.1) and h["mean_abs_gap_pp"] == pytest.approx(
        0.2
    )  # NaN pick left out
    assert h["front_missing"] == 1 and not h["goal_gap"]["met"]  # a missing pick misses the goal
    assert (h["front_better"], h["single_better"], h["ties"]) == (1, 1, 0)
    assert h["front_regret_pp"] == pytest.approx(0.75) and h["single_regret_pp"] == pytest.approx(
        (0.8 + 0.9 + 2.0) / 3
    )
    lines = pareto_vs_single.goal_lines(h)
    assert (
        "**met**" in lines[0]
        and "**missed**" in lines[1]
        and "1 of 3 budgets had no front member" in lines[1]
    )
    ok = pareto_vs_single.headline(runs, picks[:2], {0: {"nsga2": 12, "ga_union": 40, "ga_beyond_nsga2": 33}})
    assert ok["goal_gap"]["met"] and "**met**" in pareto_vs_single.goal_lines(ok)[1]
    costly = pareto_vs_single.headline(
        [_run("nsga2", 64, 40, 40), _run("ga", 64, 30, 30)],
        picks[:2],
        {0: {"nsga2": 40, "ga_union": 30, "ga_beyond_nsga2": 0}},
    )
    assert not costly["goal_eval_ratio"]["met"] and "**missed**" in pareto_vs_single.goal_lines(costly)[0]


def test_per_budget_means_over_seeds() -> None:
    picks = [
        _pick(0, 10, 93.0, 93.2),
        _pick(1, 10, 92.0, 93.0, best_feasible=False),
        _pick(0, 20, math.nan, 92.0),
    ]
    rows = pareto_vs_single.per_budget(picks)
    assert [r["percentile"] for r in rows] == [10, 20]
    assert rows[0]["front_acc"] == pytest.approx(92.5) and rows[0]["gap_pp"] == pytest.approx(0.6)
    assert rows[0]["single_best_feasible"] == 1 and rows[0]["seeds"] == 2
    assert rows[1]["front_missing"] == 1 and math.isnan(rows[1]["front_acc"])


@pytest.mark.slow  # ~35 s: the benchmark's pure parts are tested above; the default run stays near 15 min
def test_tiny_profile_end_to_end(tmp_path: Path) -> None:
    shared_file("cifar10", "cifar10-jpg.tar.gz")
    out = tmp_path / "p"
    argv = [
        "--profile",
        "tiny",
        "--threads",
        "1",
        "--cache_path",
        str(tmp_path / "c.sqlite"),
        "--out",
        str(out),
    ]
    run = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "pareto_vs_single.py"), *argv],
        capture_output=True, text=True, timeout=600, cwd=REPO,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    last = run.stdout.strip().splitlines()[-1]
    match = LAST_LINE.match(last)
    assert match, last

    def rows(name: str) -> list[dict]:
        with open(out / name) as f:
            return list(csv.DictReader(f))

    runs, picks, summary, front = rows("runs.csv"), rows("picks.csv"), rows("summary.csv"), rows("front.csv")
    assert [r["algorithm"] for r in runs] == ["nsga2", "ga", "ga", "ga"]
    assert {"evaluations", "unique_evaluations", "trained", "persistent_cache_hits", "wall_s"} <= set(runs[0])
    assert all(int(r["evaluations"]) == 4 * 2 for r in runs)  # every run: population 4 x 2 generations
    assert [r["percentile"] for r in picks] == ["25", "50", "75"] and [r["percentile"] for r in summary] == [
        "25",
        "50",
        "75",
    ]
    need = {"budget", "optimum", "front_acc", "single_acc", "max_flops_acc", "gap_pp", "front_regret_pp",
            "single_regret_pp", "front_missing", "single_feasible", "single_best_feasible", "single_source"}  # fmt: skip
    assert need <= set(picks[0]) and need - {"single_source"} <= set(summary[0])
    budgets = [float(r["budget"]) for r in picks]
    assert budgets == sorted(budgets)
    for r in picks:  # the optimum is the best under the budget: nothing feasible beats it
        if r["front_missing"] == "False":
            assert float(r["front_acc"]) <= float(r["optimum"]) + 1e-9
        if r["single_feasible"] == "True":
            assert float(r["single_acc"]) <= float(r["optimum"]) + 1e-9
    assert front and {"index", "arch_str", "rmi", "cost", "accuracy"} <= set(front[0])
    h = json.loads((out / "summary.json").read_text())
    assert f"{h['eval_ratio']:.4f}" == match.group(1) and h["eval_ratio"] == pytest.approx(1 / 3)
    assert h["goal_eval_ratio"]["met"] is False  # 1 run vs 3 runs of the same size: 1/3 > 1/5
    assert (out / "README.md").read_text().count(last) == 1 and (out / "pareto_vs_single.png").exists()
    assert (out / "command.txt").read_text().split()[2:] == argv and (out / "versions.json").exists()
    assert json.loads((out / "config.json").read_text())["population"] == 4
    (d,) = h["distinct_per_seed"].values()
    (seed,) = h["per_seed"]
    assert seed["front_size"] == len(front)
    assert seed["mean_gap_pp"] == pytest.approx(h["mean_gap_pp"], nan_ok=True)
    assert (
        d["nsga2"] == int(runs[0]["unique_evaluations"])
        and d["ga_beyond_nsga2"] <= d["ga_union"] <= 3 * 4 * 2
    )
