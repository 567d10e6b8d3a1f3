"""How well does the RMI score rank NAS-Bench-201 architectures? Kendall tau / Spearman rho between RMI
(scored on CIFAR-10 against the pre-trained ResNet-20) and NB201 200-epoch test accuracy on each NB201
dataset, over a seeded random sample (the same order as `lightning_nas.precompute --sample_seed`), and
over every architecture the persistent cache holds for these settings. Baselines on the same sample:
FLOPs, params and synflow (training-free). Also tau within each FLOPs quintile, where a budget makes the
proxy choose among architectures of similar cost.

    python benchmarks/proxy_quality.py --profile small      # 50 archs, C8/N1 proxy net, 2-core CPU
    python benchmarks/proxy_quality.py --profile medium     # 50 archs, C16/N2 proxy net, ~15 min
    python benchmarks/proxy_quality.py --profile paper      # 1000 archs, C16/N5 (a GPU or many hours)

The last line is `kendall_tau=<value>` (RMI vs CIFAR-10 test accuracy on the sample)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np
from _common import ACC_TABLE, md_table, out_dir, require_shared, write_csv, write_provenance
from _common import NB201_DATASETS as DATASETS

from lightning_nas.analysis.ranking import rank_agreement
from lightning_nas.config import set_torch_threads

PROFILES: dict[str, dict[str, Any]] = {
    "small": {"sample": 50, "extra": ("--space.C", "8", "--space.N", "1", "--proxy.steps", "100")},
    "medium": {"sample": 50, "extra": ("--space.C", "16", "--space.N", "2", "--proxy.steps", "100")},
    "paper": {"sample": 1000, "extra": ("--space.C", "16", "--space.N", "5", "--proxy.steps", "100")},
}


def score_sample(scoring: Any, genotypes: list[Any]) -> np.ndarray:
    from tqdm import tqdm

    return np.array([scoring.rmi(g) for g in tqdm(genotypes, desc="RMI", unit="arch", file=sys.stderr)])


def per_arch_rows(space: Any, genotypes: list[Any], rmi: np.ndarray, table: Any, seed: int) -> list[dict[str, Any]]:
    from _zero_cost import synflow_of

    from lightning_nas.spaces.nb201.space import nb201_index

    rows = []
    for g, r in zip(genotypes, rmi, strict=True):
        row: dict[str, Any] = {"index": nb201_index(g), "arch_str": space.key(g), "rmi": float(r)}
        row["flops_M"] = table.get(g, "cifar10", "flops_M")
        row["params_M"] = table.get(g, "cifar10", "params_M")
        row["synflow_log"] = synflow_of(space, g, (3, 32, 32), seed)
        for ds in DATASETS:
            row[f"{ds}.test_acc"] = table.get(g, ds)
        rows.append(row)
    return rows


def summary_rows(rows: list[dict[str, Any]], label: str) -> list[dict[str, Any]]:
    out = []
    for ds in DATASETS:
        acc = np.array([r[f"{ds}.test_acc"] for r in rows])
        row: dict[str, Any] = {"set": label, "dataset": ds, "n": len(rows)}
        for proxy in ("rmi", "flops_M", "params_M", "synflow_log"):
            if proxy not in rows[0]:
                continue
            tau, rho = rank_agreement(np.array([r[proxy] for r in rows]), acc)
            row[f"tau_{proxy}"], row[f"rho_{proxy}"] = tau, rho
        out.append(row)
    return out


def quintile_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    flops = np.array([r["flops_M"] for r in rows])
    edges = np.quantile(flops, [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    bins = np.clip(np.searchsorted(edges, flops, side="right") - 1, 0, 4)
    out = []
    for q in range(5):
        sub = [r for r, b in zip(rows, bins, strict=True) if b == q]
        acc = np.array([r["cifar10.test_acc"] for r in sub])
        row: dict[str, Any] = {"quintile": q + 1, "n": len(sub), "flops_lo": float(edges[q]), "flops_hi": float(edges[q + 1])}
        for proxy in ("rmi", "flops_M", "synflow_log"):
            row[f"tau_{proxy}"] = rank_agreement(np.array([r[proxy] for r in sub]), acc)[0]
        out.append(row)
    return out


def cached_rows(scoring: Any, table: Any) -> list[dict[str, Any]]:
    """Every architecture the cache holds for these settings (RMI and FLOPs/params only)."""
    space = scoring.problem.space
    rows = []
    for key in sorted(scoring.cache.cache.keys(scoring.cache.space, scoring.cache.shash)):
        g = space.parse(key)
        result = scoring.cache.lookup(key)
        row = {"rmi": result.rmi, "flops_M": table.get(g, "cifar10", "flops_M"), "params_M": table.get(g, "cifar10", "params_M")}
        rows.append(row | {f"{ds}.test_acc": table.get(g, ds) for ds in DATASETS})
    return rows


def plot(path: Any, rows: list[dict[str, Any]], quintiles: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    sc = a.scatter([r["rmi"] for r in rows], [r["cifar10.test_acc"] for r in rows], c=[r["flops_M"] for r in rows], cmap="viridis", s=18)
    fig.colorbar(sc, ax=a, label="FLOPs (M)")
    a.set(xlabel="RMI score", ylabel="NB201 CIFAR-10 test accuracy (%)", title=f"RMI vs accuracy (n={len(rows)})")
    x = np.arange(len(quintiles))
    for k, (proxy, label) in enumerate((("rmi", "RMI"), ("flops_M", "FLOPs"), ("synflow_log", "synflow"))):
        b.bar(x + (k - 1) * 0.27, [q[f"tau_{proxy}"] for q in quintiles], width=0.27, label=label)
    b.set(xticks=x, xticklabels=[f"Q{q['quintile']}" for q in quintiles], ylabel="Kendall tau", title="tau within FLOPs quintiles")
    b.axhline(0, color="k", lw=0.5)
    b.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", choices=tuple(PROFILES), default="small")
    p.add_argument("--sample", type=int, default=None, help="archs in the sample (default: the profile's)")
    p.add_argument("--sample_seed", type=int, default=0)
    p.add_argument("--seed", type=int, default=0, help="run seed (probe batch, candidate init)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--cache_path", default=None, help="persistent cache file (default: the user's cache dir)")
    p.add_argument("--out", default=None, help="results folder (default: benchmarks/results/proxy_quality)")
    args = p.parse_args(argv)
    require_shared()
    set_torch_threads(args.threads)
    from _scoring import scoring_for

    from lightning_nas.rmi.precompute import sample_genotypes
    from lightning_nas.tables.nb201_accuracy import NB201AccuracyTable

    prof = PROFILES[args.profile]
    n = args.sample or prof["sample"]
    start = time.perf_counter()
    scoring = scoring_for(args.seed, args.cache_path, prof["extra"])
    table = NB201AccuracyTable.load(ACC_TABLE)
    genotypes = sample_genotypes(scoring.problem.space, n, args.sample_seed)
    rmi = score_sample(scoring, genotypes)
    rows = per_arch_rows(scoring.problem.space, genotypes, rmi, table, args.seed)
    summary = summary_rows(rows, f"sample (seed {args.sample_seed})")
    cached = cached_rows(scoring, table)
    if len(cached) > len(rows):
        summary += summary_rows(cached, "all cached (sample + archs the searches visited; not random)")
    quintiles = quintile_rows(rows)

    out = out_dir("proxy_quality", args.profile, args.out)
    write_csv(out / "archs.csv", rows)
    write_csv(out / "summary.csv", summary)
    write_csv(out / "quintiles.csv", quintiles)
    plot(out / "proxy_quality.png", rows, quintiles)
    c = scoring.cfg
    settings = {
        "profile": args.profile, "sample": n, "sample_seed": args.sample_seed, "seed": args.seed,
        "proxy": vars(c.proxy), "space": {"C": c.space.C, "N": c.space.N}, "probe": vars(c.probe),
        "data": c.data.name, "reference": c.reference.checkpoint, "accuracy": "NB201 test_acc (200 epochs)",
        "score_hash": scoring.cache.shash, "cache": str(scoring.cache.cache.path),
        "trained": scoring.trained, "cache_lookups": scoring.looked_up, "wall_seconds": time.perf_counter() - start,
    }  # fmt: skip
    write_provenance(out, argv, settings)
    report = (
        f"# proxy_quality ({args.profile})\n\nRMI on CIFAR-10 JPEGs (proxy net C{c.space.C}/N{c.space.N}, {c.proxy.steps} steps, "
        f"probe {c.probe.batch_size} of {c.probe.pool}, seed {args.seed}) vs NB201 200-epoch test accuracy; "
        f"{n} archs sampled with seed {args.sample_seed}. {scoring.trained} trained, {scoring.looked_up} cache look-ups, "
        f"{settings['wall_seconds']:.0f} s.\n\n## Correlations\n\n{md_table(summary)}\n"
        f"## Kendall tau within CIFAR-10 FLOPs quintiles of the sample\n\n{md_table(quintiles)}\n![](proxy_quality.png)\n"
    )
    (out / "README.md").write_text(report)
    print(report)
    print(f"kendall_tau={summary[0]['tau_rmi']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
