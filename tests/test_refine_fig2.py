"""benchmarks/refine_fig2.py: the mix grid, the paired interval, and (slow) the small profile end to end."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from tests.conftest import REPO, shared_file

sys.path.insert(0, str(REPO / "benchmarks"))

import refine_fig2 as rf  # noqa: E402


def test_the_mix_grid_keeps_k_between_1_and_20() -> None:
    grid = rf.mixes()
    assert all(1 <= sum(m.values()) <= 20 for m in grid) and len({rf.name_of(m) for m in grid}) == len(grid)
    assert {"fitness": 5, "capacity": 0, "space_capacity": 10} in grid and rf.name_of({"fitness": 5, "capacity": 0}) == "fitness5"


def test_the_paired_interval_covers_a_known_shift() -> None:
    rng = np.random.default_rng(1)
    b = rng.normal(size=18)
    point, lo, hi = rf.paired_interval(b - 0.5 + rng.normal(scale=0.05, size=18), b, resamples=2000)
    assert point == pytest.approx(-0.5, abs=0.05) and lo < point < hi < 0
    assert rf.paired_interval(b, b, resamples=100) == (0.0, 0.0, 0.0)


@pytest.mark.slow
def test_the_small_profile_end_to_end_and_its_ga_shards(tmp_path, capsys) -> None:
    for f in (("nas-bench-201", "nb201_hp12_cifar10.csv.gz"), ("nas-bench-201", "nb201_accuracy_cost.csv.gz"), ("hw-nas-bench", "nb201_hw_metrics.csv.gz")):
        shared_file(*f)
    argv = ["--profile", "small", "--seeds", "0", "--resamples", "200", "--out", str(tmp_path)]
    assert rf.main(argv) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    summary = json.loads((tmp_path / "summary.json").read_text())
    variants = {r["variant"] for r in summary["summary"]}
    assert variants == {"paper", "mix", "flops_only", "rmi_only", "search_scored_only", "max_flops", "train_all"}
    assert last.startswith(f"mix={rf.name_of(summary['chosen_mix'])} k={summary['k']} ")
    floor = next(r for r in summary["summary"] if r["variant"] == "train_all")
    mix = next(r for r in summary["summary"] if r["variant"] == "mix")
    assert floor["trainings"] > summary["k"] >= mix["trainings"] and floor["feasible"] == mix["feasible"] == 1.0
    assert sorted(p.name for p in (tmp_path / "ga").iterdir()) == sorted(
        f"{m}-p{p}.json.gz" for m in ("edgegpu_latency", "pixel3_latency", "edgegpu_energy") for p in (25, 50, 75))
    assert rf.main(argv) == 0 and "GA " not in capsys.readouterr().out  # the rerun reads the GA shards
