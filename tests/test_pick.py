"""Choosing a budget after an NSGA-II search: `python -m lightning_nas.pick`, `finetune --budget`, and the
front in the report. One tiny two-objective run (digits, NB201 C4/N1, flops and params, no budgets)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lightning_nas.pick import main as pick_main
from tests.conftest import REPO, tiny_overrides
from tests.run_fixtures import FINETUNE_TINY

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _search(root: Path, name: str, *extra: str) -> Path:
    from lightning_nas.search.cli import main

    run = root / name
    code = main([*tiny_overrides(root), "--threads", "1", "--run_dir", str(run), "--search.population", "5",
                 "--search.generations", "3", *extra])  # fmt: skip
    assert code == 0
    return run


@pytest.fixture(scope="module")
def front_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pick")
    return _search(root, "nsga2", "--search.algorithm", "nsga2", "--cost.budget", "null",
                   "--cost.extra", "[{metric: params, budget: null}]")  # fmt: skip


def _front(run: Path) -> list[dict[str, str]]:
    with open(run / "pareto.csv", newline="") as f:
        return list(csv.DictReader(f))


def _exit_code(main, argv: list[str]) -> int:  # noqa: ANN001
    """A CLI main's exit code (cli_entry raises SystemExit on errors)."""
    try:
        return main(argv)
    except SystemExit as stop:
        return int(stop.code or 0)


def _pick(*argv: str) -> tuple[int, str, str]:
    done = subprocess.run([sys.executable, "-m", "lightning_nas.pick", *argv], cwd=REPO, capture_output=True, text=True)
    return done.returncode, done.stdout, done.stderr


def test_pick_returns_the_highest_rmi_member_within_every_budget(front_run: Path, tmp_path: Path) -> None:
    front = _front(front_run)
    assert len(front) >= 2, "the tiny run should give a front of several architectures"
    flops = sorted(float(r["cost_flops"]) for r in front)
    params = sorted(float(r["cost_params"]) for r in front)
    budgets = {"flops": flops[len(flops) // 2], "params": params[-1]}
    within = [r for r in front if float(r["cost_flops"]) <= budgets["flops"] and float(r["cost_params"]) <= budgets["params"]]
    expected = max(within, key=lambda r: float(r["rmi"]))
    out = tmp_path / "pick.json"
    code, stdout, stderr = _pick(str(front_run), "--budget", f"flops={budgets['flops']}", "--budget",
                                 f"params={budgets['params']}", "--out", str(out))  # fmt: skip
    assert code == 0, stderr
    member = json.loads(stdout)
    assert member["key"] == expected["key"] and member["genotype"] == json.loads(expected["genotype"])
    assert member["picked_under"] == budgets
    assert json.loads(out.read_text()) == member
    assert stderr.startswith("picked ")


def test_a_budget_tighter_than_the_front_allows_is_one_line(front_run: Path) -> None:
    cheapest = min(float(r["cost_flops"]) for r in _front(front_run))
    code, stdout, stderr = _pick(str(front_run), "--budget", f"flops={cheapest / 2}")
    assert code == 2 and stdout == ""
    assert stderr.count("\n") == 1 and "no architecture of the front meets flops" in stderr and f"{cheapest:.6g}" in stderr


@pytest.mark.parametrize(
    ("budgets", "message"),
    [
        (["0.3"], "the front has 2 cost objectives (flops, params); give metric=value"),
        (["latency=3"], "--budget latency: not an objective of this front; give one of flops, params"),
        (["flops=abc"], "'abc' is not a number"),
        (["flops=-1"], "a budget must be > 0 and finite"),
        (["flops=1", "flops=2"], "--budget flops is given twice"),
        ([], "the following arguments are required: --budget"),
    ],
)
def test_bad_budgets_are_one_line_errors(front_run: Path, capsys: pytest.CaptureFixture, budgets: list[str], message: str) -> None:
    argv = [str(front_run)] + [a for b in budgets for a in ("--budget", b)]
    assert _exit_code(pick_main, argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_pick_refuses_a_run_without_a_front(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ga_run = _search(tmp_path, "ga", "--search.generations", "1")
    assert _exit_code(pick_main, [str(ga_run), "--budget", "5"]) == 2
    err = capsys.readouterr().err
    assert "has no Pareto front (searched with search.algorithm ga)" in err and err.count("\n") == 1
    assert _exit_code(pick_main, [str(tmp_path / "nowhere"), "--budget", "5"]) == 2
    assert "run directory not found" in capsys.readouterr().err


def test_finetune_budget_trains_the_picked_architecture(front_run: Path, tmp_path: Path) -> None:
    from lightning_nas.finetune import main as finetune_main

    front = _front(front_run)
    budget = max(float(r["cost_flops"]) for r in front)  # every member qualifies on flops: the top-RMI one wins
    expected = max(front, key=lambda r: float(r["rmi"]))
    code = finetune_main(["--run_dir", str(front_run), "--budget", f"flops={budget}", "--finetune.export", "false",
                          "--finetune.out_dir", str(tmp_path / "ft"), *FINETUNE_TINY])  # fmt: skip
    assert code == 0
    record = json.loads((front_run / "finetune.json").read_text())
    assert record["source"] == f"pareto_front under --budget flops={budget}"
    assert record["genotype"] == json.loads(expected["genotype"])


def test_finetune_budget_needs_a_run_and_no_arch(front_run: Path, capsys: pytest.CaptureFixture) -> None:
    from lightning_nas.finetune import main as finetune_main

    assert _exit_code(finetune_main, ["--run_dir", str(front_run), "--budget", "flops=1", "--arch", "[0,0,0,0,0,0]"]) == 2
    assert "give --run_dir, not --arch" in capsys.readouterr().err


def test_the_report_shows_the_front(front_run: Path) -> None:
    from lightning_nas.reporting.report import write_report

    report = write_report(front_run).read_text()
    front = _front(front_run)
    assert f"## Pareto front ({len(front)} architectures)" in report
    assert "![pareto_front](pareto_front.png)" in report
    assert (front_run / "pareto_front.png").stat().st_size > 10_000
    results = json.loads((front_run / "results.json").read_text())
    assert [m["key"] for m in results["pareto_front"]] == [r["key"] for r in front]


def test_shipped_pareto_overlays_parse_and_validate() -> None:
    from lightning_nas.config import parse_config
    from lightning_nas.pipeline import build_problem
    from tests.conftest import shared_file

    base = ["--config", str(REPO / "configs" / "nb201_cifar10.yaml"), "--reference.checkpoint", "null"]
    cfg, _ = parse_config([*base, "--config", str(REPO / "configs" / "nsga2.yaml")])
    assert cfg.search.algorithm == "nsga2" and cfg.cost.budget is None
    assert [o.name for o in build_problem(cfg).objectives] == ["flops"]
    table = str(shared_file("hw-nas-bench", "nb201_hw_metrics.csv.gz"))
    overlay = ["--config", str(REPO / "configs" / "hw" / "cifar10_edgegpu_front.yaml"), "--cost.table", table]
    cfg, _ = parse_config([*base, *overlay, "--cost.extra", f"[{{metric: edgegpu_energy, budget: null, table: {table}}}]"])
    problem = build_problem(cfg)
    assert [(o.name, o.unit, o.budget) for o in problem.objectives] == [("edgegpu_latency", "ms", None), ("edgegpu_energy", "mJ", None)]
