"""Where a run's proxy scores come from besides training: a table of precomputed scores (`proxy.table`,
read-only, matched on the run's settings) or the persistent cache (`cache.enabled`, read and written).
Both are a `ScoreSource`; the search assembles the one its config asks for."""

from __future__ import annotations

from typing import Any, Protocol

from lightning_nas.rmi.evaluator import ProxyResult


class ScoreSource(Protocol):
    def lookup(self, key: str) -> ProxyResult | None:
        """The stored score of the genotype with this key, or None (then it is trained)."""
        ...

    def store(self, key: str, result: ProxyResult) -> None:
        """Keep a score computed by this run (a table keeps nothing)."""
        ...


def open_score_source(cfg: Any, scorer: Any, space: Any, required: bool = False) -> ScoreSource | None:
    """The table of scores when `proxy.table` is set (refused in one line when computed under other
    settings), else the persistent cache (None when disabled or unusable, unless `required`)."""
    if cfg.proxy.table:
        from lightning_nas.rmi.score_key import run_score_parts
        from lightning_nas.tables.rmi_table import open_table_scores

        return open_table_scores(cfg.proxy.table, space, run_score_parts(scorer, space), scorer.info["settings"])
    from lightning_nas.rmi.cache import open_run_cache

    return open_run_cache(cfg, scorer, space, required)
