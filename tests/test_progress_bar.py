"""The progress bar inside a generation: the `on_candidate_scored` hook counts a generation's new candidates
0..total as their scores arrive (serial and local workers, persistent-cache hits included), the bar draws
only on a terminal (or when forced), and it is gone before `ConsoleProgress` prints the generation's line."""

from __future__ import annotations

import io
import re
import time
from types import SimpleNamespace
from typing import Any

import pytest
from lightning_nas.callbacks.base import SearchCallback
from lightning_nas.callbacks.progress import ConsoleProgress
from lightning_nas.callbacks.progress_bar import GenerationProgressBar

from lightning_nas.search.engine import Search

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def screen(text: str) -> list[str]:
    """What a terminal shows after `text`: a carriage return moves to column 0 and overwrites; blank
    lines are dropped."""
    lines: list[str] = []
    for raw in text.split("\n"):
        line: list[str] = []
        for part in raw.split("\r"):
            line[: len(part)] = part
        lines.append("".join(line).rstrip())
    return [line for line in lines if line]


class Recorder(SearchCallback):
    """Every hook call, in order, as (hook, generation, ...)."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def on_candidate_scored(self, search: Any, generation: int, done: int, total: int) -> None:
        self.events.append(("scored", generation, done, total))

    def on_candidate_evaluated(self, search: Any, record: dict[str, Any]) -> None:
        self.events.append(("evaluated", record["generation"]))

    def on_generation_end(self, search: Any, generation: int, summary: dict[str, Any]) -> None:
        self.events.append(("end", generation, summary["new"]))

    def scored(self, generation: int) -> list[tuple[int, int]]:
        return [(e[2], e[3]) for e in self.events if e[0] == "scored" and e[1] == generation]


class PrintedLines(ConsoleProgress):
    """ConsoleProgress that also keeps what it printed."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.printed: list[str] = []

    def _print(self, text: str) -> None:
        self.printed.append(text)
        super()._print(text)


def check_counts(rec: Recorder, generations: int) -> list[int]:
    """Each generation: done 0, 1, ..., total (total = its new candidates), all before its rows and its end."""
    totals = []
    for gen in range(generations):
        calls = rec.scored(gen)
        total = calls[0][1]
        assert calls == [(done, total) for done in range(total + 1)], (gen, calls)
        ends = [e for e in rec.events if e[0] == "end" and e[1] == gen]
        assert ends == [("end", gen, total)]  # total == the generation's new (not cache-hit) rows
        first_row = next(k for k, e in enumerate(rec.events) if e[:2] == ("evaluated", gen))
        last_scored = max(k for k, e in enumerate(rec.events) if e[:2] == ("scored", gen))
        assert last_scored < first_row
        totals.append(total)
    return totals


def test_counts_each_generation_and_the_bar_is_gone_before_the_generation_line(tiny_cfg, tmp_path) -> None:
    """Serial backend: the hook's counts; then the same search again from the persistent cache (nothing
    trained: every count is a cache hit). The bar and ConsoleProgress share one fake terminal: what it
    shows in the end is exactly ConsoleProgress's lines (the bar was drawn, then cleared, never interleaved)."""
    rec, tty = Recorder(), FakeTTY()
    console = PrintedLines(tty)
    bar = GenerationProgressBar(stream=tty, refresh_seconds=0.01)  # auto: on, the stream is a terminal
    # the console before the bar: the bar must be gone when the generation's last score arrives
    first = Search(tiny_cfg("--run_dir", str(tmp_path / "a")), [rec, console, bar]).run()
    totals = check_counts(rec, 2)
    assert sum(totals) == first["trained"] > 0
    out = tty.getvalue()
    assert re.search(r"gen 1/2: +0%\|.*\| 0/\d+ \[", out), out  # the bar was drawn, with its count
    assert screen(out) == console.printed  # ... and cleared: only the console's lines remain, unchanged
    assert console.printed[1].startswith("gen   1/2  best ")

    again = Recorder()
    second = Search(tiny_cfg("--run_dir", str(tmp_path / "b")), [again]).run()
    assert second["trained"] == 0 and second["persistent_cache_hits"] == sum(check_counts(again, 2)) == sum(totals)


def test_counts_with_local_workers(tiny_cfg, tmp_path) -> None:
    rec = Recorder()
    cfg = tiny_cfg(
        "--run_dir", str(tmp_path / "run"), "--cache.enabled", "false",
        "--search.backend", "local", "--search.workers", "2",
    )  # fmt: skip
    results = Search(cfg, [rec]).run()
    assert sum(check_counts(rec, 2)) == results["trained"] == results["unique_evaluations"] > 0


class OldStyle:
    """A callback written before on_candidate_scored / on_exception existed (no SearchCallback base)."""

    def __init__(self) -> None:
        self.ends = 0

    def on_search_start(self, search: Any) -> None: ...
    def on_candidate_evaluated(self, search: Any, record: dict[str, Any]) -> None: ...
    def on_generation_end(self, search: Any, generation: int, summary: dict[str, Any]) -> None:
        self.ends += 1

    def on_search_end(self, search: Any, results: dict[str, Any]) -> None: ...


class CtrlC(SearchCallback):
    def __init__(self) -> None:
        self.seen: BaseException | None = None

    def on_candidate_scored(self, search: Any, generation: int, done: int, total: int) -> None:
        if done == 1:
            raise KeyboardInterrupt

    def on_exception(self, search: Any, error: BaseException) -> None:
        self.seen = error


def test_ctrl_c_inside_a_generation_clears_the_bar(tiny_cfg, tmp_path) -> None:
    tty, old, stop = FakeTTY(), OldStyle(), CtrlC()
    bar = GenerationProgressBar(stream=tty)
    search = Search(tiny_cfg("--run_dir", str(tmp_path / "run")), [bar, old, stop])
    with pytest.raises(KeyboardInterrupt):
        search.run()
    assert isinstance(stop.seen, KeyboardInterrupt) and old.ends == 0
    assert "gen 1/2" in tty.getvalue() and screen(tty.getvalue()) == []  # drawn, then cleared
    old_only = Search(tiny_cfg("--run_dir", str(tmp_path / "old")), [old]).run()
    assert old.ends == 2 and old_only["evaluations"] == 8


SEARCH = SimpleNamespace(cfg=SimpleNamespace(search=SimpleNamespace(generations=10)))


def drive(bar: GenerationProgressBar, total: int = 3, pause: float = 0.0) -> None:
    for done in range(total + 1):
        bar.on_candidate_scored(SEARCH, 2, done, total)
        time.sleep(pause)


@pytest.mark.parametrize(
    "stream, enabled, env",
    [(io.StringIO(), None, None), (FakeTTY(), False, None), (FakeTTY(), None, "1")],
    ids=["not-a-terminal", "disabled", "TQDM_DISABLE"],
)
def test_bar_writes_nothing_when_off(stream, enabled, env, monkeypatch) -> None:
    if env is not None:
        monkeypatch.setenv("TQDM_DISABLE", env)
    else:
        monkeypatch.delenv("TQDM_DISABLE", raising=False)
    bar = GenerationProgressBar(enabled=enabled, stream=stream)
    drive(bar)
    bar.on_generation_end(SEARCH, 2, {})
    assert stream.getvalue() == "" and not bar.active()


@pytest.mark.parametrize("stream, enabled", [(io.StringIO(), True), (FakeTTY(), None)], ids=["forced", "terminal"])
def test_bar_draws_done_of_total_then_clears(stream, enabled, monkeypatch) -> None:
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    bar = GenerationProgressBar(enabled=enabled, stream=stream, refresh_seconds=0)
    drive(bar, total=3, pause=0.15)  # past tqdm's 0.1 s between redraws
    out = stream.getvalue()
    assert "gen 3/10:" in out and "0/3" in out and "2/3" in out and "cand/s" in out
    assert screen(out) == []  # leave=False: the line is blank again once the generation's scores are in


def test_bar_keeps_time_moving_between_scores_and_closes_on_error() -> None:
    """A candidate can train for minutes: the refresher redraws elapsed time without a new score; an
    exception (Ctrl-C) clears the open bar and stops the refresher."""
    tty = FakeTTY()
    bar = GenerationProgressBar(stream=tty, enabled=True, refresh_seconds=0.05)
    bar.on_candidate_scored(SEARCH, 0, 0, 5)
    bar.on_candidate_scored(SEARCH, 0, 1, 5)  # within tqdm's redraw interval: not drawn by the update
    time.sleep(0.4)
    assert "1/5" in tty.getvalue() and tty.getvalue().count("\r") >= 3
    bar.on_exception(SEARCH, KeyboardInterrupt())
    assert screen(tty.getvalue()) == [] and bar._bar is None
    written = tty.getvalue()
    time.sleep(0.2)
    assert tty.getvalue() == written  # nothing redraws a closed bar
    bar.on_generation_end(SEARCH, 0, {})  # closing again is harmless


def test_a_new_generation_replaces_an_unfinished_bar() -> None:
    tty = FakeTTY()
    bar = GenerationProgressBar(stream=tty, enabled=True, refresh_seconds=0)
    bar.on_candidate_scored(SEARCH, 0, 0, 4)
    bar.on_candidate_scored(SEARCH, 1, 0, 2)
    assert "gen 1/10" in tty.getvalue() and "gen 2/10" in tty.getvalue()
    bar.on_candidate_scored(SEARCH, 1, 0, 0)  # no new candidate this generation: no bar
    assert screen(tty.getvalue()) == []
    bar.on_search_end(SEARCH, {})


@pytest.mark.parametrize("columns", [0, 100], ids=["pty-without-a-size", "pty-100-columns"])
def test_bar_on_a_real_pseudo_terminal(columns, monkeypatch) -> None:
    """Auto mode on a pty (isatty true): drawn at the terminal's width, or at 80 columns where the terminal
    reports none (tqdm alone would draw nothing there)."""
    import fcntl
    import os
    import select
    import struct
    import termios

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    with os.fdopen(slave, "w") as tty:
        drive(GenerationProgressBar(stream=tty, refresh_seconds=0), total=3, pause=0.15)
    out = b""
    while select.select([master], [], [], 0.2)[0]:
        try:
            out += os.read(master, 65536)
        except OSError:  # the slave side is closed: all read
            break
    os.close(master)
    drawn = [line for line in out.decode().split("\r") if "gen 3/10" in line]
    assert any("2/3" in line for line in drawn), out
    assert {len(line) for line in drawn} == {(columns or 80) - 1}  # tqdm leaves the last column free
    assert screen(out.decode()) == []
