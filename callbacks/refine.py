"""Run the refine stage when the search ends (`refine.enabled: true`), before fine-tuning: the short list
trained briefly (or looked up in `refine.table`), the most accurate on validation recorded in results.json
as `refined` (fine-tuning, export and the report then use it)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from lightning_nas.callbacks.base import SearchCallback

if TYPE_CHECKING:
    from lightning_nas.search.view import SearchView


class RefineStage(SearchCallback):
    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stdout
        self.record: dict[str, Any] | None = None

    def on_search_end(self, search: SearchView, results: dict[str, Any]) -> None:
        from lightning_nas.pipeline import build_problem
        from lightning_nas.refine.stage import run_refine

        problem = build_problem(search.cfg, check_budgets=False)
        self.record = run_refine(problem, search.run_dir, list(search.rows), results, self.stream)
