"""The one definition of "the same results" (lightning_nas.search.compare)."""

from __future__ import annotations

import copy
import math

from lightning_nas.search.compare import TOL, result_differences, row_differences, same_results


def _cand(key: str, rmi: float) -> dict:
    return {"key": key, "rmi": rmi, "cka": [rmi / 2, rmi / 2], "fitness": rmi, "feasible": True, "description": key}


RESULTS = {
    "best": _cand("a", 2.5),
    "hall_of_fame": [_cand("a", 2.5), _cand("b", 2.0)],
    "logbook": [{"gen": 0, "max": 2.5, "mean": 1.0, "min": -math.inf, "draws": 4}],
    "trained": 7,
    "cache_hits": 1,
    "wall_seconds": 3.0,
}
ROWS = [{"generation": 0, "individual": 0, "key": "a", "rmi": 2.5, "fitness": 2.5, "feasible": True, "seconds": 1.0,
         "cache_hit": False, "cost_flops": float("nan")}]  # fmt: skip


def test_identical_and_counter_only_changes_are_the_same():
    other = copy.deepcopy(RESULTS) | {"trained": 0, "cache_hits": 9, "wall_seconds": 99.0}
    rows = [ROWS[0] | {"seconds": 0.0, "cache_hit": True}]
    assert same_results(RESULTS, other, ROWS, rows)


def test_differences_beyond_the_tolerance_are_named():
    moved = copy.deepcopy(RESULTS)
    moved["hall_of_fame"][1]["rmi"] += 10 * TOL
    assert result_differences(RESULTS, moved) == ["hall_of_fame differs"]
    within = copy.deepcopy(RESULTS)
    within["best"]["cka"][0] += TOL / 10
    assert not result_differences(RESULTS, within)
    swapped = copy.deepcopy(RESULTS)
    swapped["best"] = _cand("b", 2.5)
    assert result_differences(RESULTS, swapped)[0].startswith("best: a")
    log = copy.deepcopy(RESULTS)
    log["logbook"][0]["draws"] = 5
    assert result_differences(RESULTS, log) == ["logbook differs"]


def test_rows_compare_every_field_but_timing_and_cache_origin():
    assert row_differences(ROWS, [ROWS[0] | {"fitness": 2.6}]) == ["generation 0 individual 0: fitness"]
    assert row_differences(ROWS, [ROWS[0] | {"cost_flops": 1.0}]) == ["generation 0 individual 0: cost_flops"]
    assert row_differences(ROWS, ROWS + ROWS) == ["1 evaluations vs 2"]
    assert not same_results(RESULTS, RESULTS, ROWS, [ROWS[0] | {"feasible": False}])
