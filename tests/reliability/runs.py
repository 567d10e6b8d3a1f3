"""Helpers for the reliability suites: one small search's arguments, running it in-process or as a
subprocess, and comparing a run with the uninterrupted one (lightning_nas.search.compare)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lightning_nas.search.cli import main
from lightning_nas.search.compare import result_differences, row_differences
from tests.conftest import REPO, tiny_overrides
from tests.run_fixtures import rows_of


def search_args(root: Path, *extra: str) -> list[str]:
    """The tiny search (digits, NB201 C4/N1, population 4, 3 proxy steps) at one torch thread, its
    reference and persistent caches under `root`."""
    return [*tiny_overrides(root), "--threads", "1", *extra]


def run_main(*argv: str) -> int:
    """`python -m lightning_nas.search ARGV` in this process; its exit code."""
    try:
        return main(list(argv))
    except SystemExit as stop:
        return int(stop.code or 0)


def spawn(*argv: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "lightning_nas.search", *argv],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def copy_run(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def results(run: Path) -> dict:
    return json.loads((run / "results.json").read_text())


def assert_same_results(run: Path, reference: Path) -> None:
    """The one definition of "the same results": best, hall of fame, logbook and every evaluation."""
    assert not result_differences(results(run), results(reference))
    assert not row_differences(rows_of(run), rows_of(reference))


def trained_keys(run: Path) -> list[str]:
    """Keys of the candidates the run trained (evaluations.jsonl, readable lines only)."""
    keys = []
    for line in (run / "evaluations.jsonl").read_bytes().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("trained"):
            keys.append(entry["key"])
    return keys


def one_error_line(err: str, *needles: str) -> str:
    """The single `error: ...` line of a failed CLI call, checked to contain each needle."""
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for needle in needles:
        if needle not in lines[0]:
            pytest.fail(f"{needle!r} not in {lines[0]!r}")
    return lines[0]
