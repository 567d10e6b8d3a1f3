"""Scoring many architectures of a finite space into the persistent cache (`precompute`, resumable: keys
already cached are skipped and every score is stored as it arrives), the seeded order they are taken in
(`sample_genotypes`), and writing their cached scores into a table of scores (`export_table`). The
command `python -m lightning_nas.precompute` runs them; benchmarks call them directly."""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightning_nas.errors import ConfigError

if TYPE_CHECKING:
    from lightning_nas.backends import Backend
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


def precompute(
    cache: RunCache, backend: Backend, keys: list[str], genotypes: list[Genotype], progress: bool = True
) -> dict[str, int]:
    """Score every genotype whose key is not cached yet (stored as each score arrives); returns counts of
    scored, failed and skipped."""
    from tqdm import tqdm

    from lightning_nas.backends import CandidateFailure

    done = cache.cache.keys(cache.space, cache.shash)
    todo = [(k, g) for k, g in zip(keys, genotypes, strict=True) if k not in done]
    failed = 0
    with tqdm(total=len(todo), desc="precompute", unit="arch", disable=not progress, file=sys.stderr) as bar:
        for j, outcome in backend.map([g for _, g in todo]):
            key = todo[j][0]
            if isinstance(outcome, CandidateFailure):
                failed += 1
                bar.write(f"precompute: {key} failed twice, not cached: {outcome.error}", file=sys.stderr)
            else:
                cache.store(key, outcome)
            bar.update()
    return {"scored": len(todo) - failed, "failed": failed, "skipped": len(keys) - len(todo), "total": len(keys)}


def export_table(
    path: Path, cfg: Any, scorer: Any, cache: RunCache, space: SearchSpace, genotypes: list[Genotype], more: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Write the cached scores of `genotypes` into a table of scores with its provenance (plus `more`)."""
    from dataclasses import asdict

    from lightning_nas.rmi.score_key import numeric_identity, run_score_parts
    from lightning_nas.run_dir import versions
    from lightning_nas.tables.rmi_table import write_table

    results = [cache.lookup(space.key(g)) for g in genotypes]
    extra = {
        # the sha256 of the file the reference's weights came from: the given checkpoint or one trained here
        "reference": {**(scorer.info.get("reference") or {}), "checkpoint_sha256": scorer.info["settings"]["reference"]["checkpoint_sha256"]},
        "config": {"proxy": asdict(cfg.proxy), "probe": asdict(cfg.probe), "data": asdict(cfg.data), "space": asdict(cfg.space),
                   "seed": cfg.seed},
        "versions": versions(),
        **(more or {}),
    }  # fmt: skip
    parts = run_score_parts(scorer, space)
    return write_table(path, space, genotypes, results, parts, extra, settings=scorer.info["settings"], numeric=numeric_identity(parts))
