"""A progress bar inside each generation (tqdm, on stderr): `gen 3/10`, new candidates scored / total,
elapsed, ETA and rate, whatever the backend (the search process is told each score as it arrives, see
`SearchCallback.on_candidate_scored`). It is cleared when the generation's last score arrives (leave=False),
so `ConsoleProgress`'s per-generation line is printed on a clean line, unchanged; also at generation end,
search end and on an exception (Ctrl-C). Off when stderr is not a terminal (a pipe, a file, CI) or when
TQDM_DISABLE is set, unless `enabled` says otherwise."""

from __future__ import annotations

import os
import sys
import threading
from typing import TYPE_CHECKING, Any

from lightning_nas.callbacks.base import SearchCallback
from tqdm import tqdm

if TYPE_CHECKING:
    from lightning_nas.search.view import SearchView


class GenerationProgressBar(SearchCallback):
    """enabled: None = auto (stream is a terminal and TQDM_DISABLE unset), True / False = always / never.
    stream: where the bar is drawn (default sys.stderr, looked up when a bar opens). refresh_seconds: how
    often the elapsed time and ETA are redrawn while no score arrives (a candidate can train for minutes);
    0 = only when a score arrives."""

    def __init__(self, enabled: bool | None = None, stream: Any = None, refresh_seconds: float = 1.0) -> None:
        self.enabled = enabled
        self.stream = stream
        self.refresh_seconds = refresh_seconds
        self._bar: tqdm | None = None
        self._generation: int | None = None
        self._stop: threading.Event | None = None
        self._lock = threading.Lock()  # the refresher thread and the search process's updates

    def _stream(self) -> Any:
        return self.stream if self.stream is not None else sys.stderr

    def active(self) -> bool:
        """Whether a bar is drawn: `enabled`, or in auto mode a terminal and no TQDM_DISABLE."""
        if self.enabled is not None:
            return self.enabled
        if os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false", "no"):
            return False
        try:
            return bool(self._stream().isatty())
        except (AttributeError, OSError, ValueError):  # no isatty, or a closed stream
            return False

    def on_candidate_scored(self, search: SearchView, generation: int, done: int, total: int) -> None:
        if self._bar is not None and self._generation != generation:
            self.close()
        if self._bar is None:
            if done >= total or not self.active():
                return
            self._open(search, generation, done, total)
        assert self._bar is not None
        with self._lock:
            self._bar.update(done - self._bar.n)
        if done >= total:
            self.close()  # before the generation's line is printed

    def _open(self, search: SearchView, generation: int, done: int, total: int) -> None:
        self._generation = generation
        stream = self._stream()
        no_width = _columns(stream) == 0  # a terminal that reports no size (some ptys): tqdm would draw nothing
        self._bar = tqdm(
            total=total,
            initial=done,
            desc=f"gen {generation + 1}/{search.cfg.search.generations}",
            unit="cand",
            leave=False,
            file=stream,
            dynamic_ncols=not no_width,
            ncols=79 if no_width else None,  # as tqdm on an 80-column terminal
            disable=False,
        )
        if self.refresh_seconds > 0:
            self._stop = threading.Event()
            threading.Thread(
                target=self._refresh, args=(self._bar, self._stop), name="generation-progress-bar", daemon=True
            ).start()

    def _refresh(self, bar: tqdm, stop: threading.Event) -> None:
        while not stop.wait(self.refresh_seconds):
            with self._lock:
                if self._bar is not bar:
                    return
                bar.refresh()

    def close(self) -> None:
        """Clear and close the open bar, if any (idempotent)."""
        with self._lock:
            bar, self._bar = self._bar, None
            stop, self._stop = self._stop, None
        if stop is not None:
            stop.set()
        if bar is not None:
            bar.close()

    def on_generation_end(self, search: SearchView, generation: int, summary: dict[str, Any]) -> None:
        self.close()

    def on_search_end(self, search: SearchView, results: dict[str, Any]) -> None:
        self.close()

    def on_exception(self, search: SearchView, error: BaseException) -> None:
        self.close()


def _columns(stream: Any) -> int | None:
    """The terminal's width, None when the stream is no terminal (a file, a StringIO)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return None
