"""Build (once per seed) the RMI scorer and the persistent cache bound to it, and score genotypes
through the cache: a cached key is a look-up, a new one is trained and stored."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from _common import base_overrides

from lightning_nas.config import RunConfig, parse_config
from lightning_nas.pipeline import Problem, Scorer, ScorerMemo, build_problem
from lightning_nas.rmi.cache import RunCache, open_run_cache


@dataclass
class Scoring:
    cfg: RunConfig
    problem: Problem
    scorer: Scorer
    cache: RunCache
    trained: int = 0
    looked_up: int = 0

    def rmi(self, genotype: Any) -> float:
        key = self.problem.space.key(genotype)
        result = self.cache.lookup(key)
        if result is None:
            result = self.scorer.evaluator.evaluate(genotype)
            self.cache.store(key, result)
            self.trained += 1
        else:
            self.looked_up += 1
        return result.rmi


@functools.lru_cache(maxsize=8)
def scoring_for(seed: int, cache_path: str | None, extra: tuple[str, ...] = ()) -> Scoring:
    cfg, _ = parse_config(base_overrides(seed, cache_path, list(extra)))
    problem = build_problem(cfg, check_budgets=False)
    scorer = SCORERS(problem)
    cache = open_run_cache(cfg, scorer, problem.space)
    assert cache is not None, "the benchmarks need the persistent cache (cache.enabled)"
    return Scoring(cfg, problem, scorer, cache)


SCORERS = ScorerMemo()  # one scorer per setting that changes scores, shared by every search of this process
