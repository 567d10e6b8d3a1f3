"""One NSGA-II (Pareto) search vs nine single-budget GA searches (issue 13), NB201 CIFAR-10 + HW-NAS-Bench.

For one device's latency (default `edgegpu_latency`) and each seed: one NSGA-II run with no hard budget
(`--search.algorithm nsga2 --cost.budget null`: the unconstrained RMI-vs-latency front) against one
single-budget GA run (penalty) per budget, every run of the same size (population x generations). The
budgets are the device's latency 10th, 20th, ..., 90th percentile over the whole NB201 space. For every
budget it compares the NB201 CIFAR-10 test accuracy (200 epochs) of

  (a) the front member `lightning_nas.search.pareto.pick` chooses under the budget (highest RMI whose
      latency <= budget; a budget no front member fits is counted as a missing pick, accuracy NaN),
  (b) the GA run's answer: `results["best"]`, or `best_feasible` when best is over the budget
      (feasibility of both recorded),
  (c) the constrained optimum (best accuracy over the whole space with latency <= budget), and
  (d) the trivial picker "most FLOPs under the budget" (as in search_quality.py).

Cost: results.json `evaluations` of the NSGA-II run vs the sum over the GA runs (the algorithm's cost),
and, separately, distinct architectures scored (`unique_evaluations`; for the GA runs also the union of
their keys) and `trained`. All runs of one seed share the persistent score cache (`--cache_path`, default
the user's cache), so an architecture is trained once per seed whichever run meets it first; the scores
are the same either way. The NSGA-II run goes first in each seed, so its `trained` is what it costs on its
own (less what the cache held before), and the GA runs' `trained` is what they add.

Goals (issue 13): evaluations ratio (NSGA-II / sum of GA runs) <= 1/5, and the front's picks within
0.3 pp of the single-budget runs on average (mean |acc(single) - acc(front pick)|). A missed goal is
reported as missed, with the reason.

    python benchmarks/pareto_vs_single.py --profile small --threads 1   # C8/N1 proxy, pop 8 x 8, 9 budgets, seeds 0 1
    python benchmarks/pareto_vs_single.py --profile tiny --threads 1 --out /tmp/p   # test size: pop 4 x 2, 3 budgets, 2 steps
    python benchmarks/pareto_vs_single.py --profile paper    # C16/N5, pop 20 x 100, 10 seeds: days on a CPU

`paper` is only the large CPU profile: a precomputed RMI table (`proxy.table`) does not exist in the
product yet, so every candidate is trained (about a minute each for C16/N5 on one CPU thread).

The last line is `eval_ratio=<x> mean_gap_pp=<y> front_regret_pp=<z> single_regret_pp=<w>` with
mean_gap_pp = mean over seeds x budgets of acc(single) - acc(front pick) (positive: the single runs are
better) and the regrets = mean of optimum - accuracy, all in percentage points, over the picks that exist."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    ACC_TABLE,
    DEVICES,
    HW_TABLE,
    base_overrides,
    md_table,
    out_dir,
    require_shared,
    write_csv,
    write_provenance,
)

from lightning_nas.config import set_torch_threads

NAME = "pareto_vs_single"
GOAL_EVAL_RATIO = 1 / 5
GOAL_GAP_PP = 0.3


PROFILES: dict[str, dict[str, Any]] = {
    "tiny": {"percentiles": (25, 50, 75), "seeds": (0,), "population": 4, "generations": 2,
             "extra": ("--space.C", "8", "--space.N", "1", "--proxy.steps", "2")},
    "small": {"percentiles": tuple(range(10, 100, 10)), "seeds": (0, 1), "population": 8, "generations": 8,
              "extra": ("--space.C", "8", "--space.N", "1")},
    "paper": {"percentiles": tuple(range(10, 100, 10)), "seeds": tuple(range(10)), "population": 20, "generations": 100,
              "extra": ("--space.C", "16", "--space.N", "5")},
}  # fmt: skip


# ---- the runs --------------------------------------------------------------------------------------
def _run_keys(results: dict[str, Any]) -> set[str]:
    """The distinct score keys a run evaluated (from its evaluations.jsonl)."""
    lines = (Path(results["run_dir"]) / "evaluations.jsonl").read_text().splitlines()
    return {json.loads(line)["key"] for line in lines if line.strip()}


def run_nsga2(
    seed: int, metric: str, population: int, generations: int, cache_path: str | None, extra: tuple[str, ...]
) -> dict[str, Any]:
    """One NSGA-II search with no hard budget (the unconstrained front); results.json of the run.
    `_search_runner.run_search` always sets a budget, so this is its twin with `--cost.budget null`."""
    from _scoring import SCORERS
    from _search_runner import _RUNS

    from lightning_nas.config import parse_config
    from lightning_nas.search.engine import Search

    overrides = [
        "--search.algorithm", "nsga2",
        "--cost.metric", metric,
        "--cost.budget", "null",
        "--search.population", str(population),
        "--search.generations", str(generations),
        "--runs_root", str(_RUNS),
        "--tb_logs", str(_RUNS / "tb"),
        "--name", f"{metric}-{seed}-nsga2",
        "--finetune.nb201_table", str(ACC_TABLE),  # colours the front plot by NB201 accuracy
        "--finetune.nb201_dataset", "cifar10",
    ]  # fmt: skip
    cfg, _ = parse_config(base_overrides(seed, cache_path, [*extra, *overrides]))
    return Search(cfg, callbacks=[], scorer=SCORERS).run()


def keep_front(results: dict[str, Any], where: Path) -> None:
    """The NSGA-II run's front as the product writes it (pareto.csv, the report's pareto_front.png) and
    its hypervolume per generation (the logbook), under `where`."""
    import shutil

    from lightning_nas.reporting.report import write_report

    run_dir = Path(results["run_dir"])
    write_report(run_dir)
    where.mkdir(parents=True, exist_ok=True)
    for name in ("pareto.csv", "pareto_front.png"):
        shutil.copyfile(run_dir / name, where / name)
    write_csv(where / "hypervolume.csv", [{k: r[k] for k in ("gen", "nevals", "front_size", "hypervolume")} for r in results["logbook"]])
    (where / "hv_reference.json").write_text(json.dumps({"hv_reference": results["hv_reference"]}) + "\n")


def run_single(
    seed: int,
    metric: str,
    budget: float,
    population: int,
    generations: int,
    cache_path: str | None,
    extra: tuple[str, ...],
) -> dict[str, Any]:
    from _search_runner import run_search

    _, results = run_search(seed, metric, budget, population, generations, "penalty", cache_path, extra)
    return results


def run_row(
    seed: int, algorithm: str, pct: float | None, budget: float | None, results: dict[str, Any], wall: float
) -> dict[str, Any]:
    return {"seed": seed, "algorithm": algorithm, "percentile": pct, "budget": budget,
            "evaluations": int(results["evaluations"]), "unique_evaluations": int(results["unique_evaluations"]),
            "trained": int(results["trained"]), "persistent_cache_hits": int(results["persistent_cache_hits"]),
            "generations": int(results["generations"]), "wall_s": wall}  # fmt: skip


# ---- judging the answers ---------------------------------------------------------------------------
def genotype_of(summary: dict[str, Any]) -> tuple[int, ...]:
    return tuple(int(x) for x in summary["genotype"])


def single_answer(results: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The GA run's answer: best, or best_feasible when best is over the budget (and one exists)."""
    best = results["best"]
    if best["feasible"]:
        return best, "best"
    if results.get("best_feasible"):
        return results["best_feasible"], "best_feasible"
    return best, "best (infeasible, no feasible candidate)"


def front_pick(front: list[dict[str, Any]], metric: str, budget: float) -> dict[str, Any] | None:
    """`pareto.pick` under {metric: budget}; None when no front member qualifies (ConfigError)."""
    from lightning_nas.errors import ConfigError
    from lightning_nas.search.pareto import pick

    try:
        return pick(front, {metric: budget})
    except ConfigError:
        return None


def max_flops_acc(oracle: Any, flops: np.ndarray, budget: float) -> float:
    from lightning_nas.analysis.budget import trivial_picks

    return trivial_picks(oracle, flops, budget)["max_flops_acc"]


def judge_row(oracle: Any, flops: np.ndarray, metric: str, seed: int, pct: float, budget: float,
              front: list[dict[str, Any]], single: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    opt = oracle.optimum(budget)
    row: dict[str, Any] = {
        "seed": seed,
        "percentile": pct,
        "budget": budget,
        "optimum": opt.accuracy,
        "optimum_index": opt.index,
    }
    chosen = front_pick(front, metric, budget)
    if chosen is None:
        row |= {"front_index": None, "front_acc": math.nan, "front_cost": math.nan, "front_rmi": math.nan,
                "front_feasible": False, "front_missing": True}  # fmt: skip
    else:
        v = oracle.judge(genotype_of(chosen), budget)
        row |= {"front_index": v.index, "front_acc": v.accuracy, "front_cost": v.cost, "front_rmi": float(chosen["rmi"]),
                "front_feasible": v.feasible, "front_missing": False}  # fmt: skip
    answer, source = single_answer(single)
    s = oracle.judge(genotype_of(answer), budget)
    row |= {"single_index": s.index, "single_acc": s.accuracy, "single_cost": s.cost, "single_rmi": float(answer["rmi"]),
            "single_feasible": s.feasible, "single_best_feasible": bool(single["best"]["feasible"]), "single_source": source,
            "max_flops_acc": max_flops_acc(oracle, flops, budget)}  # fmt: skip
    row["gap_pp"] = row["single_acc"] - row["front_acc"]  # NaN when the pick is missing
    row["front_regret_pp"] = opt.accuracy - row["front_acc"]
    row["single_regret_pp"] = opt.accuracy - row["single_acc"]
    row["max_flops_regret_pp"] = opt.accuracy - row["max_flops_acc"]
    return row


def front_rows(oracle: Any, seed: int, front: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for m in front:
        g = genotype_of(m)
        v = oracle.judge(g, math.inf)
        out.append({"seed": seed, "index": v.index, "arch_str": v.arch_str, "rmi": float(m["rmi"]),
                    "cost": float(m["cost"]), "table_cost": v.cost, "accuracy": v.accuracy})  # fmt: skip
    return sorted(out, key=lambda r: (r["seed"], r["cost"]))


# ---- aggregation -----------------------------------------------------------------------------------
def _mean(values: list[float]) -> float:
    arr = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    return float(arr.mean()) if arr.size else math.nan


def per_budget(picks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for pct in dict.fromkeys(r["percentile"] for r in picks):
        rows = [r for r in picks if r["percentile"] == pct]
        out.append({"percentile": pct, "budget": rows[0]["budget"], "optimum": rows[0]["optimum"],
                    "front_acc": _mean([r["front_acc"] for r in rows]), "single_acc": _mean([r["single_acc"] for r in rows]),
                    "max_flops_acc": rows[0]["max_flops_acc"], "gap_pp": _mean([r["gap_pp"] for r in rows]),
                    "front_regret_pp": _mean([r["front_regret_pp"] for r in rows]),
                    "single_regret_pp": _mean([r["single_regret_pp"] for r in rows]),
                    "max_flops_regret_pp": rows[0]["max_flops_regret_pp"],
                    "front_missing": sum(bool(r["front_missing"]) for r in rows),
                    "single_feasible": sum(bool(r["single_feasible"]) for r in rows),
                    "single_best_feasible": sum(bool(r["single_best_feasible"]) for r in rows), "seeds": len(rows)})  # fmt: skip
    return out


def per_seed(picks: list[dict[str, Any]], fronts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for seed in dict.fromkeys(r["seed"] for r in picks):
        rows = [r for r in picks if r["seed"] == seed]
        out.append({"seed": seed, "front_size": sum(f["seed"] == seed for f in fronts),
                    "front_missing": sum(bool(r["front_missing"]) for r in rows),
                    "mean_gap_pp": _mean([r["gap_pp"] for r in rows]), "mean_abs_gap_pp": _mean([abs(r["gap_pp"]) for r in rows]),
                    "front_regret_pp": _mean([r["front_regret_pp"] for r in rows]),
                    "single_regret_pp": _mean([r["single_regret_pp"] for r in rows])})  # fmt: skip
    return out


def headline(
    runs: list[dict[str, Any]], picks: list[dict[str, Any]], distinct: dict[int, dict[str, int]]
) -> dict[str, Any]:
    """The headline numbers; `distinct` holds per seed the distinct architectures of the GA runs together
    (`ga_union`) and those of them the NSGA-II run had not scored (`ga_beyond_nsga2`): what each side
    trains from an empty cache, whatever the order of the runs."""
    nsga = [r for r in runs if r["algorithm"] == "nsga2"]
    ga = [r for r in runs if r["algorithm"] == "ga"]
    n_eval, g_eval = sum(r["evaluations"] for r in nsga), sum(r["evaluations"] for r in ga)
    n_unique, g_union = (
        sum(r["unique_evaluations"] for r in nsga),
        sum(d["ga_union"] for d in distinct.values()),
    )
    gaps = [r["gap_pp"] for r in picks]
    h: dict[str, Any] = {
        "nsga2_evaluations": n_eval, "ga_evaluations": g_eval, "eval_ratio": n_eval / g_eval,
        "nsga2_unique": n_unique, "ga_unique_sum": sum(r["unique_evaluations"] for r in ga), "ga_unique_union": g_union,
        "ga_beyond_nsga2": sum(d["ga_beyond_nsga2"] for d in distinct.values()),
        "unique_ratio": n_unique / g_union if g_union else math.nan,
        "nsga2_trained": sum(r["trained"] for r in nsga), "ga_trained": sum(r["trained"] for r in ga),
        "nsga2_wall_s": sum(r["wall_s"] for r in nsga), "ga_wall_s": sum(r["wall_s"] for r in ga),
        "picks": len(picks), "front_missing": sum(bool(r["front_missing"]) for r in picks),
        "mean_gap_pp": _mean(gaps), "mean_abs_gap_pp": _mean([abs(g) for g in gaps]),
        "front_regret_pp": _mean([r["front_regret_pp"] for r in picks]),
        "single_regret_pp": _mean([r["single_regret_pp"] for r in picks]),
        "max_flops_regret_pp": _mean([r["max_flops_regret_pp"] for r in picks]),
        "front_feasible": sum(bool(r["front_feasible"]) for r in picks),
        "single_feasible": sum(bool(r["single_feasible"]) for r in picks),
        "single_best_feasible": sum(bool(r["single_best_feasible"]) for r in picks),
        "front_better": sum(r["gap_pp"] < 0 for r in picks if not math.isnan(r["gap_pp"])),
        "single_better": sum(r["gap_pp"] > 0 for r in picks if not math.isnan(r["gap_pp"])),
        "ties": sum(r["gap_pp"] == 0 for r in picks if not math.isnan(r["gap_pp"])),
    }  # fmt: skip
    h["goal_eval_ratio"] = {
        "goal": f"<= 1/{round(1 / GOAL_EVAL_RATIO)}",
        "met": bool(h["eval_ratio"] <= GOAL_EVAL_RATIO),
    }
    met_gap = bool(h["mean_abs_gap_pp"] <= GOAL_GAP_PP) and h["front_missing"] == 0
    h["goal_gap"] = {"goal": f"mean |acc(single) - acc(front pick)| <= {GOAL_GAP_PP} pp", "met": met_gap}
    return h


def goal_lines(h: dict[str, Any]) -> list[str]:
    lines = []
    ratio = f"evaluations ratio {h['eval_ratio']:.4f} ({h['nsga2_evaluations']} NSGA-II / {h['ga_evaluations']} GA)"
    if h["goal_eval_ratio"]["met"]:
        lines.append(f"Goal evaluations ratio <= 1/5: **met**, {ratio}.")
    else:
        lines.append(
            f"Goal evaluations ratio <= 1/5: **missed**, {ratio}: the NSGA-II run evaluated more than a fifth of the GA runs together."
        )
    gap = f"mean |gap| {h['mean_abs_gap_pp']:.3f} pp (signed mean acc(single) - acc(front pick) {h['mean_gap_pp']:.3f} pp)"
    if h["goal_gap"]["met"]:
        lines.append(f"Goal front picks within 0.3 pp of the single runs on average: **met**, {gap}.")
    else:
        why = []
        if h["front_missing"]:
            why.append(f"{h['front_missing']} of {h['picks']} budgets had no front member under them")
        if not h["mean_abs_gap_pp"] <= GOAL_GAP_PP:
            side = (
                "the single-budget runs found better cells"
                if h["mean_gap_pp"] > 0
                else "the front's picks were better, but not within 0.3 pp"
            )
            why.append(
                f"{gap}: {side} (front better {h['front_better']}, single better {h['single_better']}, ties {h['ties']} of {h['picks']})"
            )
        lines.append(
            "Goal front picks within 0.3 pp of the single runs on average: **missed**, "
            + "; ".join(why)
            + "."
        )
    return lines


def plot(
    path: Path, summary: list[dict[str, Any]], fronts: list[dict[str, Any]], oracle: Any, metric: str
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    x = [s["budget"] for s in summary]
    a.plot(x, [s["optimum"] for s in summary], "k--", label="constrained optimum")
    a.plot(x, [s["single_acc"] for s in summary], "o-", label="single-budget GA (mean over seeds)")
    a.plot(x, [s["front_acc"] for s in summary], "s-", label="NSGA-II front pick (mean over seeds)")
    a.plot(x, [s["max_flops_acc"] for s in summary], "^:", label="max FLOPs under budget")
    a.set(
        xlabel=f"budget ({metric}, ms)", ylabel="NB201 CIFAR-10 test accuracy (%)", title="answer per budget"
    )
    a.legend(fontsize=7)
    ok = ~np.isnan(oracle.cost) & ~np.isnan(oracle.accuracy)
    b.scatter(oracle.cost[ok], oracle.accuracy[ok], s=1, c="0.8", label="NB201 space")
    for seed in dict.fromkeys(r["seed"] for r in fronts):
        rows = [r for r in fronts if r["seed"] == seed]
        b.plot(
            [r["cost"] for r in rows],
            [r["accuracy"] for r in rows],
            "o-",
            ms=4,
            label=f"NSGA-II front, seed {seed}",
        )
    b.set(
        xlabel=f"{metric} (ms)",
        ylabel="NB201 CIFAR-10 test accuracy (%)",
        title="NSGA-II RMI-latency fronts, at NB201 accuracy (< 80 % not shown)",
        ylim=(80, 95),
    )
    b.title.set_fontsize(9)
    b.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", choices=tuple(PROFILES), default="small")
    p.add_argument(
        "--device", choices=DEVICES, default="edgegpu_latency", help="the HW-NAS-Bench latency to constrain"
    )
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--cache_path", default=None, help="persistent cache file (default: the user's cache dir)")
    p.add_argument("--out", default=None, help=f"results folder (default: benchmarks/results/{NAME})")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="override the profile's seeds")
    p.add_argument("--population", type=int, default=None, help="override the profile's population")
    p.add_argument("--generations", type=int, default=None, help="override the profile's generations")
    args = p.parse_args(argv)
    require_shared()
    set_torch_threads(args.threads)
    from lightning_nas.tables.hw_nas_bench import HWNASBenchTable
    from lightning_nas.tables.nb201_accuracy import NB201AccuracyTable
    from lightning_nas.tables.oracle import NB201Oracle

    prof = dict(PROFILES[args.profile])
    for key in ("seeds", "population", "generations"):
        if getattr(args, key):
            prof[key] = tuple(getattr(args, key)) if key == "seeds" else getattr(args, key)
    metric = args.device
    out = out_dir(NAME, args.profile, args.out)
    start = time.perf_counter()
    table, hw = NB201AccuracyTable.load(ACC_TABLE), HWNASBenchTable.load(HW_TABLE)
    flops = table.column("cifar10", "flops_M")
    oracle = NB201Oracle(table, "cifar10", hw.get("cifar10", metric))
    budgets = [(pct, oracle.percentile_budget(pct)) for pct in prof["percentiles"]]
    pop, gens, extra = prof["population"], prof["generations"], prof["extra"]

    runs: list[dict[str, Any]] = []
    picks: list[dict[str, Any]] = []
    fronts: list[dict[str, Any]] = []
    distinct: dict[int, dict[str, int]] = {}
    for seed in prof["seeds"]:
        t0 = time.perf_counter()
        nsga = run_nsga2(seed, metric, pop, gens, args.cache_path, extra)
        runs.append(run_row(seed, "nsga2", None, None, nsga, time.perf_counter() - t0))
        if nsga.get("algorithm") != "nsga2" or "pareto_front" not in nsga:
            raise SystemExit(
                f"error: the nsga2 run's results.json has no pareto_front (algorithm {nsga.get('algorithm')!r})"
            )
        front = nsga["pareto_front"]
        keep_front(nsga, out / f"nsga2_seed{seed}")
        fronts += front_rows(oracle, seed, front)
        print(f"  seed {seed} nsga2: front of {len(front)}, {runs[-1]['evaluations']} evaluations, trained {runs[-1]['trained']}, "
              f"{runs[-1]['wall_s']:.0f} s", file=sys.stderr)  # fmt: skip
        keys: set[str] = set()
        for pct, budget in budgets:
            t0 = time.perf_counter()
            single = run_single(seed, metric, budget, pop, gens, args.cache_path, extra)
            runs.append(run_row(seed, "ga", pct, budget, single, time.perf_counter() - t0))
            keys |= _run_keys(single)
            row = judge_row(oracle, flops, metric, seed, pct, budget, front, single)
            picks.append(row)
            print(f"  seed {seed} p{pct} budget {budget:.4g}: front {row['front_acc']:.2f}, single {row['single_acc']:.2f} "
                  f"({row['single_source']}), optimum {row['optimum']:.2f}, max-FLOPs {row['max_flops_acc']:.2f}; "
                  f"trained {runs[-1]['trained']}, {runs[-1]['wall_s']:.0f} s", file=sys.stderr)  # fmt: skip
        nsga_keys = _run_keys(nsga)
        distinct[seed] = {
            "nsga2": len(nsga_keys),
            "ga_union": len(keys),
            "ga_beyond_nsga2": len(keys - nsga_keys),
        }
    summary = per_budget(picks)
    h = headline(runs, picks, distinct)
    wall = time.perf_counter() - start
    h["wall_s"] = wall
    h["distinct_per_seed"] = {str(k): v for k, v in distinct.items()}
    h["per_seed"] = per_seed(picks, fronts)

    write_csv(out / "runs.csv", runs)
    write_csv(out / "picks.csv", picks)
    write_csv(out / "summary.csv", summary)
    write_csv(out / "front.csv", fronts)
    (out / "summary.json").write_text(json.dumps(h, indent=2, default=str) + "\n")
    plot(out / f"{NAME}.png", summary, fronts, oracle, metric)
    write_provenance(out, argv, {"profile": args.profile, "device": metric, **prof,
                                 "budgets": {f"p{pct}": b for pct, b in budgets},
                                 "accuracy": "NB201 cifar10 test_acc (200 epochs)", "nsga2_budget": None,
                                 "single_handling": "penalty", "order": "per seed: the NSGA-II run, then the GA runs by budget",
                                 "cache_path": args.cache_path or "default (user cache dir)", "wall_seconds": wall})  # fmt: skip
    last = (f"eval_ratio={h['eval_ratio']:.4f} mean_gap_pp={h['mean_gap_pp']:.4f} "
            f"front_regret_pp={h['front_regret_pp']:.4f} single_regret_pp={h['single_regret_pp']:.4f}")  # fmt: skip
    cost_table = [
        {"runs": "NSGA-II (1 per seed)", "evaluations": h["nsga2_evaluations"], "unique": h["nsga2_unique"], "trained": h["nsga2_trained"], "wall_s": h["nsga2_wall_s"]},
        {"runs": f"GA ({len(budgets)} per seed)", "evaluations": h["ga_evaluations"], "unique": f"{h['ga_unique_sum']} (union {h['ga_unique_union']}, {h['ga_beyond_nsga2']} not scored by NSGA-II)",
         "trained": h["ga_trained"], "wall_s": h["ga_wall_s"]},
    ]  # fmt: skip
    report = (
        f"# {NAME} ({args.profile})\n\nNB201 CIFAR-10 test accuracy (200 epochs); device `{metric}` (HW-NAS-Bench); budgets = its "
        f"latency percentiles {list(prof['percentiles'])} over the NB201 space; every run population {pop} x {gens} generations; "
        f"seeds {list(prof['seeds'])}; proxy overrides `{' '.join(extra)}`. One NSGA-II run per seed with no hard budget, "
        f"one penalty GA run per seed and budget; one persistent score cache. {wall:.0f} s.\n\n"
        f"`{last}`\n\n" + "\n\n".join(goal_lines(h)) + "\n\n"
        f"## Cost (all seeds)\n\n{md_table(cost_table, '{:.1f}')}\n"
        f"From an empty cache the NSGA-II runs would train {h['nsga2_unique']} architectures and the GA runs "
        f"{h['ga_unique_union']} ({h['ga_beyond_nsga2']} after the NSGA-II run of their seed); `trained` above is what this "
        f"run trained, which depends on what the persistent cache already held.\n\n"
        f"Front picks missing: {h['front_missing']} of {h['picks']}. Single runs whose `best` was over the budget: "
        f"{h['picks'] - h['single_best_feasible']} (answer feasible in {h['single_feasible']} of {h['picks']}). "
        f"Mean regret: front {h['front_regret_pp']:.3f} pp, single {h['single_regret_pp']:.3f} pp, max-FLOPs picker "
        f"{h['max_flops_regret_pp']:.3f} pp.\n\n"
        f"## Per seed (gap and regret pp)\n\n{md_table(h['per_seed'])}\n"
        f"## Per budget (mean over seeds; accuracy %, gap and regret pp)\n\n{md_table(summary)}\n"
        f"## Every seed and budget\n\n{md_table(picks)}\n## NSGA-II fronts\n\n{md_table(fronts)}\n"
        f"## Runs\n\n{md_table(runs)}\n![]({NAME}.png)\n"
    )
    (out / "README.md").write_text(report)
    print(report)
    print(last)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
