"""`search.seed` seeds the GA only (the run's `seed` keeps seeding candidate init, part of every score's
key), so several GA seeds share one set of scores; `search.checkpoint_every` thins checkpoints without
changing results, and may change on resume."""

from __future__ import annotations

import json

import pytest

from lightning_nas.errors import ConfigError
from lightning_nas.search.compare import result_differences, row_differences
from lightning_nas.search.engine import Search

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def run(tiny_cfg, tmp_path, name: str, *extra: str) -> dict:
    return Search(tiny_cfg("--run_dir", str(tmp_path / name), "--search.generations", "3", *extra), callbacks=[]).run()


def rows(tmp_path, name: str) -> list[dict]:
    return json.loads((tmp_path / name / "checkpoint.json").read_text())["rows"]


def test_the_ga_seed_changes_the_search_not_the_scores(tiny_cfg, tmp_path):
    from lightning_nas.pipeline import build_problem, build_scorer

    base = run(tiny_cfg, tmp_path, "base")
    same = run(tiny_cfg, tmp_path, "same", "--search.seed", "0")  # = the run's seed
    assert result_differences(same, base) == [] and row_differences(rows(tmp_path, "same"), rows(tmp_path, "base")) == []
    run(tiny_cfg, tmp_path, "other", "--search.seed", "7")
    first = [r for r in rows(tmp_path, "other") if r["generation"] == 0]
    assert [r["key"] for r in first] != [r["key"] for r in rows(tmp_path, "base") if r["generation"] == 0]  # another search
    problem = build_problem(tiny_cfg("--run_dir", str(tmp_path / "x")), check_budgets=False)
    evaluator = build_scorer(problem).evaluator  # the run's seed 0: the candidates' init
    for row in first:  # the same candidate init as a search seeded 0 throughout: the same score
        assert evaluator.evaluate(problem.space.from_json(row["genotype"])).rmi == row["rmi"]
    run(tiny_cfg, tmp_path, "moved", "--seed", "5", "--search.seed", "7")  # the run's seed moves init: other scores
    moved = [r for r in rows(tmp_path, "moved") if r["generation"] == 0]
    assert [r["key"] for r in moved] == [r["key"] for r in first] and [r["rmi"] for r in moved] != [r["rmi"] for r in first]


def test_fewer_checkpoints_same_results_and_resumable(tiny_cfg, tmp_path):
    base = run(tiny_cfg, tmp_path, "base")
    thin = run(tiny_cfg, tmp_path, "thin", "--search.checkpoint_every", "0")
    assert json.loads((tmp_path / "thin" / "checkpoint.json").read_text())["generation"] == 3
    assert result_differences(thin, base) == [] and row_differences(rows(tmp_path, "thin"), rows(tmp_path, "base")) == []
    longer = Search(
        tiny_cfg("--resume", str(tmp_path / "thin"), "--search.generations", "4", "--search.checkpoint_every", "1"), callbacks=[]
    ).run()
    full = run(tiny_cfg, tmp_path, "full", "--search.generations", "4")
    assert result_differences(longer, full) == []


def test_checkpoint_every_is_checked(tiny_cfg, tmp_path):
    with pytest.raises(ConfigError, match=r"search.checkpoint_every must be >= 0 .*got -1"):
        run(tiny_cfg, tmp_path, "bad", "--search.checkpoint_every", "-1")
    assert not (tmp_path / "bad").exists()
