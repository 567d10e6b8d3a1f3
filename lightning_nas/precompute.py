"""`python -m lightning_nas.precompute --config FILE [--limit N --sample_seed S --threads T]`: score many or
all architectures of a finite search space into the persistent evaluation cache (cfg.cache), so that
multi-seed searches and benchmarks become look-ups. Resumable: keys already in the cache are skipped,
and every score is stored as soon as it is computed. Candidates are scored by the search's backends
(`--search.backend local --search.workers 8`, or ray), at the same thread count per candidate as a
search with those settings, so a search finds these scores. A failing architecture is reported and
left out of the cache. A tqdm progress bar shows the rate and the ETA. `--export_table NAME.csv.gz` then
writes the scores of these archs into a table of scores with its provenance (lightning_nas.tables.rmi_table)
that a search serves with `--proxy.table NAME.csv.gz`, training nothing."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from lightning_nas.cli import prog as cli_prog
from lightning_nas.config import apply_threads, parse_config
from lightning_nas.errors import ConfigError, cli_entry


def _add_args(parser: Any) -> None:
    parser.add_argument("--limit", type=int | None, default=None, help="score only the first N of the seeded order")
    parser.add_argument("--sample_seed", type=int, default=0, help="seed of the order in which archs are scored")
    parser.add_argument(
        "--export_table", type=str | None, default=None,
        help="then write the scores of these archs from the cache into a table of scores (NAME.csv.gz and its provenance "
        "NAME.json) that a search serves with --proxy.table NAME.csv.gz",
    )  # fmt: skip


@cli_entry
def main(argv: list[str] | None = None) -> int:
    cfg, ns = parse_config(argv, prog=cli_prog("precompute"), description=__doc__, extra=_add_args)
    apply_threads(cfg)
    if not cfg.cache.enabled:
        raise ConfigError("cache.enabled is false: precompute writes into the persistent cache; set --cache.enabled true")
    if cfg.proxy.table:
        raise ConfigError("proxy.table is set: precompute computes scores into the persistent cache; unset proxy.table")
    table = ns.get("export_table")
    if table:
        from lightning_nas.tables.rmi_table import provenance_path

        provenance_path(Path(table))  # a .csv.gz or .csv name, checked before any work
        if not Path(table).expanduser().parent.is_dir():
            raise ConfigError(f"--export_table: folder {Path(table).parent} does not exist")
    from lightning_nas.backends import build_backend
    from lightning_nas.pipeline import build_problem, build_scorer
    from lightning_nas.rmi.cache import open_run_cache
    from lightning_nas.rmi.precompute import export_table, precompute, sample_genotypes

    problem = build_problem(cfg, check_budgets=False)
    genotypes = sample_genotypes(problem.space, ns.get("limit"), ns.get("sample_seed", 0))
    keys = [problem.space.key(g) for g in genotypes]
    start = time.perf_counter()
    backend = build_backend(cfg)
    try:
        scorer = build_scorer(problem)
        backend.start(scorer.evaluator)
        cache = open_run_cache(cfg, scorer, problem.space, required=True)  # its whole job: an unusable one is an error
        assert cache is not None  # enabled (checked above) and required
        counts = precompute(cache, backend, keys, genotypes)
    except KeyboardInterrupt:
        print("interrupted; every score computed so far is cached: run the same command to continue", file=sys.stderr)
        return 130
    finally:
        backend.close()
    if table:
        written = export_table(Path(table).expanduser(), cfg, scorer, cache, problem.space, genotypes)
        print(f"precompute: table {table} ({written['rows']} rows of {written['space_size']}, score hash {written['score_hash']})")
    failed = f"{counts['failed']} failed (not cached), " if counts["failed"] else ""
    print(
        f"precompute: {counts['scored']} scored, {failed}{counts['skipped']} already cached, {counts['total']} in all "
        f"({backend.name} backend); cache {cache.cache.path} (score hash {cache.shash}); {time.perf_counter() - start:.1f}s"
    )
    return 0


if __name__ == "__main__":
    from lightning_nas.interrupt import run_command

    run_command(main)
