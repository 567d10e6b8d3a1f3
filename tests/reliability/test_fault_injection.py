"""The fault-injection loop (benchmarks/fault_injection.py): a real small search killed 20 times with
SIGKILL or SIGINT at seeded random moments and resumed each time; every run finished this way must give
the same results as the uninterrupted one. About 10 minutes on 2 cores: `slow`, run by .ci/run."""

from __future__ import annotations

import sys

import pytest

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

import fault_injection  # noqa: E402


@pytest.mark.slow
def test_twenty_kills_at_random_moments_then_the_same_results(tmp_path):
    summary, rows = fault_injection.inject(tmp_path, kills=20, seed=0)
    print(fault_injection.last_line(summary), summary["phases"])
    assert summary["kills"] == 20 and summary["sigkill"] + summary["sigint"] == 20
    assert summary["bad_exits"] == 0, [r for r in rows if not r["expected_exit"]]
    assert summary["tracebacks"] == 0, [r for r in rows if r["traceback"]]
    assert summary["finished"] >= 1 and summary["mismatches"] == 0, summary["mismatch_details"]
    assert summary["resumes"] >= 10  # most kills were followed by a resume, not a fresh start
    assert all(summary["moments"][m] >= 1 for m in fault_injection.MOMENTS), summary["moments"]
