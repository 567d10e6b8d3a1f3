"""The paper's Fig. 5 in the OFA MobileNetV3 space: how many samples it takes to fill a population of 50
under a FLOPs budget, with rejection sampling (OFA's way: re-draw until under budget) vs the penalty
(HW-EvRSNAS: every sample is kept, over-budget ones pay Omega - cost in their fitness).

Both go through lightning_nas.ga.GeneticAlgorithm.initial_state with the space's own sampler and FLOPs
(MMACs as OFA counts them, ImageNet head, 1000 classes); no network is built or trained. Rejection is cut
off after --max_draws draws (RejectionLimitReached) and reported as such; a budget below the cheapest
subnet is reported as never ending without drawing.

    python benchmarks/penalty_vs_rejection.py            # 10 seeds per budget, cut-off 30 000 draws
    python benchmarks/penalty_vs_rejection.py --quick    # 3 seeds, cut-off 10 000 draws

Writes benchmarks/results/penalty_vs_rejection/ (samples.csv, summary.csv, summary.md, penalty_vs_rejection.png)."""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from _common import RESULTS, md_table, write_csv, write_provenance

POPULATION = 50
SETTINGS: dict[str, dict[str, Any]] = {
    "r224": {"resolutions": (224,), "budgets": (115, 150, 175, 200, 225, 250, 300, 350, 400, 500)},
    "r128-224": {"resolutions": (128, 144, 160, 176, 192, 208, 224), "budgets": (40, 60, 75, 100, 150, 200, 300, 400)},
}


def make_space(resolutions: tuple[int, ...]) -> Any:
    from lightning_nas.spaces.ofa_mbv3.space import OFAMobileNetV3Space

    return OFAMobileNetV3Space(num_classes=1000, resolution=224, resolutions=resolutions)


def feasible_rate(space: Any, budgets: tuple[int, ...], n: int, seed: int = 12345) -> dict[int, float]:
    """Fraction of uniformly sampled subnets under each budget (estimated from n samples)."""
    rng = random.Random(seed)
    flops = [space.complexity(space.sample(rng))[0] for _ in range(n)]
    return {b: sum(f <= b for f in flops) / n for b in budgets}


def fill(space: Any, budget: float, seed: int, handling: str, max_draws: int) -> tuple[int, str]:
    """(draws, status) to fill the initial population; status ok | cut off."""
    from lightning_nas.config import GAConfig
    from lightning_nas.search.ga import GeneticAlgorithm, RejectionLimitReached

    cfg = GAConfig(population=POPULATION, generations=1, tournament_size=2, constraint_handling=handling, max_rejection_draws=max_draws)
    ga = GeneticAlgorithm(space, cfg, evaluate=lambda gs, _gen: [0.0] * len(gs), accept=lambda g: space.complexity(g)[0] <= budget)
    try:
        return ga.initial_state(random.Random(seed)).draws, "ok"
    except RejectionLimitReached:
        return ga.draws, "cut off"


def run_setting(name: str, setting: dict[str, Any], seeds: list[int], max_draws: int, rate_samples: int) -> tuple[list, list]:
    space = make_space(setting["resolutions"])
    lowest = space.min_complexity()[0]
    rates = feasible_rate(space, setting["budgets"], rate_samples)
    samples, summary = [], []
    for budget in setting["budgets"]:
        start = time.perf_counter()
        rows = []
        for seed in seeds:
            for handling in ("rejection", "penalty"):
                if handling == "rejection" and budget < lowest:
                    draws, status = math.nan, "never ends"
                else:
                    draws, status = fill(space, budget, seed, handling, max_draws)
                rows.append({"setting": name, "budget_mmacs": budget, "seed": seed, "method": handling, "samples": draws, "status": status})
        samples += rows
        summary.append(summarize(name, budget, rows, rates[budget], lowest, max_draws))
        print(f"{name:>9} budget {budget:>4} MMACs: {summary[-1]['rejection']:>32} | penalty {summary[-1]['penalty']}"
              f"  ({time.perf_counter() - start:.1f} s)", flush=True)  # fmt: skip
    return samples, summary


def summarize(name: str, budget: float, rows: list[dict[str, Any]], rate: float, lowest: float, max_draws: int) -> dict[str, Any]:
    rej = [r for r in rows if r["method"] == "rejection"]
    pen = [r["samples"] for r in rows if r["method"] == "penalty"]
    done = [r["samples"] for r in rej if r["status"] == "ok"]
    if rej[0]["status"] == "never ends":
        text = f"never ends (below the cheapest subnet, {lowest:.1f})"
    elif len(done) < len(rej):
        text = f"cut off at {max_draws} in {len(rej) - len(done)}/{len(rej)} seeds"
    else:
        text = f"{statistics.mean(done):.0f} ± {statistics.pstdev(done):.0f}"
    return {
        "setting": name,
        "budget_mmacs": budget,
        "cheapest_mmacs": lowest,
        "feasible_fraction": rate,
        "expected_rejection": POPULATION / rate if rate > 0 else math.inf,
        "rejection": text,
        "rejection_mean": statistics.mean(done) if len(done) == len(rej) and done else math.nan,
        "rejection_cut_seeds": len(rej) - len(done) if rej[0]["status"] != "never ends" else len(rej),
        "penalty": f"{statistics.mean(pen):.0f}",
    }


def plot(path: Path, summary: list[dict[str, Any]], samples: list[dict[str, Any]], max_draws: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(SETTINGS), figsize=(11, 4), sharey=True)
    for ax, name in zip(axes, SETTINGS, strict=True):
        rows = [s for s in summary if s["setting"] == name]
        for s in rows:
            draws = [r["samples"] for r in samples if r["setting"] == name and r["budget_mmacs"] == s["budget_mmacs"]
                     and r["method"] == "rejection" and r["status"] == "ok"]  # fmt: skip
            ax.scatter([s["budget_mmacs"]] * len(draws), draws, s=8, color="tab:red", alpha=0.35)
            if s["rejection_cut_seeds"] and not s["rejection"].startswith("never"):
                ax.scatter([s["budget_mmacs"]], [max_draws], marker="^", s=60, color="tab:red")
        ax.axvspan(0, rows[0]["cheapest_mmacs"], color="0.9", label="below the cheapest subnet: rejection never ends")
        ok = [s for s in rows if not math.isnan(s["rejection_mean"])]
        ax.plot([s["budget_mmacs"] for s in ok], [s["rejection_mean"] for s in ok], "o-", color="tab:red", label="rejection (mean of seeds)")
        ax.plot([s["budget_mmacs"] for s in rows], [POPULATION] * len(rows), "s-", color="tab:blue", label="penalty")
        ax.axhline(max_draws, color="tab:red", ls=":", lw=1, label=f"cut-off ({max_draws} draws) ▲")
        ax.set(xscale="linear", yscale="log", xlabel="FLOPs budget (MMACs)", title=f"OFA MobileNetV3, {name}")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"samples to fill a population of {POPULATION}")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", choices=("small",), default="small", help="one size (CPU, minutes): the defaults")
    p.add_argument("--quick", action="store_true", help="3 seeds, cut-off 10 000 draws")
    p.add_argument("--seeds", type=int, default=None, help="seeds per budget (default 10)")
    p.add_argument("--max_draws", type=int, default=None, help="rejection cut-off (default 30 000)")
    p.add_argument("--rate_samples", type=int, default=50_000, help="random subnets for the feasible fraction")
    p.add_argument("--out", default=str(RESULTS / "penalty_vs_rejection"))
    args = p.parse_args(argv)
    seeds = list(range(args.seeds or (3 if args.quick else 10)))
    max_draws = args.max_draws or (10_000 if args.quick else 30_000)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    samples, summary = [], []
    for name, setting in SETTINGS.items():
        s, m = run_setting(name, setting, seeds, max_draws, args.rate_samples)
        samples += s
        summary += m
    write_csv(out / "samples.csv", samples)
    write_csv(out / "summary.csv", summary)
    plot(out / "penalty_vs_rejection.png", summary, samples, max_draws)
    header = (
        f"# Penalty vs rejection sampling (paper Fig. 5), OFA MobileNetV3 space\n\n"
        f"Samples drawn to fill a population of {POPULATION} under a FLOPs budget (MMACs as OFA counts them, "
        f"1000 classes), {len(seeds)} seeds per budget; rejection cut off after {max_draws} draws. "
        f"feasible_fraction: share of {args.rate_samples} random subnets under the budget; expected_rejection = "
        f"{POPULATION} / feasible_fraction. r224: resolution fixed at 224; r128-224: resolution gene 128-224 step 16. "
        f"{time.perf_counter() - start:.0f} s.\n\n"
    )
    (out / "summary.md").write_text(header + md_table(summary, "{:.4g}") + "\n![plot](penalty_vs_rejection.png)\n")
    write_provenance(out, argv, {"seeds": seeds, "max_draws": max_draws, "settings": SETTINGS, "population": POPULATION})
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
