"""The search's hooks: what a search callback (console, TensorBoard, report, fine-tune) may implement.

The search is not one Trainer loop (each candidate gets its own short fit), so these are not Lightning
callbacks: `Search.run` calls them directly, each with the running search (its config, run directory,
space, objectives and records). `on_candidate_scored` and `on_exception` are optional: a callback written
before they existed (without them) still works."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from lightning_nas.search.engine import Search


@runtime_checkable
class SearchHooks(Protocol):
    def on_search_start(self, search: Search) -> None:
        """Before the first evaluation (also when resuming)."""

    def on_candidate_scored(self, search: Search, generation: int, done: int, total: int) -> None:
        """While a generation's new candidates are scored (`total`: the distinct genotypes the run had not
        scored; 0 when there are none): once with done 0 before the first, then each time one has its
        score (trained by any backend, taken from the persistent cache, or failed), in the search process,
        as the scores arrive; the last call has done == total. `generation` counts from 0."""

    def on_candidate_evaluated(self, search: Search, record: dict[str, Any]) -> None:
        """After each candidate: `record` is its row of evaluations.csv."""

    def on_generation_end(self, search: Search, generation: int, summary: dict[str, Any]) -> None:
        """After each generation's checkpoint: best/mean/worst fitness, best RMI and costs, feasible
        fraction, counts of new and cached candidates, seconds."""

    def on_search_end(self, search: Search, results: dict[str, Any]) -> None:
        """After results.json is written."""

    def on_exception(self, search: Search, error: BaseException) -> None:
        """When the run stops with an exception (Ctrl-C's KeyboardInterrupt included), before it propagates:
        release what the callback holds open (a progress bar, a writer). An exception raised here is
        logged, not raised."""
