"""The benchmark scripts: their pure parts (fast) and each small path end to end (slow: CIFAR-10 JPEGs
and real proxy trainings, `pytest -m slow`)."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from lightning_nas.spaces.nb201.space import NB201Space
from lightning_nas.tables.nb201_accuracy import N_ARCHS, NB201AccuracyTable
from lightning_nas.tables.oracle import NB201Oracle
from tests.conftest import REPO, shared_file

sys.path.insert(0, str(REPO / "benchmarks"))

import _common  # noqa: E402
import _zero_cost  # noqa: E402
import bench_overhead  # noqa: E402
import op_distribution  # noqa: E402
import proxy_quality  # noqa: E402
import quickstart  # noqa: E402
import search_quality  # noqa: E402

from lightning_nas.analysis.budget import trivial_picks  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_quintiles() -> None:  # rank agreement itself: tests/test_analysis.py
    rows = [{"flops_M": float(i), "rmi": float(i % 3), "synflow_log": float(-i), "cifar10.test_acc": float(i)} for i in range(20)]
    q = proxy_quality.quintile_rows(rows)
    assert [r["n"] for r in q] == [4, 4, 4, 4, 4]
    assert all(r["tau_flops_M"] == pytest.approx(1.0) and r["tau_synflow_log"] == pytest.approx(-1.0) for r in q)


def test_trivial_pickers() -> None:
    acc, cost, flops = np.full(N_ARCHS, np.nan), np.full(N_ARCHS, np.nan), np.zeros(N_ARCHS)
    acc[[1, 2, 3]], cost[[1, 2, 3]], flops[[1, 2, 3]] = [90.0, 80.0, 95.0], [1.0, 2.0, 9.0], [10.0, 20.0, 30.0]
    oracle = NB201Oracle(NB201AccuracyTable({("cifar10", "test_acc"): acc}, "synthetic"), "cifar10", cost)
    picks = trivial_picks(oracle, flops, 5.0)
    assert picks == {"max_flops_acc": 80.0, "random_feasible_acc": 85.0}


def test_op_counts() -> None:
    counts = op_distribution.op_counts([(0, 0, 1, 1, 3, 3), (3, 3, 3, 3, 3, 3)])
    assert counts.tolist() == [1.0, 1.0, 0.0, 4.0, 0.0] and counts.sum() == 6


def test_synflow_orders_and_handles_empty_cells() -> None:
    space = NB201Space(C=4, N=1, full_C=4, full_N=1)
    conv = _zero_cost.synflow_of(space, (3, 3, 3, 3, 3, 3), (3, 32, 32), 0)
    skip = _zero_cost.synflow_of(space, (1, 1, 1, 1, 1, 1), (3, 32, 32), 0)
    none = _zero_cost.synflow_of(space, (0, 0, 0, 0, 0, 0), (3, 32, 32), 0)
    assert conv > skip > none and np.isfinite(none)
    assert torch.get_default_dtype() == torch.float32  # the float64 pass does not leak


@pytest.mark.slow
@pytest.mark.parametrize(
    ("script", "args"),
    [
        (proxy_quality, ["--sample", "3"]),
        (search_quality, ["--population", "3", "--generations", "1", "--devices", "edgegpu_latency", "--no_flops"]),
        (op_distribution, ["--seeds", "0", "--population", "3", "--generations", "1"]),
    ],
)
def test_small_paths_run(script, args, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shared_file("cifar10", "cifar10-jpg.tar.gz")
    common = ["--threads", "1", "--cache_path", str(tmp_path / "c.sqlite"), "--out", str(tmp_path / "out")]
    assert script.main([*args, *common]) == 0
    assert (tmp_path / "out" / "README.md").exists() and list((tmp_path / "out").glob("*.png"))
    last = capsys.readouterr().out.strip().splitlines()[-1]
    if script is proxy_quality:
        assert last.startswith("kendall_tau=")
    if script is search_quality:
        assert last.startswith("mean_regret_pp=") and " feasible=" in last


def test_md_table_escapes_pipes_in_arch_strings() -> None:
    arch = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|"
    row = _common.md_table([{"seed": 0, "arch_str": arch, "acc": 90.5}]).splitlines()[2]
    assert "\\|nor_conv_3x3~0\\|" in row
    cells = [c for c in row.replace("\\|", "").split("|")[1:-1]]
    assert len(cells) == 3  # the arch string stays one cell


def test_bench_overhead_writes_a_stored_result(tmp_path: Path) -> None:
    out = tmp_path / "o"
    argv = ["--sizes", "4x1", "--steps", "2", "--repeats", "2", "--threads", "1", "--out", str(out)]
    assert bench_overhead.main(argv) == 0
    with open(out / "summary.csv") as f:
        (summary,) = list(csv.DictReader(f))
    assert summary["C"] == "4" and summary["repeats"] == "2" and summary["rmi_same"] == "True"
    assert float(summary["ratio_min"]) <= float(summary["ratio_median"]) <= float(summary["ratio_max"])
    assert len((out / "repeats.csv").read_text().splitlines()) == 3
    assert (out / "command.txt").read_text().split()[2:] == argv and (out / "versions.json").exists()


def test_reproduce_sh_dry_run_and_bad_profile() -> None:
    script = REPO / "benchmarks" / "reproduce.sh"
    dry = subprocess.run(["bash", str(script), "--profile", "medium", "--dry-run"], capture_output=True, text=True)
    assert dry.returncode == 0 and dry.stderr.count("+ python benchmarks/") == 2
    bad = subprocess.run(["bash", str(script), "--profile", "huge"], capture_output=True, text=True)
    assert bad.returncode == 2 and "valid: small, medium" in bad.stderr


@pytest.mark.slow
def test_quickstart_benchmark_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The whole quick start from cold caches (a few minutes): needs no ../shared data."""
    assert quickstart.main(["--threads", "1", "--out", str(tmp_path / "q")]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("quickstart_wall_s=")
    assert {"summary.json", "results.json", "command.txt", "config.json", "versions.json"} <= {
        p.name for p in (tmp_path / "q").iterdir()
    }
