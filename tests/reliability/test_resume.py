"""Resume from any moment, with the overrides that cannot change a result, and the run-directory
errors. Each test failed on the code before issue 10 (a gen-0 stop could not be resumed, a resume lost
a non-default --tb_logs, Ctrl-C in a candidate's training exited 1, ...)."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
import yaml

from tests.reliability.runs import (
    assert_same_results,
    copy_run,
    one_error_line,
    results,
    run_main,
    search_args,
    spawn,
    trained_keys,
)
from tests.run_fixtures import rows_of

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_a_search_killed_in_generation_0_resumes_with_the_scores_it_had(root, tmp_path):
    third = rows_of(root / "full")[2]["key"]  # generation 0's third candidate: the process dies before it
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps({third: {"fault": "kill", "times": 1}}))
    killed = tmp_path / "killed"
    proc = spawn(*search_args(root, "--search.generations", "3", "--cache.enabled", "false", "--run_dir", str(killed)),
                 env={**os.environ, "LIGHTNING_NAS_FAULTS": str(faults)})  # fmt: skip
    proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL
    assert not (killed / "checkpoint.json").exists() and len(trained_keys(killed)) == 2
    assert run_main("--resume", str(killed)) == 0
    assert_same_results(killed, root / "full")
    keys = trained_keys(killed)
    assert len(keys) == len(set(keys))  # the two scored before the kill were not trained again


def test_ctrl_c_during_a_candidates_training_exits_130_with_the_resume_hint(root, tmp_path):
    run = tmp_path / "interrupted"
    proc = spawn(*search_args(root, "--proxy.steps", "3000", "--cache.enabled", "false", "--run_dir", str(run)))
    deadline = time.time() + 240
    while not (run / "config.yaml").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    time.sleep(2.0)  # the first candidate trains 3000 steps: several seconds
    assert not (run / "evaluations.jsonl").exists(), "the first candidate finished before the Ctrl-C"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert f"continue with: python -m lightning_nas.search --resume {run}" in err and "Traceback" not in err


def test_resume_keeps_the_recorded_tb_logs_and_applies_safe_overrides(root, tmp_path, capsys):
    run = copy_run(root / "short", tmp_path / "short")
    recorded = yaml.safe_load((run / "config.yaml").read_text())
    assert recorded["tb_logs"] == str(root / "tb_logs")  # not the default: a resume used to refuse it
    assert run_main("--resume", str(run), "--search.generations", "3", "--search.workers", "1") == 0
    now = yaml.safe_load((run / "config.yaml").read_text())
    assert now["tb_logs"] == recorded["tb_logs"] and now["search"]["generations"] == 3
    assert_same_results(run, root / "full")  # continued as if it had always been a 3-generation run
    setup = json.loads((run / "setup.json").read_text())
    assert [r["from_generation"] for r in setup["resumes"]] == [2]


@pytest.mark.parametrize(
    "argv,needles",
    [
        (["--seed", "5"], ["cannot resume", "seed (recorded 0, now 5)", "search.generations"]),
        (["--proxy.steps", "4", "--probe.batch_size", "8"], ["probe.batch_size (recorded 16, now 8)", "proxy.steps (recorded 3, now 4)"]),
        (["--search.backend", "local", "--search.threads_per_worker", "2"], ["threads per candidate (recorded 1, now 2)", "keep it at 1"]),
        (["--search.generations", "1"], ["search.generations 1 is below the 2 generations"]),
        (["--config", "configs/quickstart.yaml"], ["--config cannot be combined with --resume"]),
    ],
)
def test_a_resume_that_would_change_the_results_is_refused_naming_the_keys(root, tmp_path, capsys, argv, needles):
    run = copy_run(root / "short", tmp_path / "short")
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    assert run_main("--resume", str(run), *argv) == 2
    one_error_line(capsys.readouterr().err, *needles)
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before  # nothing touched


def test_a_finished_run_resumed_again_gives_the_same_results(root, tmp_path):
    run = copy_run(root / "full", tmp_path / "full")
    assert run_main("--resume", str(run)) == 0
    assert_same_results(run, root / "full")
    assert results(run)["trained"] == results(root / "full")["trained"]


def test_an_existing_run_dir_is_one_line_and_untouched(root, tmp_path, capsys):
    run = copy_run(root / "short", tmp_path / "short")
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    assert run_main(*search_args(root, "--run_dir", str(run))) == 2
    one_error_line(capsys.readouterr().err, f"run directory {run} already exists", f"--resume {run}")
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_an_uncreatable_runs_root_is_one_line(root, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    assert run_main(*search_args(root, "--runs_root", str(blocker / "runs"))) == 2
    one_error_line(capsys.readouterr().err, "cannot create run directory", str(blocker / "runs"), "--runs_root")


def test_a_run_that_fails_before_it_starts_leaves_no_run_directory(root, tmp_path, capsys):
    runs = tmp_path / "runs"
    code = run_main(*search_args(root, "--runs_root", str(runs), "--data.name", "cifar10", "--data.root", str(tmp_path / "no_cifar")))
    assert code == 2
    one_error_line(capsys.readouterr().err, str(tmp_path / "no_cifar"))
    assert not runs.exists() or not any(runs.iterdir())  # hidden staging folders included


def test_ctrl_c_while_the_reference_trains_exits_130_without_a_traceback(tmp_path):
    """Lightning's fit turns Ctrl-C into exit 1; the reference's fit is wrapped like the candidates'."""
    proc = spawn(*search_args(tmp_path, "--reference.train_epochs", "500", "--run_dir", str(tmp_path / "run")))
    time.sleep(12.0)  # start-up, then 500 epochs of digits: the reference is still training
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "nothing to resume" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_the_interrupt_message_names_the_run_only_when_it_can_be_resumed(tmp_path):
    from lightning_nas.search.cli import _interrupted_message as interrupted_message

    assert "nothing to resume" in interrupted_message(None)
    assert "nothing to resume" in interrupted_message(tmp_path)  # staged, never written
    (tmp_path / "config.yaml").write_text("seed: 0\n")
    assert interrupted_message(tmp_path).endswith(f"--resume {tmp_path}")
