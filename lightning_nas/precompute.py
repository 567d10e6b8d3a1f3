"""`python -m lightning_nas.precompute --config FILE [--limit N --sample_seed S --threads T]`: score many or
all architectures of a finite search space into the persistent evaluation cache (cfg.cache), so that
multi-seed searches and benchmarks become look-ups. Resumable: keys already in the cache are skipped,
and every score is stored as soon as it is computed. A tqdm progress bar shows the rate and the ETA."""

from __future__ import annotations

import random
import sys
import time
from typing import TYPE_CHECKING, Any

from lightning_nas.config import apply_threads, parse_config
from lightning_nas.errors import ConfigError, cli_entry

if TYPE_CHECKING:
    from lightning_nas.rmi.cache import RunCache
    from lightning_nas.spaces.base import Genotype, SearchSpace


def sample_genotypes(space: SearchSpace, limit: int | None, sample_seed: int) -> list[Genotype]:
    """All genotypes of a finite space in a seeded random order, the first `limit` of them when given.
    A shorter limit with the same seed is a prefix of a longer one."""
    genotypes = space.enumerate()
    if genotypes is None:
        raise ConfigError(f"search space {space.name!r} is not finite; precompute needs one that enumerates (nb201)")
    order = list(genotypes)
    random.Random(sample_seed).shuffle(order)
    if limit is not None:
        if limit < 1:
            raise ConfigError(f"--limit must be >= 1, got {limit}")
        order = order[:limit]
    return order


def _add_args(parser: Any) -> None:
    parser.add_argument("--limit", type=int | None, default=None, help="score only the first N of the seeded order")
    parser.add_argument("--sample_seed", type=int, default=0, help="seed of the order in which archs are scored")


def precompute(cache: RunCache, evaluate: Any, keys: list[str], genotypes: list[Genotype], progress: bool = True) -> dict[str, int]:
    """Score every genotype whose key is not cached yet; returns counts of scored and skipped."""
    from tqdm import tqdm

    done = cache.cache.keys(cache.space, cache.shash)
    todo = [(k, g) for k, g in zip(keys, genotypes, strict=True) if k not in done]
    bar = tqdm(todo, total=len(todo), desc="precompute", unit="arch", disable=not progress, file=sys.stderr)
    for key, genotype in bar:
        cache.store(key, evaluate(genotype))
    return {"scored": len(todo), "skipped": len(keys) - len(todo), "total": len(keys)}


@cli_entry
def main(argv: list[str] | None = None) -> int:
    cfg, ns = parse_config(argv, prog="python -m lightning_nas.precompute", description=__doc__, extra=_add_args)
    apply_threads(cfg)
    if not cfg.cache.enabled:
        raise ConfigError("cache.enabled is false: precompute writes into the persistent cache; set --cache.enabled true")
    from lightning_nas.pipeline import build_problem, build_scorer
    from lightning_nas.rmi.cache import open_run_cache

    problem = build_problem(cfg, check_budgets=False)
    genotypes = sample_genotypes(problem.space, ns.get("limit"), ns.get("sample_seed", 0))
    keys = [problem.space.key(g) for g in genotypes]
    start = time.perf_counter()
    scorer = build_scorer(problem)
    cache = open_run_cache(cfg, scorer, problem.space)
    assert cache is not None
    counts = precompute(cache, scorer.evaluator.evaluate, keys, genotypes)
    print(
        f"precompute: {counts['scored']} scored, {counts['skipped']} already cached, {counts['total']} in all; "
        f"cache {cache.cache.path} (score hash {cache.shash}); {time.perf_counter() - start:.1f}s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
