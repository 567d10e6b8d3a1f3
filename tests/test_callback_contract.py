"""The one callback contract: every shipped callback subclasses `SearchCallback`, the engine calls every
hook of a subclass with a `SearchView` first, and a duck-typed callback with only some hooks still works."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re
from pathlib import Path
from typing import Any

import lightning_nas.callbacks as callbacks_pkg
import pytest
from lightning_nas.callbacks.base import HOOKS, DuckCallback, SearchCallback, as_callback

from lightning_nas.search.engine import Search
from lightning_nas.search.view import SearchView
from tests.conftest import REPO


def shipped_callbacks() -> list[type]:
    """Every class in `lightning_nas.callbacks` that defines a search hook."""
    found = []
    for info in pkgutil.iter_modules(callbacks_pkg.__path__):
        module = importlib.import_module(f"lightning_nas.callbacks.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and any(h in vars(cls) for h in HOOKS):
                found.append(cls)
    return found


def test_every_shipped_callback_subclasses_the_base() -> None:
    classes = shipped_callbacks()
    names = {c.__name__ for c in classes}
    assert {"ConsoleProgress", "GenerationProgressBar", "TensorBoardSearchLogger", "SearchReport", "FinetuneWinner"} <= names
    assert all(issubclass(c, SearchCallback) for c in classes), classes


def test_no_hook_is_looked_up_by_name_outside_the_adapter() -> None:
    pattern = re.compile(r"\b(getattr|hasattr)\([^)]*on_")
    product = [p for p in Path(REPO, "lightning_nas").rglob("*.py") if "callbacks" not in p.parts]
    files = [*product, *(p for p in Path(REPO, "callbacks").glob("*.py") if p.name != "base.py")]
    hits = [str(p) for p in files if pattern.search(p.read_text())]
    assert not hits


class Recording(SearchCallback):
    """Records each hook call with the view it was given."""

    def __init__(self, fail_at: str | None = None) -> None:
        self.calls: list[tuple[str, SearchView]] = []
        self.fail_at = fail_at

    def _record(self, hook: str, view: SearchView) -> None:
        assert isinstance(view, SearchView)
        self.calls.append((hook, view))
        if hook == self.fail_at:
            raise RuntimeError("stop here")

    def on_search_start(self, search: SearchView) -> None:
        self._record("on_search_start", search)

    def on_candidate_scored(self, search: SearchView, generation: int, done: int, total: int) -> None:
        self._record("on_candidate_scored", search)

    def on_candidate_evaluated(self, search: SearchView, record: dict[str, Any]) -> None:
        self._record("on_candidate_evaluated", search)

    def on_generation_end(self, search: SearchView, generation: int, summary: dict[str, Any]) -> None:
        self._record("on_generation_end", search)

    def on_search_end(self, search: SearchView, results: dict[str, Any]) -> None:
        self._record("on_search_end", search)

    def on_exception(self, search: SearchView, error: BaseException) -> None:
        self._record("on_exception", search)


def test_the_engine_calls_every_hook_of_a_subclass(tiny_cfg, tmp_path: Path) -> None:
    rec = Recording()
    cfg = tiny_cfg("--run_dir", str(tmp_path / "run"))
    results = Search(cfg, [rec]).run()
    assert {hook for hook, _ in rec.calls} == set(HOOKS) - {"on_exception"}
    first, last = rec.calls[0][1], rec.calls[-1][1]
    assert first.generation == 0 and first.evaluations == 0 and first.run_dir == tmp_path / "run"
    assert first.cfg is cfg and first.goal and "search:" in first.config_yaml and first.backend is not None
    assert last.generation == cfg.search.generations - 1 and last.evaluations == results["evaluations"]
    assert last.best is not None and last.best["key"] == results["best"]["key"]
    assert len(last.population(0)) == cfg.search.population
    with pytest.raises(dataclasses.FrozenInstanceError):
        last.generation = 5  # type: ignore[misc]

    failing = Recording(fail_at="on_generation_end")
    with pytest.raises(RuntimeError, match="stop here"):
        Search(tiny_cfg("--run_dir", str(tmp_path / "fail")), [failing]).run()
    assert failing.calls[-1][0] == "on_exception"


class OneHook:
    """An old-style callback: no base class, one hook."""

    def __init__(self) -> None:
        self.generations: list[int] = []

    def on_generation_end(self, search: Any, generation: int, summary: dict[str, Any]) -> None:
        self.generations.append(generation)


def test_an_old_style_callback_with_one_hook_still_works(tiny_cfg, tmp_path: Path) -> None:
    old = OneHook()
    assert isinstance(as_callback(old), DuckCallback) and as_callback(Recording()).__class__ is Recording
    results = Search(tiny_cfg("--run_dir", str(tmp_path / "run")), [old]).run()
    assert old.generations == list(range(results["generations"]))
