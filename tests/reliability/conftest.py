"""Two uninterrupted runs of the tiny search, made once per test session and shared (read-only: tests
copy them) by the resume and damaged-file suites: `full` ran 3 generations, `short` the first 2 of the
same search (resumed to 3 generations it must equal `full`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.runs import run_main, search_args
from tests.run_fixtures import one_thread


@pytest.fixture(scope="session")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("uninterrupted")
    with one_thread():
        for name, generations in (("full", "3"), ("short", "2")):
            assert run_main(*search_args(root, "--search.generations", generations, "--run_dir", str(root / name))) == 0
    return root
