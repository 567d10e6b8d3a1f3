"""`SearchCallback`: the one contract of a search callback. The engine (`Search`) calls every hook of every
callback, each with a `SearchView` of the running search first; the base's hooks do nothing, so a callback
overrides the ones it needs.

The search is not one Trainer loop (each candidate gets its own short fit), so these are not Lightning
callbacks. A callback that does not subclass `SearchCallback` (written against the older duck-typed
hooks, with only some of them) is wrapped by `as_callback` in `DuckCallback`: the hooks it has are
called, the others are the base's no-ops."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lightning_nas.search.view import SearchView

HOOKS = (
    "on_search_start",
    "on_candidate_scored",
    "on_candidate_evaluated",
    "on_generation_end",
    "on_search_end",
    "on_exception",
)


class SearchCallback:
    """Every search hook, each a no-op."""

    def on_search_start(self, search: SearchView) -> None:
        """Before the first evaluation (also when resuming)."""

    def on_candidate_scored(self, search: SearchView, generation: int, done: int, total: int) -> None:
        """While a generation's new candidates are scored (`total`: the distinct genotypes the run had not
        scored; 0 when there are none): once with done 0 before the first, then each time one has its
        score (trained by any backend, taken from the persistent cache, or failed), in the search process,
        as the scores arrive; the last call has done == total. `generation` counts from 0."""

    def on_candidate_evaluated(self, search: SearchView, record: dict[str, Any]) -> None:
        """After each candidate: `record` is its row of evaluations.csv."""

    def on_generation_end(self, search: SearchView, generation: int, summary: dict[str, Any]) -> None:
        """After each generation's checkpoint: best/mean/worst fitness, best RMI and costs, feasible
        fraction, counts of new and cached candidates, seconds (NSGA-II: the front's size, hypervolume)."""

    def on_search_end(self, search: SearchView, results: dict[str, Any]) -> None:
        """After results.json is written."""

    def on_exception(self, search: SearchView, error: BaseException) -> None:
        """When the run stops with an exception (Ctrl-C's KeyboardInterrupt included), before it propagates:
        release what the callback holds open (a progress bar, a writer). An exception raised here is
        logged, not raised."""


class DuckCallback(SearchCallback):
    """A callback that does not subclass `SearchCallback`: its own hooks where it has them, else no-ops."""

    def __init__(self, callback: object) -> None:
        self.callback = callback
        for hook in HOOKS:  # the one place that asks which hooks a callback has
            method = getattr(callback, hook, None)
            if callable(method):
                setattr(self, hook, method)

    def __repr__(self) -> str:
        return f"DuckCallback({self.callback!r})"


def as_callback(callback: object) -> SearchCallback:
    """`callback` itself when it subclasses `SearchCallback`, else wrapped in a `DuckCallback`."""
    return callback if isinstance(callback, SearchCallback) else DuckCallback(callback)
