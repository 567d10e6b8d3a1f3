"""Fig. 2 with the refine stage (issue 25 §2): does a short list refined by a short training beat the
trivial picker (the most FLOPs under the budget) at the paper's GA size?

Setup. Searches on the fast RMI table (`--table`, nothing trained), the paper's GA (population 20 x 100
generations, penalty handling), GA seeds `--seeds`, HW-NAS-Bench budgets at the 25/50/75th percentile of
each device's cost over NB201. The refine stage is served by NAS-Bench-201's own 12-epoch validation
accuracies (`--hp12`, `cifar10.valid_acc_12ep`; its `train_seconds_12ep` is the simulated GPU cost): the
short list comes from the product (`lightning_nas.refine.shortlist.build_shortlist`), its most accurate
member at 12 epochs is the pick, judged by NB201's 200-epoch CIFAR-10 test accuracy against the
constrained optimum.

Choosing, then reporting. The mix and k are chosen on the 9 ENERGY settings (edgegpu/eyeriss/fpga energy x
p25/p50/p75): every mix of fitness in {0,5,10,15,20}, capacity in {0,5,10} and space_capacity in
{0,5,10,15,20} with 1 <= k = their sum <= 20; the lowest mean regret (ties: fewer trainings). They are then
reported, unchanged, on the 18 LATENCY settings of Fig. 2 beside: no refine (the paper), the max-FLOPs
picker, a FLOPs-only list and an RMI-only list of the same size, the search-scored-only list (no
enumeration: what an OFA user gets), and training every feasible class (the floor). The honest test: the
chosen mix against the FLOPs-only list at equal trainings, paired over the 18 settings (bootstrap 95 %
interval of the mean regret difference). A regret-vs-k curve (k = 1..30) for the RMI-only, FLOPs-only and
half-and-half lists. The noisy-12-epoch variant waits for benchmarks/refine_cpu.py's tau (not built yet).

GA runs are stored as they finish (`ga/<metric>-p<pct>.json.gz`: per seed the GA's answer and the feasible
candidates it scored, enough for every short list up to k 30) and reused by a rerun.

    python benchmarks/refine_fig2.py --threads 1                       # the full study (~20 min GA on one core)
    python benchmarks/refine_fig2.py --profile small --out /tmp/r     # 2 devices, 2 seeds, population 8 x 5

Outputs (`benchmarks/results/refine_fig2-<profile>/` or `--out`): choose.csv (every mix on the energy settings),
runs.csv (every latency run and variant), summary.csv / summary.json, curve.csv, README.md, the GA shards,
command.txt, config.json, versions.json. The last line is
`mix=<mix> k=<k> mean_regret_pp=<x> beats_max_flops=<n>/18 flops_only_pp=<y> diff_lo=<lo> diff_hi=<hi>`."""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common as common
import numpy as np
from _table_search import table_base, table_search

from lightning_nas.config import set_torch_threads

LATENCY = ("edgegpu_latency", "raspi4_latency", "edgetpu_latency", "pixel3_latency", "eyeriss_latency", "fpga_latency")
ENERGY = ("edgegpu_energy", "eyeriss_energy", "fpga_energy")
PERCENTILES = (25, 50, 75)
KEEP = 30  # candidates kept per GA run and per order (the largest k)
PROFILES: dict[str, dict[str, Any]] = {
    "small": {"latency": ("edgegpu_latency", "pixel3_latency"), "energy": ("edgegpu_energy",), "seeds": (0, 1), "population": 8, "generations": 5},
    "paper": {"latency": LATENCY, "energy": ENERGY, "seeds": tuple(range(10)), "population": 20, "generations": 100},
}  # fmt: skip


def mixes() -> list[dict[str, int]]:
    grid = itertools.product((0, 5, 10, 15, 20), (0, 5, 10), (0, 5, 10, 15, 20))
    return [{"fitness": f, "capacity": c, "space_capacity": s} for f, c, s in grid if 1 <= f + c + s <= 20]


def name_of(mix: dict[str, int]) -> str:
    return "+".join(f"{k}{v}" for k, v in mix.items() if v) or "none"


# ---------------------------------------------------------------- the GA runs, stored as shards


def reduced_rows(rows: list[dict[str, Any]], objectives: list[Any], space: Any) -> list[dict[str, Any]]:
    """The feasible scored rows that any short list up to k KEEP can take: the best row per key, the top KEEP
    by fitness and by each capacity (FLOPs, params); enough for `build_shortlist`."""
    from lightning_nas.refine.shortlist import scored_candidates

    cands = scored_candidates(space, rows, objectives)
    keep = {c.key for c in cands[:KEEP]}
    for index in (0, 1):
        keep |= {c.key for c in sorted(cands, key=lambda c: (-space.complexity(c.genotype)[index], c.key))[: 3 * KEEP]}
    best: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["key"] in keep and r.get("feasible") and (r["key"] not in best or r["fitness"] > best[r["key"]]["fitness"]):
            best[r["key"]] = {k: r[k] for k in ("key", "genotype", "rmi", "fitness", "feasible", *(f"cost_{o.name}" for o in objectives))}
    return list(best.values())


def ga_runs(args: Any, prof: dict[str, Any], base: list[str], metric: str, pct: int, budget: float, objectives: list[Any], space: Any,
            out: Path) -> dict[int, dict[str, Any]]:  # fmt: skip
    """Per seed: the GA's answer (NB201 index) and its reduced rows; from the shard when stored."""
    path = out / "ga" / f"{metric}-p{pct}.json.gz"
    stored = json.loads(gzip.open(path, "rt").read()) if path.exists() else {}
    key = f"{prof['population']}x{prof['generations']}"
    runs = {int(s): r for s, r in stored.get(key, {}).items()}
    for seed in prof["seeds"]:
        if seed in runs:
            continue
        t = time.perf_counter()
        genotype, res = table_search(base, seed, metric, budget, prof["population"], prof["generations"], "penalty")
        runs[seed] = {"answer": space.benchmark_fields(genotype)["nb201_index"], "rows": reduced_rows(res["bench_rows"], objectives, space),
                      "seconds": round(time.perf_counter() - t, 2)}  # fmt: skip
        stored[key] = {str(s): r for s, r in sorted(runs.items())}
        path.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path.with_suffix(".partial"), "wt") as f:
            f.write(json.dumps(stored))
        path.with_suffix(".partial").replace(path)
        print(f"  GA {metric} p{pct} seed {seed}: {runs[seed]['seconds']:.1f} s", flush=True)
    return {s: runs[s] for s in prof["seeds"]}


# ---------------------------------------------------------------- short lists and picks


class Setting:
    """One budget: its objectives and whole-space pool (the product's), the oracle and the trivial picker."""

    def __init__(self, base: list[str], metric: str, pct: int, hw: Any, acc_table: Any, hp12: Any, fast: np.ndarray) -> None:
        from lightning_nas.analysis.budget import best_feasible, trivial_picks
        from lightning_nas.config import parse_config
        from lightning_nas.pipeline import build_problem
        from lightning_nas.refine.shortlist import space_pool
        from lightning_nas.tables.oracle import NB201Oracle

        self.metric, self.pct = metric, pct
        self.oracle = NB201Oracle(acc_table, "cifar10", hw.get("cifar10", metric))
        self.budget = self.oracle.percentile_budget(pct)
        cfg, _ = parse_config([*base, "--cost.metric", metric, "--cost.budget", repr(float(self.budget))])
        problem = build_problem(cfg, check_budgets=False)
        self.space, self.objectives = problem.space, problem.objectives
        self.pool = space_pool(self.space, self.objectives) or []
        self.hp12 = hp12
        self.optimum = self.oracle.optimum(self.budget).accuracy
        self.flops = acc_table.column("cifar10", "flops_M")
        self.fast = fast  # the search's proxy over the whole space (the table's RMI by NB201 index)
        self.proxy_optimum = best_feasible(fast, self.oracle.cost, self.budget)
        self.max_flops_acc = trivial_picks(self.oracle, self.flops, self.budget)["max_flops_acc"]
        accs = [hp12.accuracy[self.index(c.genotype)] for c in self.pool]
        self.floor_index = self.index(self.pool[int(np.argmax(accs))].genotype) if self.pool else -1

    def index(self, genotype: Any) -> int:
        return int(self.space.benchmark_fields(genotype)["nb201_index"])

    def judge(self, index: int) -> dict[str, Any]:
        acc, cost = float(self.oracle.accuracy[index]), float(self.oracle.cost[index])
        return {"index": index, "accuracy": acc, "regret_pp": self.optimum - acc, "feasible": bool(cost <= self.budget)}

    def refine(self, run: dict[str, Any], mix: dict[str, int]) -> dict[str, Any]:
        """The short list of `mix` (k = its sum) over a GA run, its most accurate member at 12 epochs, judged."""
        from lightning_nas.refine.shortlist import build_shortlist

        shortlist, _ = build_shortlist(self.space, run["rows"], self.objectives, sum(mix.values()), mix, whole=self.pool)
        if not shortlist:
            return {**self.judge(run["answer"]), "trainings": 0, "gpu_seconds": 0.0}
        idx = [self.index(c.genotype) for c in shortlist]
        accs = [self.hp12.accuracy[i] for i in idx]
        pick = idx[int(np.argmax(accs))]  # argmax keeps the first of equals: the earlier on the list
        return {**self.judge(pick), "trainings": len(idx), "gpu_seconds": float(sum(self.hp12.seconds[i] for i in idx))}


def ga_share(setting: Setting, run: dict[str, Any]) -> dict[str, Any]:
    """How far the GA's answer is from the feasible optimum of the very proxy it maximises (issue 25 §3)."""
    gap = float(setting.fast[setting.proxy_optimum] - setting.fast[run["answer"]])
    return {"proxy_gap": gap, "reached_proxy_optimum": bool(abs(gap) < 1e-12), "proxy_optimum_regret_pp": setting.judge(setting.proxy_optimum)["regret_pp"]}


def mean_regret(rows: list[dict[str, Any]]) -> float:
    return float(np.mean([r["regret_pp"] for r in rows]))


def variant_rows(setting: Setting, runs: dict[int, dict[str, Any]], variants: dict[str, dict[str, int] | None]) -> list[dict[str, Any]]:
    """Every run's pick under each variant (None: the GA's own answer)."""
    out = []
    for seed, run in runs.items():
        for name, mix in variants.items():
            picked = setting.refine(run, mix) if mix else {**setting.judge(run["answer"]), "trainings": 0, "gpu_seconds": 0.0, **ga_share(setting, run)}
            out.append({"metric": setting.metric, "percentile": setting.pct, "budget": setting.budget, "seed": seed, "variant": name,
                        "k": sum(mix.values()) if mix else 0, **picked})  # fmt: skip
    return out


def per_setting(rows: list[dict[str, Any]], settings: list[Setting]) -> list[dict[str, Any]]:
    """Each setting's mean over seeds per variant; `beats_max_flops`: strictly more accurate than the max-FLOPs
    picker (by more than 1e-9 pp: a mean of equal floats may differ in the last bit)."""
    out = []
    for s in settings:
        for variant in dict.fromkeys(r["variant"] for r in rows):
            mine = [r for r in rows if (r["metric"], r["percentile"], r["variant"]) == (s.metric, s.pct, variant)]
            acc = float(np.mean([r["accuracy"] for r in mine]))
            out.append({"metric": s.metric, "percentile": s.pct, "variant": variant, "mean_acc": acc, "mean_regret_pp": mean_regret(mine),
                        "feasible": float(np.mean([r["feasible"] for r in mine])), "max_flops_acc": s.max_flops_acc, "optimum": s.optimum,
                        "beats_max_flops": bool(acc > s.max_flops_acc + 1e-9), "trainings": float(np.mean([r["trainings"] for r in mine])),
                        "gpu_seconds": float(np.mean([r["gpu_seconds"] for r in mine]))})  # fmt: skip
    return out


def summarise(table: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for variant in dict.fromkeys(r["variant"] for r in table):
        mine = [r for r in table if r["variant"] == variant]
        out.append({"variant": variant, "settings": len(mine), "mean_regret_pp": float(np.mean([r["mean_regret_pp"] for r in mine])),
                    "feasible": float(np.mean([r["feasible"] for r in mine])), "beats_max_flops": sum(r["beats_max_flops"] for r in mine),
                    "trainings": float(np.mean([r["trainings"] for r in mine])), "gpu_seconds": float(np.mean([r["gpu_seconds"] for r in mine]))})  # fmt: skip
    return out


def paired_interval(a: np.ndarray, b: np.ndarray, resamples: int = 10000, seed: int = 0) -> tuple[float, float, float]:
    """mean(a - b) over paired settings and its 95 % percentile bootstrap interval."""
    d = np.asarray(a) - np.asarray(b)
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), (resamples, len(d)))].mean(axis=1)
    return float(d.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def fixed_rows(setting: Setting, seeds: list[int]) -> list[dict[str, Any]]:
    """The pickers that do not search, one row per seed (so every variant averages alike): the most FLOPs
    under the budget, and training every feasible class (the floor)."""
    from lightning_nas.analysis.budget import best_feasible

    most = best_feasible(setting.flops, setting.oracle.cost, setting.budget)  # the trivial picker of every study: ties to the lowest index
    classes = {setting.space.class_key(c.genotype): setting.index(c.genotype) for c in setting.pool}
    floor = {**setting.judge(setting.floor_index), "trainings": len(classes), "gpu_seconds": float(sum(setting.hp12.seconds[i] for i in classes.values()))}
    base = {"metric": setting.metric, "percentile": setting.pct, "budget": setting.budget}
    return [{**base, "seed": s, "variant": v, "k": 0, **picked} for s in seeds
            for v, picked in (("max_flops", {**setting.judge(most), "trainings": 0, "gpu_seconds": 0.0}), ("train_all", floor))]  # fmt: skip


def curve_rows(setting: Setting, runs: dict[int, dict[str, Any]], ks: range) -> list[dict[str, Any]]:
    families = {"rmi_only": lambda k: {"fitness": k}, "flops_only": lambda k: {"space_capacity": k},
                "half_and_half": lambda k: {"fitness": (k + 1) // 2, "space_capacity": k // 2}}  # fmt: skip
    out = []
    for family, mix_of in families.items():
        for k in ks:
            regrets = [setting.refine(run, mix_of(k))["regret_pp"] for run in runs.values()]
            out.append({"metric": setting.metric, "percentile": setting.pct, "family": family, "k": k, "mean_regret_pp": float(np.mean(regrets))})
    return out


def choose_mix(settings: list[Setting], runs: dict[tuple[str, int], dict[int, dict[str, Any]]]) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """The mix with the lowest mean regret over the choosing settings (ties: fewer trainings, then name)."""
    rows = []
    for mix in mixes():
        regrets = [s.refine(run, mix)["regret_pp"] for s in settings for run in runs[(s.metric, s.pct)].values()]
        rows.append({"mix": name_of(mix), "k": sum(mix.values()), "mean_regret_pp": float(np.mean(regrets)), **mix})
    best = min(rows, key=lambda r: (r["mean_regret_pp"], r["k"], r["mix"]))
    return {k: best[k] for k in ("fitness", "capacity", "space_capacity")}, rows


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", choices=tuple(PROFILES), default="paper")
    p.add_argument("--table", default=str(common.REPO / "benchmarks" / "tables" / "rmi_nb201_fast.csv.gz"), help="the search's table of scores")
    p.add_argument("--hp12", default=str(common.SHARED / "nas-bench-201" / "nb201_hp12_cifar10.csv.gz"), help="NB201's 12-epoch accuracies")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="override the profile's GA seeds")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--resamples", type=int, default=10000, help="paired bootstrap resamples")
    p.add_argument("--out", default=None)
    p.add_argument("--search_args", nargs=argparse.REMAINDER, default=[], help="extra config overrides for every search")
    args = p.parse_args(argv)
    common.require_shared()
    set_torch_threads(args.threads)
    from lightning_nas.refine.accuracy import AccuracyTable
    from lightning_nas.run_dir import versions
    from lightning_nas.spaces.nb201.space import NB201Space
    from lightning_nas.tables.hw_nas_bench import HWNASBenchTable
    from lightning_nas.tables.nb201_accuracy import NB201AccuracyTable

    at_start = versions()
    start = time.perf_counter()
    prof = dict(PROFILES[args.profile]) | ({"seeds": tuple(args.seeds)} if args.seeds else {})
    out = common.out_dir("refine_fig2", args.profile, args.out)
    hp12 = AccuracyTable(args.hp12, "cifar10.valid_acc_12ep", "cifar10.train_seconds_12ep", NB201Space())
    acc_table, hw = NB201AccuracyTable.load(common.ACC_TABLE), HWNASBenchTable.load(common.HW_TABLE)
    scratch = tempfile.TemporaryDirectory()  # the searches' config holds this machine's data paths: not a stored result
    base = table_base(Path(args.table), Path(scratch.name), args.search_args)
    from lightning_nas.tables.rmi_table import indexed_scores

    idx, values = indexed_scores(args.table)
    fast = np.full(15625, np.nan)
    fast[idx] = values

    def settings_and_runs(metrics: tuple[str, ...]) -> tuple[list[Setting], dict[tuple[str, int], dict[int, dict[str, Any]]]]:
        settings, runs = [], {}
        for metric, pct in itertools.product(metrics, PERCENTILES):
            s = Setting(base, metric, pct, hw, acc_table, hp12, fast)
            runs[(metric, pct)] = ga_runs(args, prof, base, metric, pct, s.budget, s.objectives, s.space, out)
            settings.append(s)
        return settings, runs

    print("choosing the mix on the energy settings", flush=True)
    energy, energy_runs = settings_and_runs(prof["energy"])
    chosen, choose_rows = choose_mix(energy, energy_runs)
    k = sum(chosen.values())
    print(f"chosen: {name_of(chosen)} (k {k})", flush=True)
    variants = {"paper": None, "mix": chosen, "flops_only": {"space_capacity": k}, "rmi_only": {"fitness": k},
                "search_scored_only": {"fitness": chosen["fitness"], "capacity": chosen["capacity"] + chosen["space_capacity"]}}  # fmt: skip
    latency, latency_runs = settings_and_runs(prof["latency"])
    rows, curve = [], []
    for s in latency:
        runs = latency_runs[(s.metric, s.pct)]
        rows += variant_rows(s, runs, variants) + fixed_rows(s, list(runs))
        curve += curve_rows(s, runs, range(1, KEEP + 1))
    table = per_setting(rows, latency)
    summary = summarise(table)
    by = {v: np.array([r["mean_regret_pp"] for r in table if r["variant"] == v]) for v in ("mix", "flops_only")}
    diff, lo, hi = paired_interval(by["mix"], by["flops_only"], args.resamples)
    paper_rows = [r for r in rows if r["variant"] == "paper"]
    share = {"mean_proxy_gap": float(np.mean([r["proxy_gap"] for r in paper_rows])),
             "reached_proxy_optimum": float(np.mean([r["reached_proxy_optimum"] for r in paper_rows])),
             "proxy_optimum_mean_regret_pp": float(np.mean([r["proxy_optimum_regret_pp"] for r in paper_rows])),
             "ga_mean_regret_pp": mean_regret(paper_rows)}  # fmt: skip
    record = {"ga_share": share, "chosen_mix": chosen, "k": k, "mix_minus_flops_only_pp": diff, "diff_lo": lo, "diff_hi": hi,
              "mix_significantly_better": bool(hi < 0), "summary": summary, "settings": len(latency), "seeds": list(prof["seeds"]),
              "population": prof["population"], "generations": prof["generations"], "wall_seconds": time.perf_counter() - start}  # fmt: skip
    common.write_csv(out / "choose.csv", choose_rows)
    common.write_csv(out / "runs.csv", rows)
    common.write_csv(out / "summary.csv", table)
    common.write_csv(out / "curve.csv", curve)
    (out / "summary.json").write_text(json.dumps(record, indent=2) + "\n")
    config = {"profile": args.profile, **{k2: list(v) if isinstance(v, tuple) else v for k2, v in prof.items()}, "table": Path(args.table).name,
              "hp12": Path(args.hp12).name, "resamples": args.resamples, "percentiles": list(PERCENTILES), "mixes": len(mixes())}  # fmt: skip
    common.write_provenance(out, argv, config, at_start)
    report = readme(record, summary, table, curve, choose_rows, config)
    (out / "README.md").write_text(report)
    print(report)
    mix_row = next(r for r in summary if r["variant"] == "mix")
    flops_row = next(r for r in summary if r["variant"] == "flops_only")
    print(f"mix={name_of(chosen)} k={k} mean_regret_pp={mix_row['mean_regret_pp']:.4f} beats_max_flops={mix_row['beats_max_flops']}/{len(latency)} "
          f"flops_only_pp={flops_row['mean_regret_pp']:.4f} diff_lo={lo:.4f} diff_hi={hi:.4f}")  # fmt: skip
    return 0


def readme(record: dict[str, Any], summary: list[dict[str, Any]], table: list[dict[str, Any]], curve: list[dict[str, Any]],
           choose_rows: list[dict[str, Any]], config: dict[str, Any]) -> str:  # fmt: skip
    n = record["settings"]
    mean_curve = []
    for family in dict.fromkeys(r["family"] for r in curve):
        for k in sorted({r["k"] for r in curve}):
            mine = [r["mean_regret_pp"] for r in curve if (r["family"], r["k"]) == (family, k)]
            mean_curve.append({"family": family, "k": k, "mean_regret_pp": float(np.mean(mine))})
    wide = [{"k": k, **{f: next(r["mean_regret_pp"] for r in mean_curve if (r["family"], r["k"]) == (f, k)) for f in dict.fromkeys(r["family"] for r in mean_curve)}}
            for k in sorted({r["k"] for r in mean_curve})]  # fmt: skip
    top = sorted(choose_rows, key=lambda r: (r["mean_regret_pp"], r["k"]))[:8]
    verdict = ("significantly better than" if record["mix_significantly_better"] else "not significantly better than")
    return (
        f"# refine_fig2 ({config['profile']})\n\nSearches on `{config['table']}` (nothing trained), GA {config['population']} x "
        f"{config['generations']}, seeds {config['seeds']}, penalty handling; refine served by `{config['hp12']}` (12-epoch validation "
        f"accuracy), judged by NB201's 200-epoch CIFAR-10 test accuracy; regret against the constrained optimum. Mix chosen on the "
        f"energy settings ({len(choose_rows)} mixes, k <= 20): **{name_of(record['chosen_mix'])}** (k {record['k']}); reported on {n} latency "
        f"settings. The chosen mix is {verdict} the FLOPs-only list of the same size: mean regret difference "
        f"{record['mix_minus_flops_only_pp']:+.3f} pp [{record['diff_lo']:+.3f}, {record['diff_hi']:+.3f}] (paired over settings, bootstrap 95 %).\n\n"
        f"Goals: mean regret <= 0.4 pp, 100 % feasible, beats max-FLOPs on >= 16 of 18, <= 20 trainings per search.\n\n"
        f"The GA's own share (the paper, no refine): its answer's RMI is {record['ga_share']['mean_proxy_gap']:.4f} below the feasible "
        f"optimum of the very table it maximises on average; {100 * record['ga_share']['reached_proxy_optimum']:.1f} % of runs reach it. "
        f"The proxy's optimum would have a mean regret of {record['ga_share']['proxy_optimum_mean_regret_pp']:.3f} pp against the GA's "
        f"{record['ga_share']['ga_mean_regret_pp']:.3f} pp.\n\n"
        f"## Over the latency settings\n\n{common.md_table(summary)}\n## Per setting\n\n{common.md_table(table)}\n"
        f"## Regret vs k (mean over settings and seeds)\n\n{common.md_table(wide)}\n## The best mixes on the energy settings\n\n{common.md_table(top)}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
