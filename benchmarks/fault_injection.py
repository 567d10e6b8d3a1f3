"""Fault injection: kill a real small search at seeded random moments, resume it, and check that every
run finished this way gives the same results as the uninterrupted one.

The search: digits (ships with scikit-learn), NB201 at C4/N1, population 6 x 4 generations, 20 proxy
steps, the serial backend at one torch thread, a 1-epoch reference (cached after the first run), the
persistent cache off (so every episode trains its candidates). The uninterrupted run goes first, as a
subprocess, after a warm-up run that trains and caches the reference; its wall time T (process start-up
included) sets the range of kill moments.

Then, until `--kills` kills are done: start `python -m lightning_nas.search` (the first time with the
run's arguments, later with `--resume RUN`, or again with the arguments if the run directory was never
written), wait for the kill moment and send SIGKILL or SIGINT (drawn 50/50, seeded). Each episode's
first kill comes in generation 0 (after its first score, before its checkpoint, up to half a second
later: while the next candidate trains); the others take turns: at a random time (uniform in [1 s, T];
before 1 s Python itself is still starting and a Ctrl-C there is a traceback in any Python program),
just after a score was appended to evaluations.jsonl, and just after checkpoint.json was replaced (both
with up to 50 ms more: the search is writing its next records). A process that finishes before its moment ends the episode: its results are compared with the
uninterrupted run ("the same results", lightning_nas.search.compare) and the next episode starts in a
new run directory. After the last kill the run is resumed to the end and compared too.

Checked per process: SIGKILL ends it with -9; SIGINT with 130, 0 (it had just finished) or -2, and a
stderr without a Python traceback; no other exit code. -2 is the process ended by the signal itself,
which a shell also shows as 130: Python does that when the Ctrl-C lands in its own shutdown (the default
SIGINT action is back by then), and it was seen once after the CLI had handled the Ctrl-C and printed
its message (CPython can re-raise a Ctrl-C at exit that native code caught first). The phase of each kill (run directory not yet
written, generation 0 before the first checkpoint, or generation g) is read from the run directory at
the kill.

    python benchmarks/fault_injection.py                 # 20 kills, seed 0
    python benchmarks/fault_injection.py --kills 2 --out /tmp/f   # a smoke run

Results go to benchmarks/results/fault_injection/: kills.csv (one row per process), summary.json,
command.txt, config.json, versions.json. The last line is
`kills=<n> sigkill=<a> sigint=<b> resumes=<r> finished=<f> mismatches=<m> bad_exits=<e> tracebacks=<t>`."""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import out_dir, write_csv, write_provenance

REPO = Path(__file__).resolve().parents[1]
SEARCH = [
    "--data.name", "digits", "--data.resolution", "16",
    "--reference.train_epochs", "1",
    "--probe.pool", "64", "--probe.batch_size", "16",
    "--space.C", "4", "--space.N", "1",
    "--proxy.steps", "20",
    "--cost.metric", "flops", "--cost.budget", "12",
    "--search.population", "6", "--search.generations", "4",
    "--search.backend", "serial", "--threads", "1",
    "--cache.enabled", "false",  # every run trains its candidates (no scores shared between runs)
]  # fmt: skip
EARLIEST = 1.0  # seconds after start: the earliest kill moment


def search_args(work: Path) -> list[str]:
    return [
        *SEARCH,
        "--reference.cache_dir", str(work / "cache"),
        "--runs_root", str(work / "runs"),
        "--tb_logs", str(work / "tb_logs"),
    ]  # fmt: skip


def start(argv: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "lightning_nas.search", *argv],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


OTHER_MOMENTS = ("at a random time", "just after a score", "just after a checkpoint")
MOMENTS = ("in generation 0", *OTHER_MOMENTS)


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _mtime(path: Path) -> float:
    return path.stat().st_mtime_ns if path.exists() else 0.0


def wait_for(kind: str, proc: subprocess.Popen, run: Path, rng: random.Random, wall: float) -> bool:
    """Wait for the kill moment of `kind`; False when the process ended first.

    at a random time: uniform in [EARLIEST, wall] seconds after the start; in generation 0: the first
    score written and no checkpoint yet, then up to half a second more (a candidate training);
    just after a score / a checkpoint: evaluations.jsonl grows / checkpoint.json is replaced, then up to
    50 ms more (the search writing its next record)."""
    if kind == "at a random time":
        try:
            proc.wait(timeout=rng.uniform(EARLIEST, wall))
            return False
        except subprocess.TimeoutExpired:
            return True
    scores, checkpoint = run / "evaluations.jsonl", run / "checkpoint.json"
    lines, mtime = _lines(scores), _mtime(checkpoint)
    fired = {
        "in generation 0": lambda: _lines(scores) > 0 and not checkpoint.exists(),
        "just after a score": lambda: _lines(scores) > lines,
        "just after a checkpoint": lambda: _mtime(checkpoint) != mtime,
    }[kind]
    extra = 0.5 if kind == "in generation 0" else 0.05
    deadline = time.perf_counter() + 3 * wall
    while proc.poll() is None and time.perf_counter() < deadline:
        if fired():
            time.sleep(rng.uniform(0.0, extra))
            return proc.poll() is None
        time.sleep(0.005)
    return False


def phase(run: Path) -> str:
    """Where a run is: its directory not yet written, `generation 0` (no checkpoint yet), or
    `generation g` (g generations checkpointed: generation g is being evaluated, or g is the last)."""
    if not (run / "config.yaml").exists():
        return "before the run directory"
    try:
        generation = json.loads((run / "checkpoint.json").read_text())["generation"]
    except (OSError, ValueError, KeyError):
        return "generation 0"
    return f"generation {generation}"


def differences(run: Path, reference: Path) -> list[str]:
    from lightning_nas.search.compare import result_differences, row_differences

    def load(d: Path, name: str) -> Any:
        return json.loads((d / name).read_text())

    return result_differences(load(run, "results.json"), load(reference, "results.json")) + row_differences(
        load(run, "checkpoint.json")["rows"], load(reference, "checkpoint.json")["rows"]
    )


def inject(work: Path, kills: int, seed: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run the loop in `work`; the summary and one row per process started."""
    rng = random.Random(seed)
    args = search_args(work)
    reference = work / "uninterrupted"
    for name in ("warm-up", "uninterrupted"):  # the warm-up caches the reference model
        began = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "lightning_nas.search", *args, "--run_dir", str(work / name)],
            cwd=REPO, capture_output=True, text=True,
        )  # fmt: skip
        wall = time.perf_counter() - began
        if done.returncode != 0:
            raise RuntimeError(f"the {name} run failed: {done.stderr[-2000:]}")
    rows: list[dict[str, Any]] = []
    mismatches: list[str] = []
    episode, killed, finished, turn = 1, 0, 0, 0
    first_kills: set[int] = set()

    def finish(run: Path) -> None:
        nonlocal finished
        finished += 1
        mismatches.extend(f"{run.name}: {d}" for d in differences(run, reference))

    while True:
        run = work / "runs" / f"episode-{episode}"
        resuming = (run / "config.yaml").exists()
        argv = ["--resume", str(run)] if resuming else [*args, "--run_dir", str(run)]
        proc = start(argv)
        row: dict[str, Any] = {"episode": episode, "resume": resuming, "moment": "", "signal": "", "at_s": "", "phase": ""}
        if killed < kills:
            if episode not in first_kills and not (run / "checkpoint.json").exists():
                kind = "in generation 0"  # each episode's first kill, while generation 0 runs
            else:
                kind = OTHER_MOMENTS[turn % len(OTHER_MOMENTS)]
                turn += 1
            first_kills.add(episode)
            sig = rng.choice([signal.SIGKILL, signal.SIGINT])
            began = time.perf_counter()
            if wait_for(kind, proc, run, rng, wall):
                row.update(moment=kind, signal=sig.name, at_s=round(time.perf_counter() - began, 2), phase=phase(run))
                proc.send_signal(sig)
                killed += 1
        _, err = proc.communicate()
        row["exit"] = proc.returncode
        row["traceback"] = "Traceback" in err
        row["expected_exit"] = proc.returncode in {
            "SIGKILL": (-signal.SIGKILL,), "SIGINT": (130, 0, -signal.SIGINT), "": (0,)
        }[row["signal"]]  # fmt: skip
        if not row["expected_exit"] or row["traceback"]:
            row["stderr_tail"] = err[-2000:]
        rows.append(row)
        if proc.returncode == 0:
            finish(run)
            if killed >= kills:
                break
            episode += 1
        elif not row["expected_exit"]:
            break  # a crash: resuming it would only repeat the crash
    summary = {
        "kills": killed,
        "sigkill": sum(r["signal"] == "SIGKILL" for r in rows),
        "sigint": sum(r["signal"] == "SIGINT" for r in rows),
        "resumes": sum(r["resume"] for r in rows),
        "processes": len(rows),
        "finished": finished,
        "mismatches": len(mismatches),
        "mismatch_details": mismatches[:20],
        "bad_exits": sum(not r["expected_exit"] for r in rows),
        "tracebacks": sum(r["traceback"] for r in rows),
        "phases": {p: sum(r["phase"] == p for r in rows) for p in sorted({r["phase"] for r in rows if r["phase"]})},
        "moments": {m: sum(r["moment"] == m for r in rows) for m in MOMENTS},
        "uninterrupted_seconds": round(wall, 2),
        "seed": seed,
    }
    return summary, rows


def last_line(s: dict[str, Any]) -> str:
    keys = ("kills", "sigkill", "sigint", "resumes", "finished", "mismatches", "bad_exits", "tracebacks")
    return " ".join(f"{k}={s[k]}" for k in keys)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="results folder (default benchmarks/results/fault_injection)")
    parser.add_argument("--work", default=None, help="where the runs go (default: a temporary folder)")
    a = parser.parse_args(argv)
    out = out_dir("fault_injection", "small", a.out)
    with tempfile.TemporaryDirectory() as tmp:
        summary, rows = inject(Path(a.work or tmp), a.kills, a.seed)
    write_csv(out / "kills.csv", rows)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    write_provenance(out, argv, {"search": SEARCH, "kills": a.kills, "seed": a.seed, "earliest_s": EARLIEST})
    print(json.dumps(summary["phases"]))
    print(last_line(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
