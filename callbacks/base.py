"""`SearchCallback`: a no-op implementation of every search hook (`lightning_nas.search.hooks.SearchHooks`);
a callback overrides the ones it needs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lightning_nas.search.engine import Search


class SearchCallback:
    def on_search_start(self, search: Search) -> None:
        """Before the first evaluation (also when resuming)."""

    def on_candidate_scored(self, search: Search, generation: int, done: int, total: int) -> None:
        """Each time one of the generation's `total` new candidates has its score (done 0 first)."""

    def on_candidate_evaluated(self, search: Search, record: dict[str, Any]) -> None:
        """After each candidate: `record` is its row of evaluations.csv."""

    def on_generation_end(self, search: Search, generation: int, summary: dict[str, Any]) -> None:
        """After each generation's checkpoint."""

    def on_search_end(self, search: Search, results: dict[str, Any]) -> None:
        """After results.json is written."""

    def on_exception(self, search: Search, error: BaseException) -> None:
        """When the run stops with an exception (Ctrl-C included), before it propagates."""
