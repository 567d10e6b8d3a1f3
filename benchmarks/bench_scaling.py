"""Throughput of the evaluation backends (`search.backend`): the same NB201 candidates (the first `--n` of
the seeded order `lightning_nas.precompute --sample_seed` uses, so the archs proxy_quality.py samples)
scored with the small profile's proxy (C8/N1 network, 100 steps, CIFAR-10 JPEGs from ../shared/data, the
shared pre-trained ResNet-20 as the reference, probe 32 of 512, seed 0) by

    serial_1t   serial backend, 1 torch thread per candidate
    serial_2t   serial backend, 2 torch threads per candidate
    local_2x1   local backend (spawned process pool), 2 workers x 1 thread
    ray_2x1     ray backend (a local Ray started here), 2 workers x 1 thread

Goal: on a 2-core machine the local backend scores at least 1.5x as many candidates per second as the
faster of the two serial runs, and ray is within 10 % of local (ray >= 0.9 x local).

The settings are interleaved over `--repeats` rounds (each round in a rotated order) so machine noise hits
all of them alike. The scorer (images, reference, probe batch, reference features) is built once, untimed;
the 2-thread evaluator is that evaluator at 2 threads (`threads_per_candidate`: the only thing
`build_scorer` makes differently for another thread count), and this process is warmed up by a 2-step
candidate at each thread count. Backends are used directly
(`build_backend` + `start` + `map`) with no persistent cache, so every candidate is trained in every run.
Timed per run: start-up (build_backend + start + bringing every worker up: the local pool's spawned
processes, or ray.init and Ray's worker processes with the package imported; a Ray worker still fetches
the evaluator from the object store with its first candidate, inside the map) and the map of all
candidates, separately; candidates/s is n / map seconds (start-up excluded; it is reported beside it).
The 1-thread-per-candidate runs (serial_1t, local_2x1, ray_2x1) must give the same RMI to 1e-6.

    python benchmarks/bench_scaling.py                                   # 24 candidates, 100 steps, 2 rounds
    python benchmarks/bench_scaling.py --n 4 --steps 5 --repeats 1 --out /tmp/s   # a smoke run

Results go to benchmarks/results/bench_scaling/: repeats.csv (one row per setting per round), rmi.csv (one
row per candidate per run), summary.json, command.txt, config.json, versions.json. The last line is
`local_speedup=<x> ray_speedup=<y> identical=<true|false>` (median candidates/s over the faster serial
setting's median; identical over the 1-thread-per-candidate runs)."""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass, replace
from typing import Any

from _common import (
    base_overrides,
    md_table,
    out_dir,
    require_shared,
    write_csv,
    write_provenance,
)
from _workers import bring_up

from lightning_nas.config import set_torch_threads

TOLERANCE = 1e-6
GOAL_LOCAL = 1.5  # local >= 1.5 x the faster serial run
GOAL_RAY = 0.9  # ray >= 0.9 x local (within 10 %)


@dataclass(frozen=True)
class Setting:
    name: str
    backend: str
    threads: int  # torch threads per candidate
    workers: int

    @property
    def one_thread(self) -> bool:
        return self.threads == 1


SETTINGS = (
    Setting("serial_1t", "serial", 1, 1),
    Setting("serial_2t", "serial", 2, 1),
    Setting("local_2x1", "local", 1, 2),
    Setting("ray_2x1", "ray", 1, 2),
)


def config_for(setting: Setting, seed: int, steps: int) -> Any:
    from lightning_nas.config import parse_config

    extra = [
        "--space.C", "8", "--space.N", "1", "--proxy.steps", str(steps), "--cache.enabled", "false",
        "--threads", str(setting.threads), "--search.backend", setting.backend,
        "--search.workers", str(setting.workers), "--search.threads_per_worker", "1",
    ]  # fmt: skip
    cfg, _ = parse_config(base_overrides(seed, None, extra))
    return cfg


def one_run(
    setting: Setting, cfg: Any, evaluator: Any, genotypes: list[Any]
) -> tuple[dict[str, Any], list[Any]]:
    """Start-up, map and close of one backend; (timings, outcome per candidate position)."""
    from lightning_nas.backends import build_backend

    start = time.perf_counter()
    backend = build_backend(cfg)
    try:
        backend.start(evaluator)
        bring_up(backend, setting.workers)
        startup = time.perf_counter() - start
        outcomes: list[Any] = [None] * len(genotypes)
        start = time.perf_counter()
        for i, outcome in backend.map(genotypes):
            outcomes[i] = outcome
        mapped = time.perf_counter() - start
    finally:
        start = time.perf_counter()
        backend.close()
        closed = time.perf_counter() - start
    timing = {"startup_s": startup, "map_s": mapped, "close_s": closed, "cand_per_s": len(genotypes) / mapped}
    return timing, outcomes


def median_or_nan(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def summarise(
    settings: tuple[Setting, ...], rows: list[dict[str, Any]], rmi: dict[str, list[list[float | None]]]
) -> dict[str, Any]:
    per: dict[str, dict[str, Any]] = {}
    for s in settings:
        mine = [r for r in rows if r["setting"] == s.name]
        per[s.name] = {
            "backend": s.backend, "threads_per_candidate": s.threads, "workers": s.workers, "repeats": len(mine),
            "cand_per_s_median": median_or_nan([r["cand_per_s"] for r in mine]),
            "cand_per_s_min": min(r["cand_per_s"] for r in mine), "cand_per_s_max": max(r["cand_per_s"] for r in mine),
            "map_s_median": median_or_nan([r["map_s"] for r in mine]),
            "startup_s_median": median_or_nan([r["startup_s"] for r in mine]),
            "failures": sum(r["failures"] for r in mine),
        }  # fmt: skip
    serial = [n for n, p in per.items() if p["backend"] == "serial"]
    best_serial = max(serial, key=lambda n: per[n]["cand_per_s_median"]) if serial else None
    base = per[best_serial]["cand_per_s_median"] if best_serial else math.nan
    for p in per.values():
        p["ratio_to_faster_serial"] = p["cand_per_s_median"] / base
    # Identical: every 1-thread-per-candidate run (all rounds) gives every candidate the same RMI.
    runs = [r for s in settings if s.one_thread for r in rmi[s.name]]
    flat = [v for run in runs for v in run]
    complete = bool(runs) and all(v is not None for v in flat)
    spread = 0.0
    if complete and runs:
        for i in range(len(runs[0])):
            values = [run[i] for run in runs]
            spread = max(spread, max(values) - min(values))  # type: ignore[type-var, operator]
    one_thread_names = [s.name for s in settings if s.one_thread]
    identical = complete and len(one_thread_names) >= 2 and spread <= TOLERANCE
    two = [r for s in settings if not s.one_thread for r in rmi[s.name]]
    vs_two = math.nan
    if complete and two and all(v is not None for run in two for v in run):
        vs_two = max(abs(a - b) for run in two for a, b in zip(run, runs[0], strict=True))  # type: ignore[operator]
    local = per.get("local_2x1", {}).get("cand_per_s_median", math.nan)
    ray = per.get("ray_2x1", {}).get("cand_per_s_median", math.nan)
    return {
        "settings": per,
        "faster_serial": best_serial,
        "local_speedup": local / base,
        "ray_speedup": ray / base,
        "ray_over_local": ray / local,
        "identical": identical,
        "identical_among": one_thread_names,
        "max_abs_rmi_diff_1thread": spread if complete else None,
        "max_abs_rmi_diff_2t_vs_1t": vs_two,
        "tolerance": TOLERANCE,
        "goal": {"local_speedup_min": GOAL_LOCAL, "ray_over_local_min": GOAL_RAY},
        "goal_local_met": local / base >= GOAL_LOCAL,
        "goal_ray_met": ray / local >= GOAL_RAY,
    }


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=24, help="candidates (the first n of --sample_seed's order)")
    p.add_argument("--repeats", type=int, default=2, help="rounds; every setting once per round")
    p.add_argument("--steps", type=int, default=100, help="proxy training steps per candidate")
    p.add_argument("--sample_seed", type=int, default=0)
    p.add_argument("--seed", type=int, default=0, help="run seed (probe batch, candidate init)")
    p.add_argument("--settings", default=",".join(s.name for s in SETTINGS), help="subset, comma-separated")
    p.add_argument("--out", default=None, help="results folder (default: benchmarks/results/bench_scaling)")
    args = p.parse_args(argv)
    names = args.settings.split(",")
    unknown = sorted(set(names) - {s.name for s in SETTINGS})
    if unknown or args.n < 1 or args.repeats < 1:
        p.error(
            f"unknown settings {unknown} (valid: {', '.join(s.name for s in SETTINGS)})"
            if unknown
            else "--n and --repeats must be >= 1"
        )
    settings = tuple(s for s in SETTINGS if s.name in names)
    require_shared()
    set_torch_threads(1)  # the search process itself: setup at 1 thread (serial_2t sets 2 per candidate)

    from lightning_nas.backends import threads_per_candidate
    from lightning_nas.pipeline import build_problem, build_scorer
    from lightning_nas.rmi.evaluator import RMIEvaluator
    from lightning_nas.rmi.precompute import sample_genotypes

    t0 = time.perf_counter()
    cfgs = {s.name: config_for(s, args.seed, args.steps) for s in settings}
    first = cfgs[settings[0].name]
    problem = build_problem(first, check_budgets=False)
    scorer = build_scorer(problem)  # images, reference, probe batch, reference features: once
    ev = scorer.evaluator
    evaluators: dict[int, Any] = {}
    for s in settings:
        threads = threads_per_candidate(cfgs[s.name])
        if threads not in evaluators:
            evaluators[threads] = RMIEvaluator(
                ev.space, ev.probe, ev.reference_features, ev.cfg, ev.seed, threads=threads
            )
    genotypes = sample_genotypes(problem.space, args.n, args.sample_seed)
    for threads in evaluators:  # warm this process up (lazy imports, allocator) at each thread count, untimed
        RMIEvaluator(
            ev.space,
            ev.probe,
            ev.reference_features,
            replace(ev.cfg, steps=min(2, ev.cfg.steps)),
            ev.seed,
            threads=threads,
        ).evaluate(genotypes[0])
    setup_s = time.perf_counter() - t0
    print(
        f"setup {setup_s:.1f} s (untimed below); {args.n} candidates, {args.steps} steps, {args.repeats} round(s)",
        flush=True,
    )

    rows: list[dict[str, Any]] = []
    rmi_rows: list[dict[str, Any]] = []
    rmi: dict[str, list[list[float | None]]] = {s.name: [] for s in settings}
    for rnd in range(args.repeats):
        k = rnd % len(settings)
        for s in settings[k:] + settings[:k]:
            cfg = cfgs[s.name]
            timing, outcomes = one_run(s, cfg, evaluators[threads_per_candidate(cfg)], genotypes)
            values = [getattr(o, "rmi", None) for o in outcomes]
            failures = sum(v is None for v in values)
            rmi[s.name].append(values)
            rows.append({"round": rnd, "setting": s.name, "backend": s.backend, "threads_per_candidate": s.threads,
                         "workers": s.workers, "n": args.n, **timing, "failures": failures})  # fmt: skip
            for i, (g, o) in enumerate(zip(genotypes, outcomes, strict=True)):
                rmi_rows.append({"round": rnd, "setting": s.name, "index": i, "arch_str": problem.space.key(g),
                                 "rmi": getattr(o, "rmi", None), "seconds": getattr(o, "seconds", None),
                                 "error": getattr(o, "error", "")})  # fmt: skip
            print(f"round {rnd} {s.name:10s} start-up {timing['startup_s']:6.2f} s  map {timing['map_s']:7.2f} s  "
                  f"{timing['cand_per_s']:.3f} cand/s  failures {failures}", flush=True)  # fmt: skip

    summary = summarise(settings, rows, rmi)
    summary.update({"n": args.n, "steps": args.steps, "repeats": args.repeats, "sample_seed": args.sample_seed,
                    "seed": args.seed, "setup_s": setup_s, "cpus": os.cpu_count()})  # fmt: skip
    out = out_dir("bench_scaling", "small", args.out)
    write_csv(out / "repeats.csv", rows)
    write_csv(out / "rmi.csv", rmi_rows)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    c = first
    write_provenance(out, argv, {
        "n": args.n, "steps": args.steps, "repeats": args.repeats, "sample_seed": args.sample_seed, "seed": args.seed,
        "settings": [vars(s) for s in settings], "space": {"C": c.space.C, "N": c.space.N}, "proxy": vars(c.proxy),
        "probe": vars(c.probe), "data": c.data.name, "reference": c.reference.checkpoint, "persistent_cache": False,
        "archs": [problem.space.key(g) for g in genotypes],
    })  # fmt: skip
    table = [{"setting": n, "cand/s (median)": v["cand_per_s_median"], "min": v["cand_per_s_min"], "max": v["cand_per_s_max"],
              "start-up s": v["startup_s_median"], "x faster serial": v["ratio_to_faster_serial"], "failures": v["failures"]}
             for n, v in summary["settings"].items()]  # fmt: skip
    print(md_table(table), end="")
    print(f"RMI identical among {', '.join(summary['identical_among'])}: {summary['identical']} "
          f"(max |diff| {summary['max_abs_rmi_diff_1thread']}); 2 threads vs 1: max |diff| {summary['max_abs_rmi_diff_2t_vs_1t']}")  # fmt: skip
    print(
        f"goal local >= {GOAL_LOCAL}x faster serial: {summary['goal_local_met']}; ray >= {GOAL_RAY}x local: {summary['goal_ray_met']}"
    )
    print(f"local_speedup={summary['local_speedup']:.3f} ray_speedup={summary['ray_speedup']:.3f} "
          f"identical={str(summary['identical']).lower()}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
