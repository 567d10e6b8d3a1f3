"""Where the search's regret comes from: the proxy's own constrained optimum (issue 12, Fig. 2 explained).

For each of the 18 latency settings of `search_quality.py --profile table` (6 HW-NAS-Bench devices x budgets
at the 25th/50th/75th percentile of the device's latency) and each capacity weight w, take the feasible
architecture with the highest fitness the GA maximises, score + w * log10(MFLOPs) (`search.capacity_weight`),
over the whole table: what a perfect optimiser of that fitness would find. Its regret against the
constrained optimum (NB201 CIFAR-10 test accuracy) is the part of the search's regret the proxy causes,
whatever the GA does; the rest (search regret - this) is the GA's. The max-FLOPs picker's regret is
beside it. Nothing trains; seconds.

    python benchmarks/proxy_optimum.py --table benchmarks/tables/rmi_nb201_fast.csv.gz

Outputs (`benchmarks/results/proxy_optimum/` or `--out`): summary.csv (one row per setting and weight),
README.md, command.txt, config.json, versions.json. The last line is
`proxy_optimum_regret_pp=<mean over the 18 settings, first weight> max_flops_regret_pp=<mean>`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    ACC_TABLE,
    DEVICES,
    HW_TABLE,
    md_table,
    out_dir,
    require_shared,
    write_csv,
    write_provenance,
)

from lightning_nas.analysis.budget import best_feasible, capacity_scores, trivial_picks
from lightning_nas.tables.rmi_table import indexed_scores

PERCENTILES = (25, 50, 75)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--table", required=True, help="a complete table of scores (rmi_nb201_<profile>.csv.gz)")
    p.add_argument("--weights", default="0,0.3,0.5,1,2", help="capacity weights w (comma-separated)")
    p.add_argument("--out", default=None, help="results folder (default: benchmarks/results/proxy_optimum)")
    args = p.parse_args(argv)
    require_shared()
    from lightning_nas.tables.hw_nas_bench import HWNASBenchTable
    from lightning_nas.tables.nb201_accuracy import NB201AccuracyTable
    from lightning_nas.tables.oracle import NB201Oracle

    weights = [float(w) for w in args.weights.split(",") if w.strip()]
    table, hw = NB201AccuracyTable.load(ACC_TABLE), HWNASBenchTable.load(HW_TABLE)
    flops = table.column("cifar10", "flops_M")
    idx, rmi = indexed_scores(Path(args.table))
    if len(idx) != len(flops):
        raise SystemExit(
            f"error: {args.table} has {len(idx)} rows; the proxy's optimum needs all {len(flops)} archs"
        )
    score = np.full(len(flops), np.nan)
    score[idx] = rmi
    rows: list[dict[str, Any]] = []
    for device in DEVICES:
        oracle = NB201Oracle(table, "cifar10", hw.get("cifar10", device))
        for pct in PERCENTILES:
            budget = oracle.percentile_budget(pct)
            opt = oracle.optimum(budget).accuracy
            max_flops = opt - trivial_picks(oracle, flops, budget)["max_flops_acc"]
            for w in weights:
                best = best_feasible(capacity_scores(score, flops, w), oracle.cost, budget)
                rows.append({"device": device, "pct": pct, "budget": budget, "capacity_weight": w, "optimum": opt,
                             "proxy_optimum_index": best, "proxy_optimum_acc": float(oracle.accuracy[best]),
                             "proxy_optimum_regret_pp": float(opt - oracle.accuracy[best]), "max_flops_regret_pp": float(max_flops),
                             "beats_max_flops": bool(opt - oracle.accuracy[best] < max_flops)})  # fmt: skip
    means = [{"capacity_weight": w, "mean_proxy_optimum_regret_pp": float(np.mean([r["proxy_optimum_regret_pp"] for r in rows if r["capacity_weight"] == w])),
              "mean_max_flops_regret_pp": float(np.mean([r["max_flops_regret_pp"] for r in rows if r["capacity_weight"] == w])),
              "beats_max_flops": sum(r["beats_max_flops"] for r in rows if r["capacity_weight"] == w), "settings": len(rows) // len(weights)}
             for w in weights]  # fmt: skip
    out = out_dir("proxy_optimum", "small", args.out)
    write_csv(out / "summary.csv", rows)
    write_csv(out / "means.csv", means)
    write_provenance(out, argv, {"table": args.table, "weights": weights, "percentiles": PERCENTILES, "devices": DEVICES,
                                 "accuracy": "NB201 cifar10 test_acc (200 epochs)"})  # fmt: skip
    report = (f"# proxy_optimum\n\nThe feasible arch with the highest score + w log10(MFLOPs) over the whole table `{args.table}`, "
              f"per latency setting: the regret a perfect optimiser of the search's fitness would have.\n\n{md_table(means)}\n"
              f"## Per setting\n\n{md_table(rows)}\n")  # fmt: skip
    (out / "README.md").write_text(report)
    print(report)
    print(
        f"proxy_optimum_regret_pp={means[0]['mean_proxy_optimum_regret_pp']:.4f} max_flops_regret_pp={means[0]['mean_max_flops_regret_pp']:.4f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
