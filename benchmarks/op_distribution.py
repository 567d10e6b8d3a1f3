"""Which operations does the search pick? The paper's Fig. 3: the average count (over the 6 edges of
an NB201 cell) of each operation in the top-10 architectures under a budget (by NB201 CIFAR-10 test
accuracy) vs in the architectures the search finds with several seeds, on the same budget.

    python benchmarks/op_distribution.py --profile small    # edgegpu latency, median budget, 3 seeds, pop 6 x 3
    python benchmarks/op_distribution.py --profile paper    # 10 seeds, pop 20 x 100, C16/N5 proxy"""

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
    write_csv,
    write_provenance,
)

from lightning_nas.config import set_torch_threads

PROFILES: dict[str, dict[str, Any]] = {
    "small": {"device": "edgegpu_latency", "percentile": 50, "seeds": (0, 1, 2), "population": 6, "generations": 3,
              "extra": ("--space.C", "8", "--space.N", "1")},
    "paper": {"device": "edgegpu_latency", "percentile": 50, "seeds": tuple(range(10)), "population": 20, "generations": 100,
              "extra": ("--space.C", "16", "--space.N", "5")},
}  # fmt: skip


def op_counts(genotypes: list[tuple[int, ...]]) -> np.ndarray:
    """Average number of edges carrying each op (NB201 op order), over the genotypes."""
    from lightning_nas.spaces.nb201.network import OPS

    counts = np.zeros((len(genotypes), len(OPS)))
    for row, g in enumerate(genotypes):
        for op in g:
            counts[row, op] += 1
    return counts.mean(axis=0)


def plot(path: Any, top: np.ndarray, found: np.ndarray, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lightning_nas.spaces.nb201.network import OPS

    x = np.arange(len(OPS))
    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.bar(x - 0.2, top, width=0.4, label="top-10 under the budget")
    ax.bar(x + 0.2, found, width=0.4, label="found by the search (seeds)")
    ax.set(xticks=x, xticklabels=OPS, ylabel="average count per cell (of 6 edges)", title=title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", choices=tuple(PROFILES), default="small")
    p.add_argument("--device", choices=DEVICES, default=None, help="override the profile's device")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="override the profile's seeds")
    p.add_argument("--population", type=int, default=None)
    p.add_argument("--generations", type=int, default=None)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--cache_path", default=None, help="persistent cache file (default: the user's cache dir)")
    p.add_argument("--out", default=None, help="results folder (default: benchmarks/results/op_distribution)")
    args = p.parse_args(argv)
    require_shared()
    set_torch_threads(args.threads)
    from _search_runner import run_search

    from lightning_nas.spaces.nb201.network import OPS
    from lightning_nas.spaces.nb201.space import genotype_of_index, to_arch_str
    from lightning_nas.tables.hw_nas_bench import HWNASBenchTable
    from lightning_nas.tables.nb201_accuracy import NB201AccuracyTable
    from lightning_nas.tables.oracle import NB201Oracle

    prof = dict(PROFILES[args.profile])
    for key in ("device", "seeds", "population", "generations"):
        if getattr(args, key):
            prof[key] = getattr(args, key)
    start = time.perf_counter()
    table, hw = NB201AccuracyTable.load(ACC_TABLE), HWNASBenchTable.load(HW_TABLE)
    oracle = NB201Oracle(table, "cifar10", hw.get("cifar10", prof["device"]))
    budget = oracle.percentile_budget(prof["percentile"])
    top = [genotype_of_index(i) for i in oracle.top_k(budget, 10)]
    found, runs = [], []
    for seed in prof["seeds"]:
        g, res = run_search(seed, prof["device"], budget, prof["population"], prof["generations"], "penalty", args.cache_path, prof["extra"])
        v = oracle.judge(g, budget)
        found.append(g)
        runs.append({"seed": seed, "arch_str": to_arch_str(g), "accuracy": v.accuracy, "cost": v.cost, "budget": budget, "regret_pp": v.regret_pp, "feasible": v.feasible,
                     "trained": res["bench_trained"], "persistent_cache_hits": res["bench_persistent_hits"]})  # fmt: skip
    top_c, found_c = op_counts(top), op_counts(found)
    rows = [{"op": op, "top10": float(t), "found": float(f)} for op, t, f in zip(OPS, top_c, found_c, strict=True)]

    out = out_dir("op_distribution", args.profile, args.out)
    write_csv(out / "op_counts.csv", rows)
    write_csv(out / "runs.csv", runs)
    title = f"{prof['device']} <= {budget:.3g} ms (p{prof['percentile']}), {len(found)} seeds"
    plot(out / "op_distribution.png", top_c, found_c, title)
    wall = time.perf_counter() - start
    write_provenance(out, argv, {"profile": args.profile, **prof, "budget": budget, "wall_seconds": wall})
    top_md = md_table([{"rank": k + 1, "arch_str": to_arch_str(g), "test_acc": table.get(g, "cifar10")} for k, g in enumerate(top)])
    report = (
        f"# op_distribution ({args.profile})\n\n{title}; population {prof['population']} x {prof['generations']} generations. "
        f"{wall:.0f} s.\n\n## Average op count per cell\n\n{md_table(rows)}\n## Found architectures\n\n{md_table(runs)}\n"
        f"## Top-10 under the budget\n\n{top_md}\n![](op_distribution.png)\n"
    )
    (out / "README.md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
