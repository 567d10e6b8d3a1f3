"""How far a table of scores computed on one machine is from the scores this machine computes (issue 23).

A table is matched on its settings, not on float bits, so a user on another CPU is served the table's
scores. This script measures what that costs: it re-scores a seeded sample of the table's architectures
(isomorphism-class representatives, the rows the table actually scored) here, under the table's own
settings (its provenance's config and reference), and compares:

- the median and max |RMI here - RMI in the table| and Kendall tau (Spearman rho) between the two;
- for each of the 18 Fig. 2 latency settings (6 HW-NAS-Bench devices x budgets at the 25/50/75th
  percentile), the architecture of the sample with the best RMI under the budget, by the table and by
  the rescoring: its CIFAR-10 accuracy rank among all the space's feasible architectures (1 = the
  constrained optimum) and whether both pick the same one.

To measure kernels of another instruction set on the same machine, lower them for the run:
`ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=SSE41` (both are recorded in the results).

    python benchmarks/rmi_table_cross_machine.py --table benchmarks/tables/rmi_nb201_fast.csv.gz --n 300
    ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=SSE41 python benchmarks/rmi_table_cross_machine.py \\
        --table benchmarks/tables/rmi_nb201_fast.csv.gz --n 300 --out benchmarks/results/rmi_table_cross_machine/sse41 --record

Scores go through a persistent cache (`--cache`), so an interrupted run continues where it stopped.
`--record` adds the agreement to the table's provenance (`cross_machine`, one entry per pair of machines),
which the notice of a search served by the table on another machine quotes (the lowest tau of them). Outputs: scores.csv, picks.csv, summary.json,
README.md, command.txt, config.json, versions.json (no path of this machine: the config file written from the
table's provenance stays in a temporary folder). The last line is
`archs=<n> median_abs_delta=<v> max_abs_delta=<v> kendall_tau=<v> same_picks=<k>/18`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    ACC_TABLE,
    DEVICES,
    HW_TABLE,
    REPO,
    RESULTS,
    md_table,
    require_shared,
    write_csv,
    write_provenance,
)
from _table_search import table_base

from lightning_nas.analysis.ranking import rank_agreement

PERCENTILES = (25, 50, 75)
ISA_VARIABLES = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS")


def sample_representatives(table: Path, n: int, seed: int) -> list[int]:
    """`n` NB201 indices drawn (seeded) from the table's scored rows (each class representative once)."""
    import csv
    import gzip

    opener = gzip.open if table.name.endswith(".gz") else open
    with opener(table, "rt", newline="") as f:
        reps = sorted(int(r["arch_index"]) for r in csv.DictReader(f) if r.get("scored_as", r["arch_index"]) == r["arch_index"])
    if n > len(reps):
        raise SystemExit(f"error: --n {n} exceeds the {len(reps)} architectures the table scored")
    return sorted(int(i) for i in np.random.default_rng(seed).choice(reps, size=n, replace=False))


def rescore(argv: list[str], table_path: Path, indices: list[int]) -> tuple[dict[int, float], dict[str, Any]]:
    """Score `indices` here under the table's settings (through the persistent cache); the match line."""
    from lightning_nas.backends import build_backend
    from lightning_nas.config import apply_threads, parse_config
    from lightning_nas.pipeline import build_problem, build_scorer
    from lightning_nas.rmi.cache import open_run_cache
    from lightning_nas.rmi.precompute import precompute
    from lightning_nas.rmi.score_key import run_score_parts
    from lightning_nas.spaces.nb201.space import genotype_of_index
    from lightning_nas.tables.rmi_table import check_table, read_table

    cfg, _ = parse_config(argv)
    apply_threads(cfg)
    problem = build_problem(cfg, check_budgets=False)
    scorer = build_scorer(problem)
    space = problem.space
    table = read_table(table_path)
    match = check_table(table, space, run_score_parts(scorer, space), scorer.info["settings"])
    genotypes = [genotype_of_index(i) for i in indices]
    keys = [space.key(g) for g in genotypes]
    backend = build_backend(cfg)
    try:
        backend.start(scorer.evaluator)
        cache = open_run_cache(cfg, scorer, space, required=True)
        assert cache is not None
        counts = precompute(cache, backend, keys, genotypes)
    finally:
        backend.close()
    here = {i: cache.lookup(k).rmi for i, k in zip(indices, keys, strict=True)}  # type: ignore[union-attr]
    in_table = {i: table.scores[k].rmi for i, k in zip(indices, keys, strict=True)}
    return here, {"exact": match.exact, "notice": match.notice, "counts": counts, "score_hash": cache.shash, "table": in_table}


def picks(indices: np.ndarray, table_rmi: np.ndarray, here_rmi: np.ndarray) -> list[dict[str, Any]]:
    """Per Fig. 2 latency setting: the sample's best-RMI feasible arch by the table and by the rescoring."""
    from lightning_nas.tables.hw_nas_bench import HWNASBenchTable
    from lightning_nas.tables.nb201_accuracy import NB201AccuracyTable
    from lightning_nas.tables.oracle import NB201Oracle, feasible_mask

    acc, hw = NB201AccuracyTable.load(ACC_TABLE), HWNASBenchTable.load(HW_TABLE)
    rows = []
    for device in DEVICES:
        oracle = NB201Oracle(acc, "cifar10", hw.get("cifar10", device))
        for pct in PERCENTILES:
            budget = oracle.percentile_budget(pct)
            space_mask = feasible_mask(oracle.cost, budget) & ~np.isnan(oracle.accuracy)
            ok = space_mask[indices]
            if not ok.any():
                continue
            by_table, by_here = (int(indices[ok][np.argmax(s[ok])]) for s in (table_rmi, here_rmi))
            feasible_acc = oracle.accuracy[space_mask]
            rank = {i: 1 + int((feasible_acc > oracle.accuracy[i]).sum()) for i in (by_table, by_here)}
            rows.append({
                "device": device.removesuffix("_latency"), "percentile": pct, "budget": round(budget, 6),
                "feasible_in_sample": int(ok.sum()), "feasible_in_space": int(space_mask.sum()),
                "pick_table": by_table, "pick_here": by_here, "same_pick": by_table == by_here,
                "acc_rank_table": rank[by_table], "acc_rank_here": rank[by_here],
                "acc_table": float(oracle.accuracy[by_table]), "acc_here": float(oracle.accuracy[by_here]),
            })  # fmt: skip
    return rows


def summarise(indices: list[int], table_scores: dict[int, float], here: dict[int, float]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    idx = np.array(indices)
    a = np.array([table_scores[i] for i in indices])
    b = np.array([here[i] for i in indices])
    delta = np.abs(b - a)
    tau, rho = rank_agreement(a, b)
    pick_rows = picks(idx, a, b)
    summary = {
        "archs": len(indices), "median_abs_delta": float(np.median(delta)), "max_abs_delta": float(delta.max()),
        "mean_abs_delta": float(delta.mean()), "identical": int((delta == 0).sum()), "kendall_tau": tau, "spearman_rho": rho,
        "same_picks": sum(r["same_pick"] for r in pick_rows), "settings": len(pick_rows),
        "median_acc_rank_table": float(np.median([r["acc_rank_table"] for r in pick_rows])),
        "median_acc_rank_here": float(np.median([r["acc_rank_here"] for r in pick_rows])),
    }  # fmt: skip
    return summary, pick_rows


def record_in_table(table: Path, between: str, summary: dict[str, Any], out: Path) -> None:
    """Write the agreement into the table's provenance (`cross_machine`), quoted by the served-table notice."""
    from lightning_nas.tables.rmi_table import provenance_path

    prov_file = provenance_path(table)
    prov = json.loads(prov_file.read_text())
    entry = {
        "between": between, **{k: summary[k] for k in ("archs", "median_abs_delta", "max_abs_delta", "kendall_tau")},
        "result": str(out.relative_to(REPO)) if out.is_relative_to(REPO) else str(out),
    }  # fmt: skip
    before = prov.get("cross_machine") or []
    before = before if isinstance(before, list) else [before]
    prov["cross_machine"] = [m for m in before if m.get("between") != between] + [entry]  # one entry per pair of machines
    tmp = prov_file.with_name(prov_file.name + ".tmp")
    tmp.write_text(json.dumps(prov, indent=2, default=str) + "\n")
    tmp.replace(prov_file)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--table", required=True, help="a table of scores (rmi_nb201_<profile>.csv.gz) with its .json")
    p.add_argument("--n", type=int, default=300, help="architectures to re-score (class representatives)")
    p.add_argument("--sample_seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch threads per candidate (default: the table's)")
    p.add_argument("--cache", default="/tmp/lightning_nas_cross_machine.sqlite", help="the persistent cache (resumable)")
    p.add_argument("--out", default=str(RESULTS / "rmi_table_cross_machine"))
    p.add_argument("--record", action="store_true", help="write the agreement into the table's provenance")
    args = p.parse_args(argv)
    require_shared()
    from lightning_nas.machine import describe, machine
    from lightning_nas.run_dir import versions

    at_start = versions()  # before anything is written (git_dirty: the code, not this run's results)
    from lightning_nas.tables.rmi_table import read_table
    from lightning_nas.tables.score_match import recorded_numeric

    table = Path(args.table)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    read = read_table(table)
    threads = args.threads or int(read.provenance["parts"]["runtime"]["threads"])
    # the table's settings as a config file, outside the results (it names this machine's data paths)
    base = table_base(table, Path(tempfile.mkdtemp(prefix="cross-machine-")), [], serve=False)
    flags = ["--threads", str(threads), "--search.backend", "serial"]
    run_argv = [*base, "--cache.path", args.cache, *flags]
    indices = sample_representatives(table, args.n, args.sample_seed)
    began = time.perf_counter()
    here, match = rescore(run_argv, table, indices)
    seconds = time.perf_counter() - began
    table_scores = match.pop("table")
    summary, pick_rows = summarise(indices, table_scores, here)
    then, now = recorded_numeric(read.provenance), machine()
    env = {k: os.environ.get(k) for k in ISA_VARIABLES if os.environ.get(k)}
    lowered = f" with {', '.join(f'{k}={v}' for k, v in env.items())}" if env else ""
    between = f"{describe(then)} (the table's) and {describe(now)}{lowered} (here)"
    summary = {**summary, "table": str(table), "table_machine": then, "here_machine": now, "isa_environment": env,
               "between": between, "exact_match": match["exact"], "notice": match["notice"], "threads": threads,
               "sample_seed": args.sample_seed, "seconds": round(seconds, 1), "rescore_counts": match["counts"]}  # fmt: skip
    write_csv(out / "scores.csv", [{"arch_index": i, "table_rmi": table_scores[i], "here_rmi": here[i], "abs_delta": abs(here[i] - table_scores[i])} for i in indices])
    write_csv(out / "picks.csv", pick_rows)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    (out / "README.md").write_text(_readme(summary, pick_rows))
    recorded = {**vars(args), "search_config": "the table's provenance (benchmarks/_table_search.py table_base)", "flags": flags}
    write_provenance(out, argv, recorded, at_start)
    if args.record:
        record_in_table(table, between, summary, out)
    print(f"archs={summary['archs']} median_abs_delta={summary['median_abs_delta']:.3g} max_abs_delta={summary['max_abs_delta']:.3g} "
          f"kendall_tau={summary['kendall_tau']:.4f} same_picks={summary['same_picks']}/{summary['settings']}")  # fmt: skip
    return 0


def _readme(s: dict[str, Any], pick_rows: list[dict[str, Any]]) -> str:
    return (
        f"# A table of scores re-scored on another machine\n\n{s['table']}: {s['archs']} class representatives "
        f"(seed {s['sample_seed']}) re-scored between {s['between']} ({s['threads']} thread(s); exact match of the score "
        f"hash: {s['exact_match']}).\n\n"
        f"- |RMI here - RMI in the table|: median {s['median_abs_delta']:.3g}, mean {s['mean_abs_delta']:.3g}, max "
        f"{s['max_abs_delta']:.3g}; {s['identical']} of {s['archs']} identical\n"
        f"- Kendall tau {s['kendall_tau']:.4f}, Spearman rho {s['spearman_rho']:.4f}\n"
        f"- the sample's best-RMI arch under each of the {s['settings']} Fig. 2 latency budgets: the same by both in "
        f"{s['same_picks']}; median CIFAR-10 accuracy rank among the space's feasible archs {s['median_acc_rank_table']:g} "
        f"(table) and {s['median_acc_rank_here']:g} (here)\n\n"
        f"{md_table(pick_rows)}\nNotice a search served by the table shows here: {s['notice'] or '(none: exact match)'}\n"
    )


if __name__ == "__main__":
    raise SystemExit(main())
