"""Issue 10, costs and devices: a winner without a cost value finishes the search (console summary and
report.md print `n/a`); a cost column that is missing everywhere, an unknown or absent device or
accelerator, a null / non-finite / negative budget and a malformed HW-NAS-Bench table are refused by the
search CLI with exit 2 and one `error:` line naming the key (or the file, line and value), before any run
directory is written."""

from __future__ import annotations

import contextlib
import gzip
import io
import math
import pickle
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from lightning_nas.errors import ConfigError
from tests.conftest import shared_file, tiny_overrides

pytestmark = pytest.mark.usefixtures("one_torch_thread")

HW_ARGS = ["--cost.dataset", "cifar10", "--cost.budget", "12"]


def run_search(tmp_path: Path, *extra: str) -> tuple[int, str, str]:
    """The search CLI's `main` in-process on the tiny config plus `extra`: (exit code, stdout, stderr)."""
    from lightning_nas.search.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([*tiny_overrides(tmp_path), "--search.generations", "1", *extra])
        except SystemExit as exit_:
            code = exit_.code
    return int(code or 0), out.getvalue(), err.getvalue()


def assert_refused(tmp_path: Path, argv: list[str], *needles: str) -> str:
    """Exit 2, one `error:` line on stderr holding every needle, no traceback, no run directory."""
    code, out, err = run_search(tmp_path, *argv)
    lines = err.strip().splitlines()
    assert code == 2, (code, err[-2000:])
    assert len(lines) == 1 and lines[0].startswith("error:"), err[-2000:]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert "Traceback" not in out + err
    runs = tmp_path / "runs"
    assert not runs.exists() or not any(runs.iterdir()), list(runs.iterdir())
    return lines[0]


def hw_csv(path: Path, rows: list[str], column: str = "cifar10.edgetpu_latency") -> Path:
    path.write_text("\n".join([f"arch_index,{column}", *rows]) + "\n")
    return path


# ---- (5) a winner with no cost ------------------------------------------------------------------
def test_a_winner_without_a_cost_value_finishes_with_a_report(tmp_path: Path) -> None:
    """Only arch 0 has an edgetpu latency: every sampled candidate has none (NaN cost, RMI None, fitness
    -inf), as with the real table's 4,699 missing archs and a small population."""
    table = hw_csv(tmp_path / "one.csv", ["0,1.0"])
    code, out, err = run_search(tmp_path, "--cost.metric", "edgetpu_latency", "--cost.table", str(table), *HW_ARGS)
    assert code == 0, err[-3000:]
    assert "Traceback" not in out + err
    assert "RMI n/a" in out and "edgetpu_latency n/a / 12 ms" in out and "INFEASIBLE" in out, out
    (run,) = (tmp_path / "runs").iterdir()
    report = (run / "report.md").read_text()
    assert "| RMI | n/a |" in report and "n/a (budget 12)" in report


def test_console_summary_and_report_lines_print_missing_values_as_na() -> None:
    from lightning_nas.callbacks.progress import ConsoleProgress

    from lightning_nas.reporting.format import fmt, fmt_budget, fmt_cost

    stream = io.StringIO()
    objective = SimpleNamespace(name="edgetpu_latency", budget=None, unit="ms")
    cfg = SimpleNamespace(search=SimpleNamespace(generations=2), tb_logs="tb")
    search = SimpleNamespace(objectives=[objective], cfg=cfg, run_dir=Path("run"))
    ConsoleProgress(stream).on_generation_end(
        search,
        0,
        {"best_fitness": -math.inf, "mean_fitness": math.nan, "best_rmi": None, "best_costs": {"edgetpu_latency": math.nan},
         "feasible_fraction": 0.0, "new": 4, "cache_hits": 0, "seconds": 0.5},
    )  # fmt: skip
    best = {"description": "arch", "rmi": None, "fitness": -math.inf,
            "costs": [{"metric": "edgetpu_latency", "value": None, "budget": None, "unit": "ms"}]}  # fmt: skip
    ConsoleProgress(stream).on_search_end(
        search,
        {"best": best, "feasible": False, "evaluations": 4, "unique_evaluations": 4, "trained": 0,
         "persistent_cache_hits": 0, "wall_seconds": 1.0},
    )  # fmt: skip
    text = stream.getvalue()
    assert "rmi n/a" in text and "edgetpu_latency n/a/none ms" in text and "RMI n/a, fitness n/a" in text, text
    assert (fmt(None), fmt(math.nan), fmt_cost(math.inf), fmt_budget(None), fmt(True)) == ("n/a", "n/a", "n/a", "none", "yes")


def test_a_cost_column_missing_everywhere_fails_validation(tmp_path: Path) -> None:
    table = hw_csv(tmp_path / "empty.csv", ["0,", "1,-1", "2,0"])
    assert_refused(
        tmp_path, ["--cost.metric", "edgetpu_latency", "--cost.table", str(table), *HW_ARGS], "edgetpu_latency", str(table)
    )


def test_the_real_edgetpu_column_is_not_all_missing() -> None:
    from lightning_nas.costs.hw_nas_bench import HWNASBenchCost, HWNASBenchTable

    table = HWNASBenchTable.load(shared_file("hw-nas-bench", "nb201_hw_metrics.csv.gz"))
    cost = HWNASBenchCost(table, "cifar10", "edgetpu_latency")
    assert int(np.isnan(cost.values).sum()) == 4699


# ---- (6) unknown or absent devices --------------------------------------------------------------
def _no_cuda() -> bool:
    import torch

    return not torch.cuda.is_available()


no_cuda = pytest.mark.skipif(not _no_cuda(), reason="this machine has a CUDA GPU")


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["--cost.metric", "measured_latency", "--cost.device", "tpu"], ["cost.device", "'tpu'", "valid here: cpu"]),
        (["--cost.extra", "[{metric: measured_latency, budget: 50, device: tpu}]"], ["cost.extra[0].device", "'tpu'", "cpu"]),
        (["--proxy.accelerator", "banana"], ["proxy.accelerator", "'banana'", "valid: auto, cpu, gpu, cuda, mps"]),
        (["--finetune.accelerator", "banana"], ["finetune.accelerator", "'banana'", "valid: auto"]),
        pytest.param(["--cost.metric", "measured_latency", "--cost.device", "cuda"], ["cost.device", "'cuda'", "cpu"], marks=no_cuda),
        pytest.param(["--proxy.accelerator", "gpu"], ["proxy.accelerator", "'gpu'"], marks=no_cuda),
        pytest.param(["--proxy.accelerator", "cuda"], ["proxy.accelerator", "'cuda'", "valid here: auto, cpu"], marks=no_cuda),
        pytest.param(["--finetune.enabled", "true", "--finetune.accelerator", "gpu"], ["finetune.accelerator", "'gpu'", "auto, cpu"], marks=no_cuda),
    ],
    ids=["cost-tpu", "extra-tpu", "proxy-unknown", "finetune-unknown", "cost-cuda", "proxy-gpu", "proxy-cuda", "finetune-gpu"],
)  # fmt: skip
def test_unknown_or_absent_devices_are_refused_before_the_run_dir(tmp_path: Path, argv: list[str], needles: list[str]) -> None:
    assert_refused(tmp_path, argv, *needles)


# ---- (10) budgets -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["--cost.extra", "[{metric: params, budget: null}]"], ["cost.extra[0].budget is null", "only search.algorithm nsga2"]),
        (["--cost.extra", "[{metric: params, budget: .inf}]"], ["cost.extra[0].budget", "inf"]),
        (["--cost.extra", "[{metric: params, budget: .nan}]"], ["cost.extra[0].budget", "nan"]),
        (["--cost.extra", "[{metric: flops, budget: 50}, {metric: params, budget: -2}]"], ["cost.extra[1].budget", "-2"]),
        (["--cost.budget", "-1"], ["cost.budget", "-1"]),
        (["--cost.extra", "[{metric: parms, budget: 1}]"], ["cost.extra[0].metric", "'parms'"]),
    ],
    ids=["extra-null", "extra-inf", "extra-nan", "extra1-negative", "main-negative", "extra-unknown-metric"],
)
def test_bad_budgets_name_their_key(tmp_path: Path, argv: list[str], needles: list[str]) -> None:
    assert_refused(tmp_path, argv, *needles)


@pytest.mark.parametrize("budget", [math.inf, -math.inf, math.nan, 0.0, None])
def test_a_non_finite_main_budget_is_refused_by_build_problem(tiny_cfg, budget: float | None) -> None:
    """cost.budget from a config the parser let through (its own message for `nan` belongs to the config);
    no budget (None) is the GA's error, since only NSGA-II searches without one."""
    from lightning_nas.pipeline import build_problem

    cfg = tiny_cfg()
    cfg.cost.budget = budget
    expected = r"^cost\.budget is null, which only search\.algorithm nsga2 allows" if budget is None else r"^cost\.budget must be > 0 and finite, got"
    with pytest.raises(ConfigError, match=expected) as err:
        build_problem(cfg)
    assert "\n" not in str(err.value)


# ---- (9) malformed HW-NAS-Bench tables ----------------------------------------------------------
@pytest.mark.parametrize(
    ("rows", "needles"),
    [
        (["0,1.0", "1.5,2.0"], ["line 3", "arch_index '1.5'"]),
        (["0,1.0", "abc,2.0"], ["line 3", "arch_index 'abc'"]),
        (["0,1.0", "15625,2.0"], ["line 3", "'15625' out of range 0..15624"]),
        (["0,1.0", "-3,2.0"], ["line 3", "'-3' out of range"]),
        (["0,1.0", "1,fast"], ["line 3", "cifar10.fpga_latency", "'fast'"]),
        (["0,1.0", "1,inf"], ["line 3", "cifar10.fpga_latency", "'inf'"]),
        (["0,1.0", "1,1e999"], ["line 3", "'1e999'"]),
        (["0,1.0", "0,2.0"], ["line 3", "arch_index '0' repeats line 2"]),
        (["0,1.0", "9" * 500 + ",2.0"], ["line 3", "..."]),
    ],
    ids=["non-integer", "word", "too-big", "negative", "non-numeric", "inf", "overflow", "duplicate", "huge-cell"],
)
def test_malformed_hw_nas_bench_csv_names_file_line_and_value(tmp_path: Path, rows: list[str], needles: list[str]) -> None:
    table = hw_csv(tmp_path / "hw.csv", rows, column="cifar10.fpga_latency")
    line = assert_refused(tmp_path, ["--cost.metric", "fpga_latency", "--cost.table", str(table), *HW_ARGS], str(table), *needles)
    assert len(line) < 300, line


def test_a_damaged_row_of_the_real_table_names_its_line(tmp_path: Path) -> None:
    lines = gzip.open(shared_file("hw-nas-bench", "nb201_hw_metrics.csv.gz"), "rt").read().splitlines()
    lines[101] = lines[101].rsplit(",", 1)[0] + ",12ms"  # line 102 of the file: the last column
    table = tmp_path / "hw.csv.gz"
    with gzip.open(table, "wt") as f:
        f.write("\n".join(lines) + "\n")
    args = ["--cost.metric", "fpga_latency", "--cost.table", str(table), *HW_ARGS]
    assert_refused(tmp_path, args, str(table), "line 102", "ImageNet16-120.fpga_energy", "'12ms'")
    ops = lines[0].split(",").index("ops")
    cells = lines[101].split(",")
    cells[ops] = "000000"
    lines[101] = ",".join(cells)
    with gzip.open(table, "wt") as f:
        f.write("\n".join(lines) + "\n")
    assert_refused(tmp_path, args, "line 102", "ops '000000'")


@pytest.mark.parametrize(
    ("metrics", "needles"),
    [
        ({"fpga_latency": [1.0] * 15624 + ["x"]}, ["['cifar10']['fpga_latency'][15624]", "'x'"]),
        ({"fpga_latency": [1.0] * 15624 + [math.inf]}, ["[15624]", "inf"]),
        ({"fpga_latency": [1.0, 2.0]}, ["['fpga_latency'] must be a list of 15625 numbers, got list of 2"]),
        ({"fpga_latency": 3}, ["must be a list of 15625 numbers, got int"]),
        ([1, 2], ["is not an HW-NAS-Bench pickle"]),
    ],
    ids=["string", "inf", "short", "scalar", "not-a-dict"],
)
def test_malformed_hw_nas_bench_pickle_is_one_line(tmp_path: Path, metrics: object, needles: list[str]) -> None:
    from lightning_nas.costs.hw_nas_bench import HWNASBenchTable

    path = tmp_path / "hw.pickle"
    path.write_bytes(pickle.dumps({"nasbench201": {"cifar10": metrics}}))
    with pytest.raises(ConfigError) as err:
        HWNASBenchTable.load(path)
    message = str(err.value)
    assert "\n" not in message and str(path) in message, message
    for needle in needles:
        assert needle in message, (needle, message)


def test_a_pickle_with_none_and_the_sentinel_reads_them_as_missing(tmp_path: Path) -> None:
    from lightning_nas.costs.hw_nas_bench import HWNASBenchTable

    path = tmp_path / "hw.pickle"
    path.write_bytes(pickle.dumps({"nasbench201": {"cifar10": {"fpga_latency": [None, -1.0, 2] + [1.0] * 15622}}}))
    column = HWNASBenchTable.load(path).get("cifar10", "fpga_latency")
    assert math.isnan(column[0]) and math.isnan(column[1]) and column[2] == 2.0
