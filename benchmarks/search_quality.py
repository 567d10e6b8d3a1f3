"""Search quality against the constrained optimum on NAS-Bench-201 + HW-NAS-Bench (paper Fig. 2).

For each device x budget (25/50/75th percentile of the device's cost over the space) x seed: run the
search (penalty), look up the found architecture's CIFAR-10 test accuracy, its regret (optimum - found,
percentage points) and feasibility. Beside it: trivial pickers on the same budgets (the architecture with
the most FLOPs under the budget; a random feasible one, in expectation), rejection sampling instead of
the penalty, and the FLOPs-constrained search's latencies on every device (Fig. 2h).

    python benchmarks/search_quality.py --profile small     # 2 devices x 3 budgets x 1 seed, pop 6 x 3 gens
    python benchmarks/search_quality.py --profile medium    # C16/N2 proxy, pop 10 x 6 gens (~20 min on 2 cores)
    python benchmarks/search_quality.py --profile paper     # 6 devices x 3 budgets x 10 seeds, pop 20 x 100

The last line is `mean_regret_pp=<value> feasible=<fraction>` over the penalty runs of the grid."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np
from _common import (
    ACC_TABLE,
    DEVICES,
    HW_TABLE,
    md_table,
    out_dir,
    require_shared,
    set_threads,
    write_csv,
    write_provenance,
)

PROFILES: dict[str, dict[str, Any]] = {
    "small": {
        "devices": ("edgegpu_latency", "pixel3_latency"), "percentiles": (25, 50, 75), "seeds": (0,),
        "population": 6, "generations": 3, "rejection_devices": ("edgegpu_latency",), "rejection_percentiles": (50,),
        "extra": ("--space.C", "8", "--space.N", "1"),
    },
    "medium": {
        "devices": ("edgegpu_latency", "pixel3_latency"), "percentiles": (25, 50, 75), "seeds": (0,),
        "population": 10, "generations": 6, "rejection_devices": ("edgegpu_latency",), "rejection_percentiles": (50,),
        "extra": ("--space.C", "16", "--space.N", "2"),
    },
    "paper": {
        "devices": DEVICES, "percentiles": (25, 50, 75), "seeds": tuple(range(10)),
        "population": 20, "generations": 100, "rejection_devices": DEVICES, "rejection_percentiles": (25, 50, 75),
        "extra": ("--space.C", "16", "--space.N", "5"),
    },
}  # fmt: skip


def pickers(oracle: Any, flops: np.ndarray, budget: float) -> dict[str, float]:
    """Accuracy of the trivial pickers: most FLOPs under the budget, and a random feasible arch (mean)."""
    from lightning_nas.tables.oracle import feasible_mask

    mask = feasible_mask(oracle.cost, budget) & ~np.isnan(oracle.accuracy)
    idx = np.flatnonzero(mask)
    most = idx[np.lexsort((idx, -flops[idx]))[0]]
    return {"max_flops_acc": float(oracle.accuracy[most]), "random_feasible_acc": float(np.mean(oracle.accuracy[idx]))}


def one_run(args: Any, prof: dict[str, Any], oracle: Any, metric: str, pct: float | None, budget: float, seed: int, handling: str) -> dict[str, Any]:
    from _search_runner import run_search

    from lightning_nas.search.ga import RejectionLimitReached

    start = time.perf_counter()
    row: dict[str, Any] = {"metric": metric, "percentile": pct, "budget": budget, "seed": seed, "handling": handling}
    try:
        genotype, res = run_search(seed, metric, budget, prof["population"], prof["generations"], handling, args.cache_path, prof["extra"])
    except RejectionLimitReached as err:
        return row | {"error": str(err), "feasible": False}
    v = oracle.judge(genotype, budget)
    opt = oracle.optimum(budget)
    row |= {"arch_str": v.arch_str, "index": v.index, "accuracy": v.accuracy, "cost": v.cost, "feasible": v.feasible,
            "optimum": opt.accuracy, "optimum_index": opt.index, "regret_pp": v.regret_pp, "rmi": res["best"]["rmi"],
            "trained": res["bench_trained"], "persistent_cache_hits": res["bench_persistent_hits"],
            "samples_drawn": res["samples_drawn"], "wall_s": time.perf_counter() - start}  # fmt: skip
    print(f"  {metric} p{pct} budget {budget:.4g} seed {seed} {handling}: acc {v.accuracy:.2f} (opt {opt.accuracy:.2f}, "
          f"regret {v.regret_pp:.2f} pp, feasible {v.feasible}), trained {row['trained']}, cache hits {row['persistent_cache_hits']}",
          file=sys.stderr)  # fmt: skip
    return row


def grid(args: Any, prof: dict[str, Any], table: Any, hw: Any, flops: np.ndarray) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from lightning_nas.tables.oracle import NB201Oracle

    runs, trivial = [], []
    for device in prof["devices"]:
        oracle = NB201Oracle(table, "cifar10", hw.get("cifar10", device))
        for pct in prof["percentiles"]:
            budget = oracle.percentile_budget(pct)
            opt = oracle.optimum(budget).accuracy
            pick = pickers(oracle, flops, budget)
            trivial.append({"metric": device, "percentile": pct, "budget": budget, "optimum": opt,
                            "max_flops_regret_pp": opt - pick["max_flops_acc"], "random_feasible_regret_pp": opt - pick["random_feasible_acc"]})  # fmt: skip
            handlings = ["penalty"]
            if device in prof["rejection_devices"] and pct in prof["rejection_percentiles"]:
                handlings.append("rejection")
            for seed in prof["seeds"]:
                for handling in handlings:
                    runs.append(one_run(args, prof, oracle, device, pct, budget, seed, handling))
    return runs, trivial


def flops_runs(args: Any, prof: dict[str, Any], table: Any, hw: Any, flops: np.ndarray) -> list[dict[str, Any]]:
    """FLOPs-constrained search at the median FLOPs; the found arch's latency on every device (Fig. 2h)."""
    from lightning_nas.tables.oracle import NB201Oracle

    oracle = NB201Oracle(table, "cifar10", flops)
    budget = oracle.percentile_budget(50)
    rows = []
    for seed in prof["seeds"]:
        row = one_run(args, prof, oracle, "flops", 50, budget, seed, "penalty")
        for device in DEVICES:
            lat = hw.get("cifar10", device)
            value = float(lat[row["index"]])
            row[device] = value
            row[f"{device}_pctile"] = float(np.mean(lat[~np.isnan(lat)] <= value) * 100) if not np.isnan(value) else float("nan")
        rows.append(row)
    return rows


def summarise(runs: list[dict[str, Any]], trivial: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for t in trivial:
        mine = [r for r in runs if r["metric"] == t["metric"] and r["percentile"] == t["percentile"] and r["handling"] == "penalty"]
        rej = [r for r in runs if r["metric"] == t["metric"] and r["percentile"] == t["percentile"] and r["handling"] == "rejection"]
        regrets = np.array([r["regret_pp"] for r in mine])
        row = {"device": t["metric"], "pct": t["percentile"], "budget": t["budget"], "optimum": t["optimum"],
               "found_acc_mean": float(np.mean([r["accuracy"] for r in mine])), "found_acc_std": float(np.std([r["accuracy"] for r in mine])),
               "regret_mean": float(regrets.mean()), "regret_std": float(regrets.std()),
               "feasible": float(np.mean([r["feasible"] for r in mine])), "seeds": len(mine),
               "max_flops_regret": t["max_flops_regret_pp"], "random_feasible_regret": t["random_feasible_regret_pp"]}  # fmt: skip
        if rej:
            ok = [r for r in rej if "regret_pp" in r]
            row["rejection_regret_mean"] = float(np.mean([r["regret_pp"] for r in ok])) if ok else float("nan")
            row["rejection_draws_mean"] = float(np.mean([r["samples_drawn"] for r in ok])) if ok else float("nan")
            row["penalty_draws_mean"] = float(np.mean([r["samples_drawn"] for r in mine]))
        out.append(row)
    return out


def plot(path: Any, summary: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    devices = list(dict.fromkeys(s["device"] for s in summary))
    fig, axes = plt.subplots(1, len(devices), figsize=(5 * len(devices), 4), squeeze=False)
    for ax, device in zip(axes[0], devices, strict=True):
        rows = [s for s in summary if s["device"] == device]
        b = [s["budget"] for s in rows]
        ax.plot(b, [s["optimum"] for s in rows], "k--", label="constrained optimum")
        ax.errorbar(b, [s["found_acc_mean"] for s in rows], yerr=[s["found_acc_std"] for s in rows], fmt="o-", capsize=3, label="HW-EvRSNAS (mean ± std)")
        ax.plot(b, [s["optimum"] - s["max_flops_regret"] for s in rows], "s:", label="max FLOPs under budget")
        ax.plot(b, [s["optimum"] - s["random_feasible_regret"] for s in rows], "^:", label="random feasible (mean)")
        ax.set(xlabel=f"budget ({device}, ms)", ylabel="CIFAR-10 test accuracy (%)", title=device)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", choices=tuple(PROFILES), default="small")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--cache_path", default=None, help="persistent cache file (default: the user's cache dir)")
    p.add_argument("--out", default=None, help="results folder (default: benchmarks/results/search_quality)")
    p.add_argument("--population", type=int, default=None, help="override the profile's population")
    p.add_argument("--generations", type=int, default=None, help="override the profile's generations")
    p.add_argument("--devices", nargs="+", default=None, choices=DEVICES, help="override the profile's devices")
    p.add_argument("--no_flops", action="store_true", help="skip the FLOPs-constrained runs")
    args = p.parse_args(argv)
    require_shared()
    set_threads(args.threads)
    from lightning_nas.tables.hw_nas_bench import HWNASBenchTable
    from lightning_nas.tables.nb201_accuracy import NB201AccuracyTable

    prof = dict(PROFILES[args.profile])
    for key in ("population", "generations", "devices"):
        if getattr(args, key):
            prof[key] = getattr(args, key)
    start = time.perf_counter()
    table, hw = NB201AccuracyTable.load(ACC_TABLE), HWNASBenchTable.load(HW_TABLE)
    flops = table.column("cifar10", "flops_M")
    runs, trivial = grid(args, prof, table, hw, flops)
    fruns = [] if args.no_flops else flops_runs(args, prof, table, hw, flops)
    summary = summarise(runs, trivial)

    out = out_dir("search_quality", args.profile, args.out)
    write_csv(out / "runs.csv", runs + fruns)
    write_csv(out / "summary.csv", summary)
    plot(out / "search_quality.png", summary)
    penalty = [r for r in runs if r["handling"] == "penalty"]
    mean_regret = float(np.mean([r["regret_pp"] for r in penalty]))
    feasible = float(np.mean([r["feasible"] for r in penalty]))
    trained = sum(r.get("trained", 0) for r in runs + fruns)
    hits = sum(r.get("persistent_cache_hits", 0) for r in runs + fruns)
    wall = time.perf_counter() - start
    write_provenance(out, argv, {"profile": args.profile, **prof, "accuracy": "NB201 cifar10 test_acc (200 epochs)",
                                 "trained": trained, "persistent_cache_hits": hits, "wall_seconds": wall})  # fmt: skip
    flops_md = ""
    if fruns:
        cols = ["seed", "budget", "arch_str", "accuracy", "regret_pp", "feasible"] + [f"{d}_pctile" for d in DEVICES]
        flops_md = "## FLOPs-constrained search (median FLOPs): latency percentile on every device\n\n" + md_table([{k: r.get(k) for k in cols} for r in fruns])
    report = (
        f"# search_quality ({args.profile})\n\nCIFAR-10, NB201 test accuracy; budgets = percentiles of each device's "
        f"HW-NAS-Bench cost; population {prof['population']} x {prof['generations']} generations, seeds {list(prof['seeds'])}. "
        f"{trained} candidates trained, {hits} persistent-cache hits, {wall:.0f} s.\n\n"
        f"Latency-budget penalty runs: `mean_regret_pp={mean_regret:.4f} feasible={feasible:.4f}`.\n\n"
        f"## Per device and budget (regret in pp)\n\n"
        f"{md_table(summary)}\n{flops_md}\n## All runs\n\n{md_table(runs)}\n![](search_quality.png)\n"
    )
    (out / "README.md").write_text(report)
    print(report)
    print(f"mean_regret_pp={mean_regret:.4f} feasible={feasible:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
