"""Reports of a finished tiny run: report.md with the right numbers, non-empty PNG plots, overlays for
several runs, configurable energy assumptions, one-line errors for missing or unfinished runs."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
from matplotlib.image import imread

from lightning_nas.report import main
from lightning_nas.reporting.report import write_report
from lightning_nas.reporting.search_cost import EnergyAssumptions, compute_cost
from tests.run_fixtures import results_of, shared_tiny_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_tiny_run(tmp_path_factory, "report")



def _escaped(arch: str) -> str:
    return arch.replace("|", "\\|")


def _assert_png(path: Path) -> None:
    assert path.exists() and path.stat().st_size > 1000, path
    assert path.read_bytes()[:8] == PNG_MAGIC
    image = imread(path)
    assert image.shape[0] > 100 and image.shape[1] > 100
    assert image.std() > 0.01  # not a blank canvas


def test_report_files_and_numbers(run_dir: Path) -> None:
    path = write_report(run_dir)
    for name in ("generations.png", "rmi_vs_cost.png", "op_distribution.png"):
        _assert_png(run_dir / name)
    text = path.read_text()
    r = results_of(run_dir)
    best = r["best"]
    assert _escaped(best["description"]) in text
    assert f"| RMI | {best['rmi']:.4f} |" in text
    assert f"| NB201 index | {best['nb201_index']} |" in text
    assert f"{best['cost']:.5g} (budget {r['budget']:g})" in text
    assert f"population 4 x {r['generations']} generations" in text
    # search cost at the defaults: 65 W for a CPU, PUE 1, 475 g CO2e/kWh
    hours = r["wall_seconds"] / 3600
    kwh = 65 * hours / 1000
    assert f"| {r['wall_seconds']:.1f} |" in text
    assert f"| {hours:.4f} | 65 | 1.00 | {kwh:.6f} | 475 | {kwh * 475 / 1000:.6f} |" in text
    for rank, c in enumerate(r["hall_of_fame"][:10], start=1):
        assert f"| {rank} | `{_escaped(c['description'])}` | {c['rmi']:.4f} |" in text
    for png in ("generations.png", "rmi_vs_cost.png", "op_distribution.png"):
        assert f"]({png})" in text


def test_cli_energy_assumptions(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(run_dir), "--power_w", "250", "--carbon_g_per_kwh", "100", "--pue", "1.5"]) == 0
    assert "report.md" in capsys.readouterr().out
    text = (run_dir / "report.md").read_text()
    cost = compute_cost(results_of(run_dir)["wall_seconds"], "cpu", "x", EnergyAssumptions(250.0, 100.0, 1.5))
    assert math.isclose(cost.energy_kwh, 250 * 1.5 * cost.device_hours / 1000)
    assert f"| 250 | 1.50 | {cost.energy_kwh:.6f} | 100 | {cost.co2e_kg:.6f} |" in text
    assert "assumed power 250 W, PUE 1.5, carbon intensity 100 g CO2e/kWh" in text


def test_several_runs_overlaid(run_dir: Path, tmp_path: Path) -> None:
    second = tmp_path / "second-run"
    shutil.copytree(run_dir, second)
    assert main([str(run_dir), str(second), "--out", str(tmp_path / "cmp")]) == 0
    for name in ("compare_generations.png", "compare_rmi_vs_cost.png", "compare_op_distribution.png"):
        _assert_png(tmp_path / "cmp" / name)
    text = (tmp_path / "cmp" / "compare.md").read_text()
    assert "# Comparison of 2 runs" in text
    assert f"| {run_dir.name} |" in text and "| second-run |" in text
    assert (second / "report.md").exists()


def test_errors_are_one_line(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    unfinished = tmp_path / "unfinished"
    shutil.copytree(run_dir, unfinished, ignore=shutil.ignore_patterns("results.json"))
    cases = {
        (str(tmp_path / "missing"),): "run directory not found",
        (str(unfinished),): "unfinished run",
        (str(tmp_path),): "not a run directory (no config.yaml)",
        (str(run_dir), "--pue", "0.5"): "pue must be >= 1.0",
        (str(run_dir), str(run_dir), "--out", str(run_dir)): "is one of the run directories",
    }
    for argv, message in cases.items():
        with pytest.raises(SystemExit) as exc:
            main(list(argv))
        err = capsys.readouterr().err
        assert exc.value.code == 2 and message in err and len(err.strip().splitlines()) == 1, (argv, err)
