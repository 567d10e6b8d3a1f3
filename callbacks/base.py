"""`SearchCallback`: a Lightning `Callback` that also hears the search's events.

The search is not one Trainer loop (each candidate gets its own short fit), so besides Lightning's
hooks a search callback gets `on_search_start`, `on_candidate_evaluated`, `on_generation_end` and
`on_search_end`. Each receives the running `Search` (config, run directory, space, budgets, ...)."""

from __future__ import annotations

from typing import Any

from lightning.pytorch import Callback


class SearchCallback(Callback):
    def on_search_start(self, search: Any) -> None:
        """Before the first evaluation (also when resuming)."""

    def on_candidate_evaluated(self, search: Any, record: dict[str, Any]) -> None:
        """After each candidate: `record` is its row of evaluations.csv."""

    def on_generation_end(self, search: Any, generation: int, summary: dict[str, Any]) -> None:
        """After each generation: best/mean/worst fitness, best RMI and cost, feasible fraction, ..."""

    def on_search_end(self, search: Any, results: dict[str, Any]) -> None:
        """After results.json is written."""
