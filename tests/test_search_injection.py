"""`Search(cfg, scorer=..., backend=...)`: a process running many searches shares one scorer per setting
(`ScorerMemo`, keyed by what the scorer is built from) and may bring its own backend; the results are those
of a search that built both itself."""

from __future__ import annotations

import pytest

from lightning_nas.backends import build_backend
from lightning_nas.pipeline import ScorerMemo, scorer_key
from lightning_nas.search.compare import result_differences, row_differences
from lightning_nas.search.engine import Search
from tests.run_fixtures import rows_of

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_a_shared_scorer_is_built_once_per_setting_and_changes_no_result(tiny_cfg, tmp_path):
    memo = ScorerMemo()
    alone = Search(tiny_cfg("--run_dir", str(tmp_path / "alone")), callbacks=[]).run()
    first = Search(tiny_cfg("--run_dir", str(tmp_path / "first")), callbacks=[], scorer=memo).run()
    other_budget = tiny_cfg("--run_dir", str(tmp_path / "budget"), "--cost.budget", "20", "--search.seed", "3")
    Search(other_budget, callbacks=[], scorer=memo).run()
    assert len(memo) == 1  # another budget and GA seed: the same scorer
    assert not result_differences(first, alone) and not row_differences(rows_of(tmp_path / "first"), rows_of(tmp_path / "alone"))
    Search(tiny_cfg("--run_dir", str(tmp_path / "steps"), "--proxy.steps", "2"), callbacks=[], scorer=memo).run()
    assert len(memo) == 2  # another proxy setting: another scorer


def test_the_scorer_key_follows_what_the_scorer_is_built_from(tiny_cfg):
    base = scorer_key(tiny_cfg())
    assert scorer_key(tiny_cfg("--cost.budget", "20", "--search.population", "6", "--proxy.table", "x.csv.gz")) == base
    for change in (["--seed", "1"], ["--proxy.lr", "0.5"], ["--probe.batch_size", "8"], ["--space.C", "8"], ["--threads", "2"]):
        assert scorer_key(tiny_cfg(*change)) != base, change


def test_a_given_backend_is_used_and_left_open(tiny_cfg, tmp_path):
    cfg = tiny_cfg("--run_dir", str(tmp_path / "run"))
    backend = build_backend(cfg)
    closed: list[bool] = []
    backend.close = lambda: closed.append(True)  # type: ignore[method-assign]
    results = Search(cfg, callbacks=[], backend=backend).run()
    assert results["evaluations"] == 8 and closed == []  # the caller closes what it brought
