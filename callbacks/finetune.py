"""Fine-tune the search's winner when the search ends (`finetune.enabled: true`), with the `finetune`
section of the run's config; writes finetune.json and the exports into the run directory."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from lightning_nas.callbacks.base import SearchCallback

if TYPE_CHECKING:
    from lightning_nas.search.view import SearchView


class FinetuneWinner(SearchCallback):
    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stdout
        self.record: dict[str, Any] | None = None

    def on_search_end(self, search: SearchView, results: dict[str, Any]) -> None:
        from lightning_nas.training.finetune import Target, choose_winner, run_finetune, summary_line

        genotype, source = choose_winner(results, search.space, search.cfg.finetune.prefer_feasible)
        print(
            f"fine-tuning the winner ({source}): {search.space.describe(genotype)}",
            file=self.stream,
            flush=True,
        )
        self.record = run_finetune(search.cfg, Target(genotype, source, search.run_dir))
        print(summary_line(self.record), file=self.stream, flush=True)
