"""End-to-end searches on tiny configs: outputs, determinism, resume after SIGKILL, CLI errors."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lightning_nas.errors import ConfigError
from lightning_nas.search.compare import result_differences, row_differences
from lightning_nas.search.engine import Search
from tests.conftest import REPO, shared_file, tiny_overrides
from tests.run_fixtures import rows_of

RESULT_KEYS = {
    "best", "budget", "cost_metric", "cost_unit", "feasible", "evaluations", "unique_evaluations",
    "generations", "wall_seconds", "seed",
}  # fmt: skip


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=timeout, cwd=REPO)


def comparable(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in ("seconds", "cache_hit")} for r in rows]


def test_tiny_search_end_to_end(tiny_cfg, tmp_path):
    from lightning_nas.callbacks.tensorboard import TensorBoardSearchLogger

    cfg = tiny_cfg("--run_dir", str(tmp_path / "run"))
    results = Search(cfg, callbacks=[TensorBoardSearchLogger()]).run()
    run = tmp_path / "run"
    assert RESULT_KEYS <= set(results)
    saved = json.loads((run / "results.json").read_text())
    assert saved["best"]["arch_str"].startswith("|") and saved["cost_unit"] == "MFLOPs" and saved["cost_metric"] == "flops"
    assert saved["evaluations"] == 8 and saved["unique_evaluations"] <= 8 and saved["generations"] == 2
    assert saved["best"]["feasible"] == (saved["best"]["cost"] <= 12)
    rows = list(csv.DictReader(open(run / "evaluations.csv")))
    assert len(rows) == 8
    assert {"generation", "genotype", "key", "rmi", "cka_0", "cka_2", "cost_flops", "fitness", "seconds", "cache_hit"} <= set(rows[0])
    for name in ("config.yaml", "versions.json", "setup.json", "checkpoint.json", "evaluations.jsonl"):
        assert (run / name).exists(), name
    setup = json.loads((run / "setup.json").read_text())
    c = cfg.space.C  # NB201 taps: ends of stages 1 and 2, and the last BN+ReLU
    assert [tap["shape"][0] for tap in setup["taps"]["candidate"]] == [c, 2 * c, 4 * c]
    assert len(setup["taps"]["reference"]) == 3 and setup["threads_per_candidate"] >= 1
    versions = json.loads((run / "versions.json").read_text())
    assert versions["torch"] and versions["deap"]
    assert "seed: 0" in (run / "config.yaml").read_text()
    events = list((tmp_path / "tb_logs").rglob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0


def test_same_seed_same_search(tiny_cfg, tmp_path):
    a = Search(tiny_cfg("--run_dir", str(tmp_path / "a")), callbacks=[]).run()
    b = Search(tiny_cfg("--run_dir", str(tmp_path / "b")), callbacks=[]).run()
    assert not result_differences(a, b)
    assert not row_differences(rows_of(tmp_path / "a"), rows_of(tmp_path / "b"))
    assert len(rows_of(tmp_path / "a")) == a["evaluations"] > 0


def test_repeated_genotypes_are_never_trained_twice(tiny_cfg, tmp_path):
    cfg = tiny_cfg("--run_dir", str(tmp_path / "r"), "--search.generations", "4", "--search.mutation_rate", "0.0")
    results = Search(cfg, callbacks=[]).run()
    trained = [json.loads(line) for line in open(tmp_path / "r" / "evaluations.jsonl")]
    keys = [e["key"] for e in trained]
    assert len(keys) == len(set(keys)) == results["unique_evaluations"]
    assert results["cache_hits"] == results["evaluations"] - results["unique_evaluations"] > 0


def test_infeasible_constraints_end_with_the_best_labelled_infeasible(tiny_cfg, tmp_path):
    """Each budget alone is met by some architecture (the cheapest on that device), both together by none:
    detectable only during the search, which ends with its best candidate labelled infeasible."""
    import numpy as np

    from lightning_nas.tables.hw_nas_bench import HWNASBenchTable

    path = shared_file("hw-nas-bench", "nb201_hw_metrics.csv.gz")
    table = HWNASBenchTable.load(path)
    pixel3, edgegpu = table.get("cifar10", "pixel3_latency"), table.get("cifar10", "edgegpu_latency")
    b1, b2 = float(np.nanmin(pixel3)), float(np.nanmin(edgegpu))
    assert not ((pixel3 <= b1) & (edgegpu <= b2)).any()
    extra = json.dumps([{"metric": "edgegpu_latency", "budget": b2, "table": str(path), "dataset": "cifar10"}])
    cfg = tiny_cfg(
        "--run_dir", str(tmp_path / "inf"), "--cost.metric", "pixel3_latency", "--cost.budget", repr(b1),
        "--cost.table", str(path), "--cost.dataset", "cifar10", "--cost.extra", extra,
    )  # fmt: skip
    results = Search(cfg, callbacks=[]).run()
    assert results["feasible"] is False and results["best"]["feasible"] is False
    assert results["best"]["fitness"] < results["best"]["rmi"]
    assert [c["metric"] for c in results["constraints"]] == ["pixel3_latency", "edgegpu_latency"]
    assert results["cost_unit"] == "ms"


def test_resume_after_sigkill_equals_the_uninterrupted_run(tmp_path):
    args = [*tiny_overrides(tmp_path), "--search.generations", "6", "--proxy.steps", "25", "--cache.enabled", "false"]
    ref = run_cli("lightning_nas.search", *args, "--run_dir", str(tmp_path / "full"))
    assert ref.returncode == 0, ref.stderr[-2000:]
    killed_dir = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lightning_nas.search", *args, "--run_dir", str(killed_dir)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.time() + 300
    while time.time() < deadline:
        ckpt = killed_dir / "checkpoint.json"
        if ckpt.exists() and json.loads(ckpt.read_text())["generation"] >= 2:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL and not (killed_dir / "results.json").exists()
    resumed = run_cli("lightning_nas.search", "--resume", str(killed_dir), "--tb_logs", str(tmp_path / "tb_logs"))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    full = json.loads((tmp_path / "full" / "results.json").read_text())
    again = json.loads((killed_dir / "results.json").read_text())
    assert not result_differences(again, full)  # best, hall of fame, logbook
    assert not row_differences(rows_of(killed_dir), rows_of(tmp_path / "full"))  # every evaluation
    assert again["unique_evaluations"] == full["unique_evaluations"] == full["trained"] == again["trained"]
    assert again["cache_hits"] == full["cache_hits"] and again["evaluations"] == full["evaluations"]
    trained = [json.loads(line)["key"] for line in open(killed_dir / "evaluations.jsonl") if line.strip()]
    assert len(trained) == len(set(trained))  # nothing evaluated before the kill was trained again
    rows = lambda d: list(csv.DictReader(open(d / "evaluations.csv")))  # noqa: E731
    assert comparable(rows(killed_dir)) == comparable(rows(tmp_path / "full"))


def test_foreign_checkpoint_or_config_names_the_differing_keys(tiny_cfg, tmp_path):
    cfg = tiny_cfg("--run_dir", str(tmp_path / "c"))
    Search(cfg, callbacks=[]).run()
    with pytest.raises(ConfigError, match=r"different seed \(recorded 0, now 5\)"):
        Search(tiny_cfg("--resume", str(tmp_path / "c"), "--seed", "5"), callbacks=[]).run()
    config = tmp_path / "c" / "config.yaml"
    config.write_text(config.read_text().replace("steps: 3", "steps: 4"))  # edited by hand
    with pytest.raises(ConfigError, match=r"checkpoint .* different config .*proxy.steps \(recorded 3, now 4\)"):
        Search(tiny_cfg("--resume", str(tmp_path / "c"), "--proxy.steps", "4"), callbacks=[]).run()


@pytest.mark.parametrize(
    "override,message",
    [
        (["--cost.metric", "pixel4_latency"], "unknown cost metric 'pixel4_latency'; valid: flops, params"),
        (["--data.name", "mnist"], "unknown dataset 'mnist'; valid: digits"),
        (["--space.name", "darts"], "unknown search space 'darts'; valid: nb201"),
        (["--cost.budget", "0"], "budget must be > 0"),
        (["--cost.budget", "1.5"], "below the cheapest architecture in nb201 (1.94625 MFLOPs)"),
        (["--search.population", "1"], "search.population must be in 2..100000"),
        (["--reference.checkpoint", "/no/such.th"], "reference checkpoint not found: /no/such.th"),
        (["--cost.metric", "pixel3_latency", "--cost.dataset", "cifar10", "--cost.table", "/no/hw.pickle"], "HW-NAS-Bench file not found: /no/hw.pickle"),
        (["--search.population", "many"], 'search.population'),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, override, message):
    out = run_cli("lightning_nas.search", *tiny_overrides(tmp_path), *override)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message.split(";")[0] in lines[0], out.stderr
    assert not list((tmp_path / "runs").glob("*")) if (tmp_path / "runs").exists() else True


def test_print_config_and_missing_resume_dir(tmp_path):
    out = run_cli("lightning_nas.search", "--print_config")
    assert out.returncode == 0 and "population:" in out.stdout and "budget:" in out.stdout
    out = run_cli("lightning_nas.search", "--resume", str(tmp_path / "nope"))
    assert out.returncode == 2 and "not a run directory" in out.stderr


def test_shipped_nb201_configs_parse_and_validate():
    from lightning_nas.config import parse_config
    from lightning_nas.pipeline import build_problem

    table = str(shared_file("hw-nas-bench", "nb201_hw_metrics.csv.gz"))
    for base in sorted((REPO / "configs").glob("nb201_*.yaml")):
        cfg, _ = parse_config(["--config", str(base), "--reference.checkpoint", "null"])
        assert cfg.search.population == 20 and cfg.search.generations == 100 and cfg.proxy.steps == 100
        assert build_problem(cfg).cost_models[0].unit == "MFLOPs"
    overlays = sorted((REPO / "configs" / "hw").glob("*_latency.yaml"))
    assert len(overlays) == 18
    for overlay in overlays:
        dataset = overlay.name.split("_")[0]
        base = REPO / "configs" / f"nb201_{dataset.lower()}.yaml"
        args = ["--config", str(base), "--config", str(overlay), "--reference.checkpoint", "null", "--cost.table", table]
        cfg, _ = parse_config(args)
        problem = build_problem(cfg)
        assert cfg.cost.dataset == dataset and problem.cost_models[0].unit == "ms"


def test_score_cli_prints_one_json_object(tmp_path):
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    out = run_cli("lightning_nas.score", *tiny_overrides(tmp_path), "--arch", arch)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"rmi", "cka", "seconds", "costs", "feasible"} <= set(result)
    assert result["rmi"] == pytest.approx(sum(result["cka"])) and len(result["cka"]) == 3
    bad = run_cli("lightning_nas.score", *tiny_overrides(tmp_path), "--arch", "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert bad.returncode == 2 and "unknown NAS-Bench-201 op 'conv'" in bad.stderr


def test_quickstart_config_is_the_default():
    from lightning_nas.config import QUICKSTART, parse_config

    cfg, _ = parse_config([])
    assert QUICKSTART.exists() and cfg.data.name == "digits" and cfg.name == "quickstart"
    assert Path(QUICKSTART).read_text().count("budget") >= 1


