"""One-shot check on a lent GPU machine (one NVIDIA H200, 16 cores), one section per call, driven by
`benchmarks/device_check.sh` (which caps each section's time and prints it). Sections, in priority order:

1. `search_throughput`: the paper-profile NB201 CIFAR-10 search (proxy network C16/N5, 100 proxy steps,
   population 20, FLOPs <= the median FLOPs of a seeded sample of the space, proxy.accelerator gpu, local
   backend, no persistent cache so every candidate trains) with proxy.candidates_per_gpu 8, 4 and 1 (in that
   order, each given an equal share of the time left, so what a fast setting leaves goes to the slower
   ones), each for a fixed small number of generations (`--generations`, default 2: the random initial population and
   one bred generation). Per setting: worker start-up (spawn, imports, CUDA context), seconds per
   generation, candidates/s, and a projected time for the whole 100-generation search, which is an
   extrapolation from the generations run (printed as such). Also the largest |RMI difference| among the
   initial population's candidates between the three runs (the same seed draws the same ones): GPU
   repeatability.
2. `gpu_cpu_rmi`: a few dozen archs (`--archs`, default 24, the first of the `--sample_seed` order that
   `lightning_nas.precompute` uses) scored on the GPU (local backend, candidates_per_gpu 8) and on the CPU
   (local backend, one worker per core, 1 thread each): |RMI_gpu - RMI_cpu| (median, max) and Kendall tau
   between the two rankings, over the archs both sides finished (a C16/N5 candidate takes about a minute
   on one CPU core, so a short cap may leave the CPU side with one worker-wave of archs).
3. `trainer_overhead`: the per-candidate Lightning Trainer's overhead on a GPU-sized step, by
   `benchmarks/bench_overhead.py`'s comparison on the GPU: one fixed candidate on the paper profile's proxy
   network (NB201 C16/N5, 100 steps) trained by `RMIEvaluator` (a Lightning Trainer, accelerator gpu) and by
   a plain PyTorch loop on the same CUDA device (synchronised before each timer reading), same seeds,
   interleaved, a few repeats (`--repeats`, default 3), at probe batch 32 and then 256 (`--batches`) of
   seeded random CIFAR-10-shaped 3x32x32 inputs. Per batch size: Lightning and plain-loop seconds (medians),
   their ratio (median, min, max over the repeats) and whether the two RMIs agree to 1e-4 in every repeat.
   A repeat or batch size that its predecessor says would pass the cap is not started (and said so).

A section that reaches its time cap (`--cap_s`) stops at once (its workers are killed) and reports what
it finished. `--dry-run` runs the same code on the CPU at toy size (C4/N1 network, 3 steps, population 4,
1 generation, 3 archs, a 200-image subset of the CIFAR-10 JPEGs; trainer_overhead at batches 16 and 32,
2 repeats) in seconds: what the tests run.

    benchmarks/device_check.sh                    # on the GPU machine: every section, <= 6 min
    python benchmarks/device_check.py --section gpu_cpu_rmi --cap_s 120 --out /tmp/d   # one section

Data: the CIFAR-10 JPEG tarball and the ResNet-20 checkpoint of ../shared/data, or of the folder
`--shared` / $LNAS_SHARED_DATA names (../shared does not travel to the device machine; see
benchmarks/README.md). Each section writes `<section>.json` to `--out`, and updates config.json and
versions.json there."""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import statistics
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _common import CIFAR_DIR, CONFIG, REPO, RESULTS

SECTIONS = ("search_throughput", "gpu_cpu_rmi", "trainer_overhead")
NEEDS_IMAGES = ("search_throughput", "gpu_cpu_rmi")  # trainer_overhead trains on random CIFAR-shaped inputs
# Later sections go below these, in the same form (a function `section_<name>(args, prof, deadline)`
# returning a JSON-able dict, an entry in SECTIONS and a line in device_check.sh), e.g.:
#   - RMI table chunk: the paper-profile RMI of a slice of the NB201 space on the GPU (not written yet);
#   - own-device latency table: measured latency of NB201 cells on this GPU (not written yet).

REFERENCE = Path("reference") / "resnet20-12fca82f.th"
TARBALL = Path("cifar10") / "cifar10-jpg.tar.gz"
TOY_DIR = Path(tempfile.gettempdir()) / "lnas-device-check-toy-cifar10"
TOY_PER_CLASS = {"train": 20, "test": 5}
GENERATIONS_FULL = 100  # the paper's search length, for the projection

PROFILES: dict[str, dict[str, Any]] = {
    "paper": {
        "extra": ("--space.C", "16", "--space.N", "5", "--proxy.steps", "100", "--search.population", "20"),
        "accelerator": "gpu", "cpg": (8, 4, 1), "generations": 2, "workers": "auto", "archs": 24, "gpu_cpg": 8,
        "overhead": {"C": 16, "N": 5, "steps": 100, "batches": (32, 256), "repeats": 3},
    },
    "dry": {
        "extra": ("--space.C", "4", "--space.N", "1", "--proxy.steps", "3", "--search.population", "4",
                  "--probe.pool", "64", "--probe.batch_size", "16"),
        "accelerator": "cpu", "cpg": (8, 4, 1), "generations": 1, "workers": "1", "archs": 3, "gpu_cpg": 8,
        "overhead": {"C": 4, "N": 1, "steps": 3, "batches": (16, 32), "repeats": 2},
    },
}  # fmt: skip


# ---- data ----------------------------------------------------------------------------------------
def find_shared(given: str | None, images: bool = True) -> Path:
    """The benchmark data folder: --shared, $LNAS_SHARED_DATA, ../shared/data, ./shared/data, ./.device-data.
    `images` False: the CIFAR-10 tarball is not needed (trainer_overhead needs only the reference)."""
    candidates = [
        given,
        os.environ.get("LNAS_SHARED_DATA"),
        REPO.parent / "shared" / "data",
        REPO / "shared" / "data",
        REPO / ".device-data",
    ]
    for c in candidates:
        if c and (not images or (Path(c) / TARBALL).exists()) and (Path(c) / REFERENCE).exists():
            return Path(c)
    raise SystemExit(
        f"error: no benchmark data folder with {f'{TARBALL} and ' if images else ''}{REFERENCE} (looked at --shared, $LNAS_SHARED_DATA, "
        f"{REPO.parent / 'shared' / 'data'}, {REPO / 'shared' / 'data'}, {REPO / '.device-data'})"
    )


def cifar_root(shared: Path, dry: bool) -> Path:
    """The CIFAR-10 JPEG tree (unpacked once, atomically), or for --dry-run a 200-image subset of it."""
    if not dry:
        import _common

        _common.SHARED = shared  # cifar_root reads the tarball from _common.SHARED
        return _common.cifar_root(CIFAR_DIR)
    if (TOY_DIR / "train").is_dir() and (TOY_DIR / "test").is_dir():
        return TOY_DIR
    tmp = TOY_DIR.with_name(TOY_DIR.name + f".partial-{os.getpid()}")
    counts: dict[tuple[str, str], int] = {}
    if (CIFAR_DIR / "train").is_dir() and (CIFAR_DIR / "test").is_dir():  # already unpacked: copy
        for split, k in TOY_PER_CLASS.items():
            for cls in sorted(p.name for p in (CIFAR_DIR / split).iterdir()):
                (tmp / split / cls).mkdir(parents=True)
                for f in sorted((CIFAR_DIR / split / cls).iterdir())[:k]:
                    shutil.copyfile(f, tmp / split / cls / f.name)
    else:  # stream the tarball, keeping the first k images of each split/class
        with tarfile.open(shared / TARBALL) as tar:
            for m in tar:
                parts = Path(m.name).parts
                if not m.isfile() or len(parts) != 3 or parts[0] not in TOY_PER_CLASS:
                    continue
                key = (parts[0], parts[1])
                if counts.get(key, 0) >= TOY_PER_CLASS[parts[0]]:
                    continue
                counts[key] = counts.get(key, 0) + 1
                (tmp / parts[0] / parts[1]).mkdir(parents=True, exist_ok=True)
                (tmp / m.name).write_bytes(tar.extractfile(m).read())  # type: ignore[union-attr]
    try:
        tmp.replace(TOY_DIR)
    except OSError:  # another process made it first
        shutil.rmtree(tmp, ignore_errors=True)
    return TOY_DIR


def overrides(args: Any, prof: dict[str, Any], extra: list[str]) -> list[str]:
    return [
        "--config", str(CONFIG),
        "--data.root", str(args.data_root),
        "--reference.checkpoint", str(args.shared / REFERENCE),
        "--seed", str(args.seed),
        "--threads", "1",
        "--cache.enabled", "false",
        "--search.threads_per_worker", "1",
        *prof["extra"], *extra,
    ]  # fmt: skip


# ---- time caps -----------------------------------------------------------------------------------
class Cap:
    """Interrupts the main thread (KeyboardInterrupt) when `seconds` have passed, unless disarmed: the
    local backend then kills its workers, so a capped run ends promptly with what it finished."""

    def __init__(self, seconds: float) -> None:
        self.lock = threading.Lock()
        self.armed = True
        self.fired = False
        self.timer = threading.Timer(max(0.0, seconds), self._fire)
        self.timer.daemon = True

    def _fire(self) -> None:
        with self.lock:
            if self.armed:
                self.fired = True
                signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)  # type: ignore[arg-type]

    def __enter__(self) -> Cap:
        self.timer.start()
        return self

    def disarm(self) -> None:
        with self.lock:
            self.armed = False
        self.timer.cancel()

    def __exit__(self, *exc: Any) -> bool:
        try:
            self.disarm()
        except KeyboardInterrupt:  # ours, arriving just as the body ended
            if not self.fired:
                raise
        return exc[0] is KeyboardInterrupt and self.fired  # swallow only our own interrupt


def bring_up_timed(backend: Any, cuda: bool) -> float:
    from _workers import bring_up

    start = time.perf_counter()
    bring_up(backend, backend.workers or 1, cuda=cuda)
    return time.perf_counter() - start


# ---- section 1: search throughput ----------------------------------------------------------------
class GenerationTimer:
    """Search hooks: brings the local pool up before generation 0 (timed on its own) and records each
    generation's seconds and new (trained) candidates."""

    def __init__(self, cuda: bool) -> None:
        self.cuda = cuda
        self.search: Any = None
        self.startup_s = math.nan
        self.workers = 0
        self.generations: list[dict[str, Any]] = []

    def on_search_start(self, search: Any) -> None:
        self.search = search
        backend = search.backend
        self.workers = getattr(backend, "workers", 1)
        self.startup_s = bring_up_timed(backend, self.cuda)

    def on_candidate_evaluated(self, search: Any, record: dict[str, Any]) -> None:
        pass

    def on_generation_end(self, search: Any, generation: int, summary: dict[str, Any]) -> None:
        self.search = search  # the latest view: its rows so far
        self.generations.append(
            {"generation": generation, "seconds": summary["seconds"], "new": summary["new"]}
        )

    def on_search_end(self, search: Any, results: dict[str, Any]) -> None:
        pass


def flops_budget(args: Any, prof: dict[str, Any]) -> float:
    """The median FLOPs (of the full-size network) over a seeded sample of 300 archs."""
    import random

    from lightning_nas.config import parse_config
    from lightning_nas.pipeline import build_problem

    cfg, _ = parse_config(overrides(args, prof, ["--cost.metric", "flops"]))
    problem = build_problem(cfg, check_budgets=False)
    rng = random.Random(args.sample_seed)
    return statistics.median(problem.costs(problem.space.sample(rng))[0] for _ in range(300))


def projection(startup: float, gens: list[dict[str, Any]]) -> float:
    """Start-up + generation 0 + (GENERATIONS_FULL - 1) x the median later generation (generation 0's
    time when only it ran)."""
    if not gens:
        return math.nan
    later = [g["seconds"] for g in gens[1:]]
    per = statistics.median(later) if later else gens[0]["seconds"]
    return startup + gens[0]["seconds"] + (GENERATIONS_FULL - 1) * per


def section_search_throughput(args: Any, prof: dict[str, Any], deadline: float) -> dict[str, Any]:
    from lightning_nas.config import parse_config
    from lightning_nas.pipeline import ScorerMemo
    from lightning_nas.search.engine import Search

    scorers = ScorerMemo()  # one image load / reference / probe batch for the runs (they differ in candidates_per_gpu only)
    budget = flops_budget(args, prof)
    generations = args.generations or prof["generations"]
    runs_root = Path(tempfile.mkdtemp(prefix="lnas-device-check-runs-"))
    settings = list(args.cpg or prof["cpg"])
    rows: list[dict[str, Any]] = []
    gen0: dict[int, dict[str, float | None]] = {}
    print(
        f"FLOPs budget {budget:.2f} MFLOPs (median of 300 sampled archs); {generations} generation(s) per setting",
        flush=True,
    )
    for k, cpg in enumerate(settings):
        extra = [
            "--cost.metric", "flops", "--cost.budget", repr(budget), "--search.generations", str(generations),
            "--proxy.accelerator", prof["accelerator"], "--search.backend", "local", "--search.workers", prof["workers"],
            "--proxy.candidates_per_gpu", str(cpg), "--runs_root", str(runs_root), "--tb_logs", str(runs_root / "tb"),
            "--name", f"cpg{cpg}",
        ]  # fmt: skip
        cfg, _ = parse_config(overrides(args, prof, extra))
        timer = GenerationTimer(cuda=prof["accelerator"] == "gpu")
        share = (deadline - time.monotonic()) / (len(settings) - k)
        start = time.perf_counter()
        with Cap(share) as cap:
            Search(cfg, callbacks=[timer], scorer=scorers).run()
        wall = time.perf_counter() - start
        gens = timer.generations
        new = sum(g["new"] for g in gens)
        later = gens[1:] if len(gens) > 1 else gens
        rate = sum(g["new"] for g in later) / sum(g["seconds"] for g in later) if later else math.nan
        per_gen = statistics.median(g["seconds"] for g in later) if later else math.nan
        proj = projection(timer.startup_s, gens)
        row = {
            "candidates_per_gpu": cpg, "workers": timer.workers, "generations_done": len(gens), "cut_at_cap": cap.fired,
            "startup_s": timer.startup_s, "gen0_s": gens[0]["seconds"] if gens else math.nan, "trained": new,
            "seconds_per_generation": per_gen, "cand_per_s": rate, "wall_s": wall,
            "projected_100_gen_s": proj, "generations": gens,
        }  # fmt: skip
        rows.append(row)
        if timer.search is not None and gens:  # the initial population's scores (the same archs in every run)
            first = timer.search.population(0)
            gen0[cpg] = {r["key"]: r["rmi"] for r in first}
        if not gens:
            print(
                f"candidates_per_gpu={cpg}: no generation finished within its {share:.0f} s share (CUT at the time cap)",
                flush=True,
            )
            continue
        print(
            f"candidates_per_gpu={cpg} workers={timer.workers}: start-up {timer.startup_s:.1f} s, "
            f"{len(gens)} generation(s) in {wall:.1f} s{' (CUT at the time cap)' if cap.fired else ''}, "
            f"{new} trained, {per_gen:.1f} s/generation{' (generation 0)' if len(gens) == 1 else ' (generations 1+)'}, "
            f"{rate:.3f} cand/s",
            flush=True,
        )
        print(
            f"  projected {GENERATIONS_FULL}-generation search: {proj / 60:.1f} min -- an EXTRAPOLATION, not a measurement: "
            f"start-up + generation 0 + {GENERATIONS_FULL - 1} x the measured s/generation; later generations of a real "
            "search train fewer new candidates (repeats come from the run's cache), so it is likely an overestimate",
            flush=True,
        )
    shutil.rmtree(runs_root, ignore_errors=True)
    common = set.intersection(*(set(v) for v in gen0.values())) if len(gen0) > 1 else set()
    diffs = [
        max(vals) - min(vals)
        for key in common
        if None not in (vals := [gen0[c][key] for c in gen0])  # type: ignore[misc]
    ]
    repeat = max(diffs) if diffs else None
    done = [r for r in rows if not math.isnan(r["cand_per_s"])]
    best = max(done, key=lambda r: r["cand_per_s"]) if done else None
    print(f"generation-0 RMI across candidates_per_gpu settings: {len(diffs)} archs, max |diff| {repeat}")
    print(
        f"search_throughput: best candidates_per_gpu={best['candidates_per_gpu'] if best else None} "
        f"{best['cand_per_s'] if best else math.nan:.3f} cand/s; projected {GENERATIONS_FULL}-generation search "
        f"{(best['projected_100_gen_s'] if best else math.nan) / 60:.1f} min (extrapolated)"
    )
    return {"flops_budget": budget, "generations": generations, "settings": rows, "gen0_repeat_archs": len(diffs),
            "gen0_repeat_max_abs_diff": repeat, "config": {"extra": list(prof["extra"]), "accelerator": prof["accelerator"]}}  # fmt: skip


# ---- section 2: GPU vs CPU scores ----------------------------------------------------------------
def score_all(
    cfg: Any, evaluator: Any, genotypes: list[Any], cuda: bool, seconds: float
) -> tuple[list[float | None], dict[str, Any]]:
    """Score with the config's backend, stopping at `seconds`; (RMI per position, None if not finished)."""
    from lightning_nas.backends import build_backend

    values: list[float | None] = [None] * len(genotypes)
    info: dict[str, Any] = {}
    start = time.perf_counter()
    with Cap(seconds) as cap:
        backend = build_backend(cfg)
        try:
            backend.start(evaluator)
            info["startup_s"] = bring_up_timed(backend, cuda)
            info["workers"] = getattr(backend, "workers", 1)
            t = time.perf_counter()
            for i, outcome in backend.map(genotypes):
                values[i] = getattr(outcome, "rmi", None)
            info["map_s"] = time.perf_counter() - t
        finally:
            backend.close()
    info.update(
        {
            "cut_at_cap": cap.fired,
            "wall_s": time.perf_counter() - start,
            "scored": sum(v is not None for v in values),
        }
    )
    return values, info


def section_gpu_cpu_rmi(args: Any, prof: dict[str, Any], deadline: float) -> dict[str, Any]:
    from dataclasses import replace

    import numpy as np

    from lightning_nas.analysis.ranking import rank_agreement
    from lightning_nas.config import parse_config
    from lightning_nas.pipeline import build_problem, build_scorer
    from lightning_nas.rmi.evaluator import RMIEvaluator
    from lightning_nas.rmi.precompute import sample_genotypes

    n = args.archs or prof["archs"]
    common = ["--search.backend", "local", "--cost.metric", "flops", "--cost.budget", "1000"]
    gpu_cfg, _ = parse_config(overrides(args, prof, [*common, "--proxy.accelerator", prof["accelerator"],
                                                     "--proxy.candidates_per_gpu", str(prof["gpu_cpg"]), "--search.workers", prof["workers"]]))  # fmt: skip
    cpu_cfg, _ = parse_config(overrides(args, prof, [*common, "--proxy.accelerator", "cpu", "--search.workers", "auto" if prof["accelerator"] == "gpu" else prof["workers"]]))  # fmt: skip
    problem = build_problem(gpu_cfg, check_budgets=False)
    scorer = build_scorer(problem)
    gpu_ev = scorer.evaluator
    cpu_ev = RMIEvaluator(
        gpu_ev.space,
        gpu_ev.probe,
        gpu_ev.reference_features,
        replace(gpu_ev.cfg, accelerator="cpu"),
        gpu_ev.seed,
        threads=1,
    )
    genotypes = sample_genotypes(problem.space, n, args.sample_seed)
    # The GPU part is quick; the CPU part gets the rest of the time.
    gpu, gpu_info = score_all(
        gpu_cfg, gpu_ev, genotypes, prof["accelerator"] == "gpu", (deadline - time.monotonic()) * 0.35
    )
    print(f"GPU side ({prof['accelerator']}, candidates_per_gpu {prof['gpu_cpg']}): {gpu_info}", flush=True)
    cpu, cpu_info = score_all(cpu_cfg, cpu_ev, genotypes, False, deadline - time.monotonic())
    print(f"CPU side (1 thread per candidate): {cpu_info}", flush=True)
    rows = [
        {
            "arch_str": problem.space.key(g),
            "rmi_gpu": a,
            "rmi_cpu": b,
            "abs_diff": abs(a - b) if a is not None and b is not None else None,
        }
        for g, a, b in zip(genotypes, gpu, cpu, strict=True)
    ]
    both = [r for r in rows if r["abs_diff"] is not None]
    diffs = [r["abs_diff"] for r in both]
    tau = rank_agreement(np.array([r["rmi_gpu"] for r in both]), np.array([r["rmi_cpu"] for r in both]))[0]
    med = statistics.median(diffs) if diffs else math.nan
    top = max(diffs) if diffs else math.nan
    print(f"gpu_cpu_rmi: n={len(both)} of {n} |dRMI| median={med:.6f} max={top:.6f} kendall_tau={tau:.4f}")
    return {"archs": n, "scored_both": len(both), "abs_diff_median": med, "abs_diff_max": top, "kendall_tau": tau,
            "gpu": gpu_info, "cpu": cpu_info, "rows": rows, "config": {"extra": list(prof["extra"]), "accelerator": prof["accelerator"]}}  # fmt: skip


# ---- section 3: Lightning Trainer overhead on the GPU --------------------------------------------
RMI_TOL = 1e-4


def overhead_setting(rows: list[dict[str, Any]], summary: dict[str, Any], batch: int) -> dict[str, Any]:
    """One batch size's result from bench_overhead.compare's rows and summary: the summary's medians and
    ratios, and whether the two RMIs agree to RMI_TOL in every repeat (None: no repeat done)."""
    diffs = [abs(r["rmi_lightning"] - r["rmi_plain"]) for r in rows]
    top = max(diffs) if diffs else None
    return {**summary, "batch": batch, "rmi_max_abs_diff": top, "rmi_agree": top <= RMI_TOL if diffs else None,
            "rmi_lightning": sorted({r["rmi_lightning"] for r in rows}), "rmi_plain": sorted({r["rmi_plain"] for r in rows}),
            "rows": rows}  # fmt: skip


def overhead_line(s: dict[str, Any], where: str) -> str:
    """The printed line of one batch size (what the tests match)."""
    head = f"trainer_overhead: C{s['C']} N{s['N']} batch {s['batch']}, {s['steps']} steps on {where}"
    if not s["repeats"]:
        return f"{head}: SKIPPED ({s.get('skipped', 'no repeat fitted before the time cap')})"
    agree = "agrees" if s["rmi_agree"] else "DIFFERS"
    return (
        f"{head}, {s['repeats']} repeat(s): lightning {s['lightning_median_s']:.3f} s, plain {s['plain_median_s']:.3f} s, "
        f"ratio {s['ratio_median']:.3f} (min {s['ratio_min']:.3f}, max {s['ratio_max']:.3f}); "
        f"RMI {agree} (max |diff| {s['rmi_max_abs_diff']:.1e}, tolerance {RMI_TOL:.0e})"
    )


def section_trainer_overhead(args: Any, prof: dict[str, Any], deadline: float) -> dict[str, Any]:
    import _overhead as bench_overhead  # the measured comparison bench_overhead.py prints

    o = prof["overhead"]
    gpu = prof["accelerator"] == "gpu"
    where = "cuda:0" if gpu else "cpu"
    batches = list(args.batches or o["batches"])
    repeats = args.repeats or o["repeats"]
    settings: list[dict[str, Any]] = []
    estimate = 0.0  # seconds a batch size takes (warm-up + one repeat), from the one before
    for batch in batches:
        left = deadline - time.monotonic()
        if left <= 0 or estimate > left:
            why = (
                "the batch before ran no repeat" if math.isinf(estimate) else f"about {estimate:.0f} s needed"
            )
            s = {"C": o["C"], "N": o["N"], "steps": o["steps"], "batch": batch, "repeats": 0,
                 "skipped": f"{why}, {max(left, 0):.0f} s of the cap left"}  # fmt: skip
            settings.append(s)
            print(overhead_line(s, where), flush=True)
            continue
        start = time.monotonic()
        rows: list[dict[str, Any]] = []
        summary: dict[str, Any] | None = None
        # compare() starts no repeat that the one before says would pass `deadline`; the Cap is the backstop
        with Cap(left + 5) as cap:
            try:
                rows, summary = bench_overhead.compare(
                    o["C"], o["N"], o["steps"], repeats, accelerator=prof["accelerator"], device=0, batch=batch,
                    reference=args.shared / REFERENCE, deadline=deadline,
                )  # fmt: skip
            except SystemExit:  # Lightning turns an interrupt inside fit() into SystemExit(1)
                if not cap.fired:
                    raise
        wall = time.monotonic() - start
        if summary is None:  # cut by the cap inside a repeat: its rows are lost
            summary = {"C": o["C"], "N": o["N"], "steps": o["steps"], "repeats": 0, "skipped": "CUT at the time cap"}  # fmt: skip
        s = overhead_setting(rows, summary, batch)
        s.update({"wall_s": wall, "cut_at_cap": cap.fired, "repeats_asked": repeats})
        settings.append(s)
        print(overhead_line(s, where), flush=True)
        # the next batch size needs at least a warm-up and one repeat: about twice this one's mean per run
        # (on a GPU a small network's step grows far less than its batch; compare() and the Cap guard the rest)
        estimate = 2 * wall / (s["repeats"] + 1) if s["repeats"] else math.inf
    return {"device": where, "arch": bench_overhead.ARCH, "settings": settings, "rmi_tolerance": RMI_TOL,
            "inputs": "seeded random CIFAR-10-shaped 3x32x32 batch (bench_overhead.setup); reference ResNet-20 pre-trained",
            "config": {**o, "batches": batches, "repeats": repeats, "accelerator": prof["accelerator"]}}  # fmt: skip


# ---- driver --------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--section", choices=SECTIONS, required=True)
    p.add_argument("--dry-run", action="store_true", help="CPU, toy size (seconds)")
    p.add_argument("--cap_s", type=float, default=300.0, help="stop this section after this many seconds")
    p.add_argument(
        "--out", default=None, help="results folder (default: $OUT, else benchmarks/results/device_check)"
    )
    p.add_argument("--shared", default=None, help="benchmark data folder (default: see find_shared)")
    p.add_argument("--generations", type=int, default=None, help="generations per search_throughput run")
    p.add_argument("--cpg", type=int, nargs="+", default=None, help="candidates_per_gpu settings (8 4 1)")
    p.add_argument("--archs", type=int, default=None, help="archs in gpu_cpu_rmi (24)")
    p.add_argument(
        "--batches", type=int, nargs="+", default=None, help="probe batches in trainer_overhead (32 256)"
    )
    p.add_argument("--repeats", type=int, default=None, help="repeats per batch in trainer_overhead (3)")
    p.add_argument("--sample_seed", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    start = time.monotonic()
    deadline = start + args.cap_s
    out = Path(args.out or os.environ.get("OUT") or RESULTS / "device_check")
    out.mkdir(parents=True, exist_ok=True)
    prof = PROFILES["dry" if args.dry_run else "paper"]

    import torch

    torch.set_num_threads(1)
    if prof["accelerator"] == "gpu" and not torch.cuda.is_available():
        raise SystemExit("error: no CUDA GPU visible (use --dry-run for the CPU toy run)")
    images = args.section in NEEDS_IMAGES
    args.shared = find_shared(args.shared, images)
    args.data_root = cifar_root(args.shared, args.dry_run) if images else None
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    print(f"section {args.section}{' (dry run: CPU, toy size)' if args.dry_run else ''}: torch {torch.__version__}, "
          f"GPU {gpu}, {os.cpu_count()} CPUs, data {args.data_root}, cap {args.cap_s:.0f} s", flush=True)  # fmt: skip
    result = globals()[f"section_{args.section}"](args, prof, deadline)
    result.update({"section": args.section, "dry_run": args.dry_run, "wall_s": time.monotonic() - start, "gpu": gpu,
                   "torch": torch.__version__, "cpus": os.cpu_count()})  # fmt: skip
    (out / f"{args.section}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    from lightning_nas.run_dir import versions

    cfg_path = out / "config.json"
    config = json.loads(cfg_path.read_text()) if cfg_path.exists() else {}
    config[args.section] = {"argv": argv, "profile": "dry" if args.dry_run else "paper", **{k: v for k, v in prof.items() if k != "extra"},
                            "extra": list(prof["extra"]), "seed": args.seed, "sample_seed": args.sample_seed}  # fmt: skip
    cfg_path.write_text(json.dumps(config, indent=2, default=str) + "\n")
    (out / "versions.json").write_text(json.dumps(versions(), indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
