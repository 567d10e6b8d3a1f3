"""The refine stage (issue 25): a finished search's short list (feasible, one per isomorphism class, source
by source), each candidate's accuracy from a table or a short training, the most accurate recorded as
results.json's `refined` (and fine-tuned), resumable from refine.csv; from the command line and at the end
of a search; bad input refused in one line."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from lightning_nas.refine.cli import main
from lightning_nas.tables.nb201_csv import read_nb201_csv
from tests.conftest import shared_file
from tests.run_fixtures import results_of, rows_of, shared_tiny_run, tiny_config

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _hp12() -> Path:
    return shared_file("nas-bench-201", "nb201_hp12_cifar10.csv.gz")


def _rows(run: Path) -> list[dict]:
    with open(run / "refine.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_a_table_refines_a_finished_search_and_a_rerun_measures_nothing(tmp_path_factory, capsys) -> None:
    run = shared_tiny_run(tmp_path_factory, "refine_table")
    argv = ["--run_dir", str(run), "--refine.table", str(_hp12()), "--refine.k", "5",
            "--refine.shortlist", "{fitness: 2, capacity: 1, space_capacity: 2}"]  # fmt: skip
    assert main(argv) == 0
    rows = _rows(run)
    assert [r["shortlist_source"] for r in rows] == ["fitness", "fitness", "capacity", "space_capacity", "space_capacity"]
    assert len({r["class"] for r in rows}) == 5 and all(float(r["cost_flops"]) <= 0.5 for r in rows)  # feasible, distinct
    searched = {r["key"]: r for r in rows_of(run)}
    fitness = [r for r in rows if r["shortlist_source"] == "fitness"]
    best_feasible = max((r["fitness"] for r in searched.values() if r["feasible"]), default=None)
    assert float(fitness[0]["fitness"]) == best_feasible
    acc = read_nb201_csv(_hp12(), {"valid_acc_12ep"}, index_column="arch_index", what="t", expected="-")[("cifar10", "valid_acc_12ep")]
    refined = results_of(run)["refined"]
    by_key = {r["key"]: float(r["best_val_acc"]) for r in rows}
    assert refined["winner"]["key"] == max(by_key, key=by_key.get) and refined["measured_by"] == "table"
    assert refined["winner"]["val_acc"] == pytest.approx(float(acc[refined["winner"]["nb201_index"]]))
    assert refined["capacity"] == "params" and refined["trainings_now"] == 5  # under a FLOPs budget: params
    assert "refine: winner" in capsys.readouterr().out
    assert main(argv) == 0  # a rerun: every row is reused
    assert len(_rows(run)) == 5 and results_of(run)["refined"]["trainings_now"] == 0

    from lightning_nas.spaces.nb201.space import NB201Space
    from lightning_nas.training.finetune import choose_winner

    genotype, source = choose_winner(results_of(run), NB201Space(), prefer_feasible=True)
    assert source == "results.refined" and NB201Space().key(genotype) == refined["winner"]["key"]

    from lightning_nas.report import main as report_main

    assert report_main([str(run)]) == 0
    text = (run / "report.md").read_text()
    assert "## Refined winner (fine-tuned in its place)" in text and "5 candidates, looked up in a table" in text


def test_a_short_training_ranks_on_validation_and_resumes(tmp_path_factory) -> None:
    run = shared_tiny_run(tmp_path_factory, "refine_train")
    argv = ["--run_dir", str(run), "--refine.k", "2", "--refine.shortlist", "{fitness: 2}", "--refine.epochs", "2",
            "--refine.data_fraction", "0.2"]  # fmt: skip
    assert main(argv) == 0
    rows = _rows(run)
    assert len(rows) == 2 and all(r["measured_by"] == "trained" and float(r["seconds"]) > 0 for r in rows)
    for r in rows:
        accs = json.loads(r["val_acc"])
        assert len(accs) == 2 and all(0.0 <= a <= 100.0 for a in accs) and float(r["best_val_acc"]) == max(accs)
    first = results_of(run)["refined"]
    assert first["measured_by"] == "trained" and first["trainings_now"] == 2
    assert main(argv) == 0
    assert results_of(run)["refined"]["trainings_now"] == 0 and results_of(run)["refined"]["winner"] == first["winner"]
    assert main([*argv, "--refine.epochs", "1"]) == 0  # another schedule: trained again, its own rows
    assert len(_rows(run)) == 4


def test_a_search_with_refine_enabled_refines_at_its_end(tmp_path: Path) -> None:
    from lightning_nas.callbacks.defaults import default_callbacks
    from lightning_nas.callbacks.refine import RefineStage

    from lightning_nas.search.engine import Search

    cfg = tiny_config(tmp_path, "--refine.enabled", "true", "--refine.table", str(_hp12()), "--refine.k", "3",
                      "--refine.shortlist", "{fitness: 1, space_capacity: 2}")  # fmt: skip
    assert [type(cb).__name__ for cb in default_callbacks(cfg)][-2:] == ["RefineStage", "SearchReport"]
    out = io.StringIO()
    Search(cfg, callbacks=[RefineStage(out)]).run()
    refined = results_of(Path(cfg.run_dir))["refined"]
    assert refined["shortlist"] == 3 and "refine: winner" in out.getvalue()
    assert results_of(Path(cfg.run_dir))["best"]["key"]  # the proxy's answer stays beside it


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--cost.budget", "1"], r"--cost.budget cannot differ from the search it refines"),
        (["--refine.shortlist", "{best: 3}"], r"refine.shortlist source 'best'.*fitness, capacity, space_capacity"),
        (["--refine.data_fraction", "0"], r"refine.data_fraction must be in \(0, 1\], got 0"),
        (["--refine.table", "/nope.csv"], r"refine.table .*/nope.csv"),
        (["--refine.network", "huge"], r"refine.network"),
    ],
)
def test_bad_refine_input_is_one_line(tmp_path_factory, capsys, extra, message) -> None:
    run = shared_tiny_run(tmp_path_factory, "refine_bad")
    refused(capsys, message, ["--run_dir", str(run), *extra])
    assert not (run / "refine.csv").exists() and "refined" not in results_of(run)


def refused(capsys, message: str, argv: list[str]) -> None:
    """The command exits 2 with one `error:` line matching `message`."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and re.search(message, err[0]), err


def test_a_table_without_the_column_or_the_arch_is_refused(tmp_path_factory, tmp_path, capsys) -> None:
    run = shared_tiny_run(tmp_path_factory, "refine_table_bad")
    refused(capsys, r"has no column 'cifar10.valid_acc_200ep'",
            ["--run_dir", str(run), "--refine.table", str(_hp12()), "--refine.table_column", "cifar10.valid_acc_200ep"])
    partial = tmp_path / "partial.csv"
    partial.write_text("arch_index,cifar10.valid_acc_12ep\n" + "".join(f"{i},{np.nan if i else 50}\n" for i in range(2)))
    refused(capsys, r"has no cifar10.valid_acc_12ep for .*NB201 index",
            ["--run_dir", str(run), "--refine.table", str(partial), "--refine.table_seconds_column", "null"])
    refused(capsys, r"give --run_dir RUN_DIR", [])
