"""`search.capacity_weight` w: fitness = RMI + w * log10(MFLOPs) + penalty (opt-in; 0 = the paper)."""

from __future__ import annotations

import json
import math
import random

import pytest

from lightning_nas.errors import ConfigError
from lightning_nas.search.engine import Search
from lightning_nas.search.fitness import capacity_term, fitness

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("w", [0.0, 0.05, 0.2, 1.0])
@pytest.mark.parametrize("mflops", [0.5, 1.0, 7.8, 47.1, 220.1])
def test_the_capacity_term_adds_w_log10_flops_to_the_paper_fitness(w: float, mflops: float) -> None:
    paper = fitness(2.5, [30.0], [20.0])
    assert paper == 2.5 - 10.0
    assert fitness(2.5, [30.0], [20.0], capacity=capacity_term(w, mflops)) == pytest.approx(paper + w * math.log10(mflops))
    assert capacity_term(0.0, -1.0) == 0.0 and capacity_term(w or 1.0, 0.0) == -math.inf


def test_a_larger_network_wins_a_tie_and_only_a_tie() -> None:
    small, large = capacity_term(0.2, 10.0), capacity_term(0.2, 100.0)
    assert fitness(2.9, [10.0], [50.0], capacity=large) > fitness(2.9, [10.0], [50.0], capacity=small)
    assert fitness(2.9, [10.0], [50.0], capacity=small) > fitness(2.6, [10.0], [50.0], capacity=large)  # RMI gap 0.3 > 0.2


def test_a_search_adds_the_term_to_every_row_and_a_huge_weight_picks_the_largest(tiny_cfg, tmp_path) -> None:
    from lightning_nas.pipeline import build_problem

    cfg = tiny_cfg("--run_dir", str(tmp_path / "run"), "--search.capacity_weight", "1000", "--search.generations", "3")
    result = Search(cfg, callbacks=[]).run()
    rows = json.loads((tmp_path / "run" / "checkpoint.json").read_text())["rows"]
    problem = build_problem(cfg)
    assert problem.flops is not None
    for row in rows:
        mflops = problem.flops.cost(problem.space.from_json(row["genotype"]))
        assert row["capacity"] == pytest.approx(1000 * math.log10(mflops))
        assert row["fitness"] == pytest.approx(row["rmi"] + row["capacity"] + min(0.0, 12 - row["cost_flops"]))
    assert result["best"]["fitness"] == pytest.approx(max(r["fitness"] for r in rows))
    largest = max((r for r in rows if r["feasible"]), key=lambda r: r["capacity"])
    assert result["best_feasible"]["genotype"] == largest["genotype"]  # RMI (<= 3) cannot outweigh 1000 * log10 FLOPs


def test_without_a_weight_nothing_changes(tiny_cfg, tmp_path) -> None:
    from lightning_nas.pipeline import build_problem

    cfg = tiny_cfg("--run_dir", str(tmp_path / "run"))
    problem = build_problem(cfg)
    assert problem.flops is None and problem.capacity(problem.space.sample(random.Random(0))) == 0.0


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--search.capacity_weight", "-0.1"], r"search.capacity_weight must be a finite number >= 0 .* got -0.1"),
        (["--search.capacity_weight", "nan"], r"search.capacity_weight must be a finite number, got 'nan'"),
        (["--search.capacity_weight", "0.2", "--search.algorithm", "nsga2"], r"capacity_weight works with search.algorithm ga only"),
    ],
)
def test_bad_weights_are_one_line_errors(tiny_cfg, extra, match) -> None:
    from lightning_nas.pipeline import build_problem

    with pytest.raises(ConfigError, match=match):
        build_problem(tiny_cfg(*extra))
