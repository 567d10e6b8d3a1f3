"""Search quality against the constrained optimum on NAS-Bench-201 + HW-NAS-Bench (paper Fig. 2).

For each device x budget (25/50/75th percentile of the device's cost over the space) x seed: run the
search (penalty), look up the found architecture's CIFAR-10 test accuracy, its regret (optimum - found,
percentage points) and feasibility. Beside it: trivial pickers on the same budgets (the architecture with
the most FLOPs under the budget; a random feasible one, in expectation), rejection sampling instead of
the penalty, and the FLOPs-constrained search's latencies on every device (Fig. 2h).

    python benchmarks/search_quality.py --profile small     # 2 devices x 3 budgets x 1 seed, pop 6 x 3 gens
    python benchmarks/search_quality.py --profile medium    # C16/N2 proxy, pop 10 x 6 gens (~20 min on 2 cores)
    python benchmarks/search_quality.py --profile paper     # 6 devices x 3 budgets x 10 seeds, pop 20 x 100
    python benchmarks/search_quality.py --profile table --table benchmarks/tables/rmi_nb201_fast.csv.gz

`--profile table` is the paper's Fig. 2 at the paper's GA size (configs/nb201_cifar10.yaml's search
section: population 20 x 100 generations) from a table of precomputed scores (`precompute --export_table`):
every search is configured from the table's provenance (its proxy / probe / data / space / seed and
reference) with `--proxy.table PATH`, so the provenance check passes and nothing trains (seconds per search).
18 latency settings (6 devices x 25/50/75th percentile) x seeds 0-9 (`--seeds 100 ... 109` for choosing
settings), energy settings reported separately, rejection on the same settings and seeds, the FLOPs-
constrained runs, and the whole-space Kendall tau of the table's scores, FLOPs and params against NB201
accuracy. The table's scores were computed with one init seed (the table's `seed`); a search's seed here
is its GA seed only (`search.seed`: selection, crossover, mutation), the score seed stays the table's.

The last line is `mean_regret_pp=<value> feasible=<fraction>` over the latency penalty runs of the grid
(with `beats_max_flops=<k>/<settings>` for the table profile)."""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
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
from _table_search import table_base, table_search

from lightning_nas.analysis.budget import capacity_scores, trivial_picks
from lightning_nas.analysis.ranking import rank_agreement
from lightning_nas.config import set_torch_threads
from lightning_nas.tables.rmi_table import indexed_scores

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
    "table": {  # the paper's GA on a table of scores (--table): nothing trains
        "devices": DEVICES, "percentiles": (25, 50, 75), "seeds": tuple(range(10)),
        "population": 20, "generations": 100, "rejection_devices": DEVICES, "rejection_percentiles": (25, 50, 75),
        "energy": ("edgegpu_energy", "eyeriss_energy", "fpga_energy"), "extra": (),
    },
}  # fmt: skip
OTHER_DATASETS = ("cifar100", "ImageNet16-120")


def whole_space_tau(table: Path, acc: Any, synflow: str, notes: list[str], capacity_weight: float = 0.0,
                    exclude: set[int] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Kendall tau (and Spearman rho) of the table's RMI, FLOPs, params (and synflow) against NB201 test accuracy
    on each dataset over the table's rows (all 15,625 for a complete table); also RMI against FLOPs and params.
    With `capacity_weight` w also the search's fitness term RMI + w * log10(MFLOPs); with `exclude` (NB201 indices,
    e.g. the sample a setting was chosen on) the cifar10 rows again over the other archs only."""
    idx, rmi = indexed_scores(table)
    flops = acc.column("cifar10", "flops_M")[idx]
    proxies = {"rmi (table)": rmi, "flops_M": flops, "params_M": acc.column("cifar10", "params_M")[idx]}
    if capacity_weight:
        proxies[f"rmi + {capacity_weight:g} log10(MFLOPs)"] = capacity_scores(rmi, flops, capacity_weight)
    if synflow == "all" or (synflow == "auto" and len(idx) <= 2000):
        import _zero_cost

        from lightning_nas.spaces.nb201.space import NB201Space, genotype_of_index

        space, start = NB201Space(), time.perf_counter()
        proxies["synflow_log"] = np.array([_zero_cost.synflow_of(space, genotype_of_index(int(i)), (3, 32, 32), 0) for i in idx])
        notes.append(f"synflow (full-size C16/N5 net, float64, seed 0) on the table's {len(idx)} rows: {time.perf_counter() - start:.0f} s.")
    else:
        notes.append(f"synflow skipped ({synflow}): on the table's {len(idx)} rows it takes ~{len(idx) * 0.066 / 60:.0f} min on one "
                     "thread (0.066 s per full-size arch measured); `--synflow all` computes it.")  # fmt: skip
    rows = []
    for ds in ("cifar10", *OTHER_DATASETS):
        y = acc.column(ds, "test_acc")[idx]
        for name, x in proxies.items():
            ok = np.isfinite(x) & np.isfinite(y)
            tau, rho = rank_agreement(x[ok], y[ok])
            rows.append({"proxy": name, "against": f"{ds}.test_acc", "n": int(ok.sum()), "tau": tau, "rho": rho})
    if exclude:
        keep = ~np.isin(idx, sorted(exclude))
        y = acc.column("cifar10", "test_acc")[idx]
        for name, x in proxies.items():
            ok = keep & np.isfinite(x) & np.isfinite(y)
            tau, rho = rank_agreement(x[ok], y[ok])
            rows.append({"proxy": name, "against": "cifar10.test_acc (without the excluded archs)", "n": int(ok.sum()), "tau": tau, "rho": rho})
    for other in ("flops_M", "params_M"):
        ok = np.isfinite(proxies[other])
        tau, rho = rank_agreement(rmi[ok], proxies[other][ok])
        rows.append({"proxy": "rmi (table)", "against": other, "n": int(ok.sum()), "tau": tau, "rho": rho})
    return rows


def read_indices(path: str | None) -> set[int] | None:
    if not path:
        return None
    import csv

    with open(path, newline="") as f:
        return {int(r["index"]) for r in csv.DictReader(f)}


def table_hash(table: Path) -> str:
    return hashlib.sha256(table.read_bytes()).hexdigest()


def one_run(args: Any, prof: dict[str, Any], oracle: Any, metric: str, pct: float | None, budget: float, seed: int, handling: str) -> dict[str, Any]:
    from _search_runner import run_search

    from lightning_nas.search.ga import RejectionLimitReached

    start = time.perf_counter()
    row: dict[str, Any] = {"metric": metric, "percentile": pct, "budget": budget, "seed": seed, "handling": handling}
    try:
        if prof.get("table_base"):
            genotype, res = table_search(prof["table_base"], seed, metric, budget, prof["population"], prof["generations"], handling)
        else:
            genotype, res = run_search(seed, metric, budget, prof["population"], prof["generations"], handling, args.cache_path, prof["extra"])
    except RejectionLimitReached as err:
        return row | {"error": str(err), "feasible": False}
    v = oracle.judge(genotype, budget)
    opt = oracle.optimum(budget)
    row |= {"arch_str": v.arch_str, "index": v.index, "accuracy": v.accuracy, "cost": v.cost, "feasible": v.feasible,
            "optimum": opt.accuracy, "optimum_index": opt.index, "regret_pp": v.regret_pp, "rmi": res["best"]["rmi"],
            "trained": res["bench_trained"], "persistent_cache_hits": res["bench_persistent_hits"],
            "samples_drawn": res["samples_drawn"], "wall_s": time.perf_counter() - start}  # fmt: skip
    if prof.get("acc_table") is not None:  # the same arch's accuracy on the other NB201 datasets
        for ds in OTHER_DATASETS:
            row[f"{ds}_acc"] = float(prof["acc_table"].column(ds, "test_acc")[v.index])
    print(f"  {metric} p{pct} budget {budget:.4g} seed {seed} {handling}: acc {v.accuracy:.2f} (opt {opt.accuracy:.2f}, "
          f"regret {v.regret_pp:.2f} pp, feasible {v.feasible}), trained {row['trained']}, cache hits {row['persistent_cache_hits']}",
          file=sys.stderr)  # fmt: skip
    return row


def grid(args: Any, prof: dict[str, Any], table: Any, hw: Any, flops: np.ndarray) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from lightning_nas.tables.oracle import NB201Oracle, constrained_optimum

    runs, trivial = [], []
    for device in [*prof["devices"], *prof.get("energy", ())]:
        oracle = NB201Oracle(table, "cifar10", hw.get("cifar10", device))
        for pct in prof["percentiles"]:
            budget = oracle.percentile_budget(pct)
            opt = oracle.optimum(budget).accuracy
            pick = trivial_picks(oracle, flops, budget)
            trivial.append({"metric": device, "percentile": pct, "budget": budget, "optimum": opt,
                            "max_flops_regret_pp": opt - pick["max_flops_acc"], "random_feasible_regret_pp": opt - pick["random_feasible_acc"]})  # fmt: skip
            if prof.get("acc_table") is not None:  # the best accuracy on each other dataset under the same budget
                for ds in OTHER_DATASETS:
                    trivial[-1][f"{ds}_optimum"] = constrained_optimum(table.column(ds, "test_acc"), oracle.cost, budget).accuracy
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
        row = {"device": t["metric"], "group": "energy" if t["metric"].endswith("_energy") else "latency",
               "pct": t["percentile"], "budget": t["budget"], "optimum": t["optimum"],
               "found_acc_mean": float(np.mean([r["accuracy"] for r in mine])), "found_acc_std": float(np.std([r["accuracy"] for r in mine])),
               "regret_mean": float(regrets.mean()), "regret_std": float(regrets.std()),
               "feasible": float(np.mean([r["feasible"] for r in mine])), "seeds": len(mine),
               "max_flops_regret": t["max_flops_regret_pp"], "random_feasible_regret": t["random_feasible_regret_pp"],
               "beats_max_flops": bool(regrets.mean() < t["max_flops_regret_pp"]),
               "beats_random_feasible": bool(regrets.mean() < t["random_feasible_regret_pp"])}  # fmt: skip
        for ds in OTHER_DATASETS:
            if f"{ds}_optimum" in t:
                found = [r[f"{ds}_acc"] for r in mine]
                row |= {f"{ds}_optimum": t[f"{ds}_optimum"], f"{ds}_acc_mean": float(np.mean(found)), f"{ds}_acc_std": float(np.std(found))}
        if rej:
            ok = [r for r in rej if "regret_pp" in r]
            row["rejection_regret_mean"] = float(np.mean([r["regret_pp"] for r in ok])) if ok else float("nan")
            row["rejection_feasible"] = float(np.mean([r["feasible"] for r in rej]))
            row["rejection_failed"] = len(rej) - len(ok)
            row["rejection_draws_mean"] = float(np.mean([r["samples_drawn"] for r in ok])) if ok else float("nan")
            row["penalty_draws_mean"] = float(np.mean([r["samples_drawn"] for r in mine]))
        out.append(row)
    return out


def plot(path: Any, summary: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    devices = list(dict.fromkeys(s["device"] for s in summary))
    ncols = min(3, len(devices))
    nrows = -(-len(devices) // ncols)
    fig, grid_axes = plt.subplots(nrows, ncols, figsize=(5 * ncols, 4 * nrows), squeeze=False)
    for ax in grid_axes.flat[len(devices) :]:
        ax.set_visible(False)
    for ax, device in zip(grid_axes.flat, devices, strict=False):
        rows = [s for s in summary if s["device"] == device]
        b = [s["budget"] for s in rows]
        ax.plot(b, [s["optimum"] for s in rows], "k--", label="constrained optimum")
        ax.errorbar(b, [s["found_acc_mean"] for s in rows], yerr=[s["found_acc_std"] for s in rows], fmt="o-", capsize=3, label="HW-EvRSNAS (mean ± std)")
        ax.plot(b, [s["optimum"] - s["max_flops_regret"] for s in rows], "s:", label="max FLOPs under budget")
        ax.plot(b, [s["optimum"] - s["random_feasible_regret"] for s in rows], "^:", label="random feasible (mean)")
        unit = "mJ" if device.endswith("_energy") else "ms"
        ax.set(xlabel=f"budget ({device}, {unit})", ylabel="CIFAR-10 test accuracy (%)", title=device)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_regret(path: Any, summary: list[dict[str, Any]]) -> None:
    """Regret per setting (device x budget percentile; Fig. 2h style): the search's mean ± std over seeds beside
    the max-FLOPs and random-feasible pickers (and rejection where it ran); symlog y, a star where the search's
    mean beats the max-FLOPs picker."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.arange(len(summary))
    has_rej = any("rejection_regret_mean" in s for s in summary)
    series = [("search (penalty), mean ± std", "regret_mean", "regret_std"), ("max FLOPs under budget", "max_flops_regret", None),
              ("random feasible (mean)", "random_feasible_regret", None)]  # fmt: skip
    if has_rej:
        series.insert(1, ("search (rejection), mean", "rejection_regret_mean", None))
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.55 * len(summary) + 2), 4.5))
    for k, (label, key, err) in enumerate(series):
        y = [float(s.get(key, np.nan)) for s in summary]
        yerr = [float(s[err]) for s in summary] if err else None
        ax.bar(x + (k - (len(series) - 1) / 2) * width, y, width, yerr=yerr, capsize=2, label=label)
    for i, s in enumerate(summary):
        if s.get("beats_max_flops"):
            ax.annotate("*", (i, 0), ha="center", va="bottom", fontsize=12)
    energy = [i for i, s in enumerate(summary) if s.get("group") == "energy"]
    if energy and energy[0] > 0:
        ax.axvline(energy[0] - 0.5, color="gray", lw=0.8, ls="--")
    ax.set_xticks(x, [f"{s['device'].replace('_latency', '').replace('_energy', ' E')} p{s['pct']}" for s in summary],
                  rotation=60, ha="right", fontsize=7)  # fmt: skip
    ax.set_yscale("symlog", linthresh=0.1)
    ax.axhline(0.3, color="k", lw=0.6, ls=":", label="0.3 pp goal")
    ax.set(ylabel="regret vs constrained optimum (pp, CIFAR-10)", title="regret per setting (* search mean beats max-FLOPs)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", choices=tuple(PROFILES), default="small")
    p.add_argument("--table", default=None, help="a table of scores NAME.csv.gz (with NAME.json): required by --profile table")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--cache_path", default=None, help="persistent cache file (default: the user's cache dir)")
    p.add_argument("--out", default=None, help="results folder (default: benchmarks/results/search_quality)")
    p.add_argument("--population", type=int, default=None, help="override the profile's population")
    p.add_argument("--generations", type=int, default=None, help="override the profile's generations")
    p.add_argument("--devices", nargs="+", default=None, choices=DEVICES, help="override the profile's devices")
    p.add_argument("--seeds", nargs="+", type=int, default=None,
                   help="override the profile's seeds (the table profile: 0-9 to report, 100-109 to choose settings on)")
    p.add_argument("--energy", nargs="*", default=None, help="override the table profile's energy metrics (none: skip them)")
    p.add_argument("--no_rejection", action="store_true", help="skip the rejection runs")
    p.add_argument("--no_flops", action="store_true", help="skip the FLOPs-constrained runs")
    p.add_argument("--synflow", choices=("auto", "all", "skip"), default="auto",
                   help="table profile: synflow's whole-space tau (auto: only for a table of <= 2000 rows, ~17 min for all 15,625)")
    p.add_argument("--capacity_weight", type=float, default=0.0,
                   help="table profile: search.capacity_weight of every search (0: the paper's fitness), and its tau row")
    p.add_argument("--exclude_archs", default=None,
                   help="table profile: a CSV with an `index` column (NB201 indices, e.g. the fidelity study's archs.csv): "
                        "the whole-space tau again without them")
    p.add_argument("--search_args", nargs=argparse.REMAINDER, default=[],
                   help="table profile: more config overrides for every search (last option; e.g. --reference.cache_dir DIR)")
    args = p.parse_args(argv)
    if args.profile == "table" and not args.table:
        p.error("--profile table needs --table NAME.csv.gz")
    if args.table and args.profile != "table":
        p.error("--table is for --profile table")
    require_shared()
    set_torch_threads(args.threads)
    from lightning_nas.tables.hw_nas_bench import HWNASBenchTable
    from lightning_nas.tables.nb201_accuracy import NB201AccuracyTable

    prof = dict(PROFILES[args.profile])
    for key in ("population", "generations", "devices", "seeds", "energy"):
        if getattr(args, key) is not None:
            prof[key] = tuple(getattr(args, key)) if isinstance(getattr(args, key), list) else getattr(args, key)
    if args.no_rejection:
        prof["rejection_devices"] = ()
    start = time.perf_counter()
    out = out_dir("search_quality", args.profile, args.out)
    table, hw = NB201AccuracyTable.load(ACC_TABLE), HWNASBenchTable.load(HW_TABLE)
    flops = table.column("cifar10", "flops_M")
    taus: list[dict[str, Any]] = []
    notes: list[str] = []
    if args.profile == "table":
        table_path = Path(args.table).expanduser().resolve()
        capacity = ["--search.capacity_weight", repr(args.capacity_weight)] if args.capacity_weight else []
        prof["table_base"] = table_base(table_path, out, [*capacity, *args.search_args])
        prof["acc_table"] = table
        taus = whole_space_tau(table_path, table, args.synflow, notes, args.capacity_weight, read_indices(args.exclude_archs))
        write_csv(out / "tau.csv", taus)
        print(md_table(taus), file=sys.stderr)
    runs, trivial = grid(args, prof, table, hw, flops)
    fruns = [] if args.no_flops else flops_runs(args, prof, table, hw, flops)
    summary = summarise(runs, trivial)

    write_csv(out / "runs.csv", runs + fruns)
    write_csv(out / "summary.csv", summary)
    plot(out / "search_quality.png", summary)
    plot_regret(out / "search_quality_regret.png", summary)
    penalty = [r for r in runs if r["handling"] == "penalty" and not r["metric"].endswith("_energy")]
    mean_regret = float(np.mean([r["regret_pp"] for r in penalty]))
    feasible = float(np.mean([r["feasible"] for r in penalty]))
    latency = [s for s in summary if s["group"] == "latency"]
    beats = sum(s["beats_max_flops"] for s in latency)
    trained = sum(r.get("trained", 0) for r in runs + fruns)
    hits = sum(r.get("persistent_cache_hits", 0) for r in runs + fruns)
    wall = time.perf_counter() - start
    public = {k: v for k, v in prof.items() if k not in ("acc_table", "table_base")}
    extra: dict[str, Any] = {}
    if args.profile == "table":
        extra = {"table": str(table_path), "table_sha256": table_hash(table_path), "search_argv": prof["table_base"],
                 "ga_seed": "the GA's RNG seed; scores are the table's (its seed)", "notes": notes}  # fmt: skip
    write_provenance(out, argv, {"profile": args.profile, **public, **extra, "accuracy": "NB201 cifar10 test_acc (200 epochs)",
                                 "trained": trained, "persistent_cache_hits": hits, "wall_seconds": wall})  # fmt: skip
    flops_md = ""
    if fruns:
        cols = ["seed", "budget", "arch_str", "accuracy", "regret_pp", "feasible"] + [f"{d}_pctile" for d in DEVICES]
        flops_md = "## FLOPs-constrained search (median FLOPs): latency percentile on every device\n\n" + md_table([{k: r.get(k) for k in cols} for r in fruns])
    tau_md = ""
    if taus:
        tau_md = "## Whole-space Kendall tau (the table's rows) against NB201 test accuracy\n\n" + md_table(taus) + "\n" + " ".join(notes) + "\n\n"
    energy = [s for s in summary if s["group"] == "energy"]
    source = f"scores from the table `{args.table}` (nothing trained), " if args.profile == "table" else ""
    report = (
        f"# search_quality ({args.profile})\n\nCIFAR-10, NB201 test accuracy; budgets = percentiles of each device's "
        f"HW-NAS-Bench cost; {source}population {prof['population']} x {prof['generations']} generations, seeds {list(prof['seeds'])}. "
        f"{trained} candidates trained, {hits} persistent-cache hits, {wall:.0f} s.\n\n"
        f"Latency-budget penalty runs: `mean_regret_pp={mean_regret:.4f} feasible={feasible:.4f}`; the search's mean beats "
        f"the max-FLOPs picker on {beats} of {len(latency)} latency settings.\n\n{tau_md}"
        f"## Per device and budget (regret in pp)\n\n"
        f"{md_table(latency)}\n"
        + (f"## Energy budgets (reported separately)\n\n{md_table(energy)}\n" if energy else "")
        + f"{flops_md}\n## All runs\n\n{md_table(runs)}\n![](search_quality.png)\n![](search_quality_regret.png)\n"
    )
    (out / "README.md").write_text(report)
    print(report)
    last = f"mean_regret_pp={mean_regret:.4f} feasible={feasible:.4f}"
    print(last + (f" beats_max_flops={beats}/{len(latency)}" if args.profile == "table" else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
