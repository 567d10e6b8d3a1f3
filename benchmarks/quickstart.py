"""The quick start, timed: `python -m lightning_nas.search` with no config (the embedded
configs/quickstart.yaml on scikit-learn's digits) from cold caches (a fresh reference cache folder, the
persistent score cache off), in a child process; stores its wall time, peak memory and the run's
results.json / config.yaml / versions.json. Needs no ../shared data. Peak memory: the largest single
process (getrusage) and the peak of the whole process tree's summed RSS (the search and its evaluation
workers, sampled from /proc every 0.2 s on Linux).

    python benchmarks/quickstart.py --profile small --threads 1    # -> benchmarks/results/quickstart/
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import REPO, out_dir, write_provenance

KEEP = ("results.json", "config.yaml", "versions.json", "setup.json", "evaluations.csv")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--profile", choices=("small",), default="small", help="one size: the quick start as shipped"
    )
    p.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads of the search (--threads of the CLI)"
    )
    p.add_argument(
        "--backend", choices=("serial", "local", "ray"), default=None,
        help="override search.backend (default: the quick start's own setting)",
    )
    p.add_argument("--out", default=None, help="results folder (default: benchmarks/results/quickstart)")
    return p.parse_args(argv)


def _tree_rss_bytes(pid: int) -> int:
    """Summed RSS of `pid` and its descendants (Linux /proc; 0 elsewhere)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * resource.getpagesize()
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def _run_sampling_memory(cmd: list[str]) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run `cmd`, sampling its process tree's summed RSS; (the finished process, peak bytes)."""
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss_bytes(proc.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    sampler.join()
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err), peak[0]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    out = out_dir("quickstart", args.profile, args.out)
    with tempfile.TemporaryDirectory(prefix="quickstart-") as tmp:
        run_dir = Path(tmp) / "run"
        cmd = [
            sys.executable, "-m", "lightning_nas.search",
            "--threads", str(args.threads),
            "--run_dir", str(run_dir),
            "--tb_logs", str(Path(tmp) / "tb"),
            "--reference.cache_dir", str(Path(tmp) / "reference-cache"),  # cold: the reference is trained here
            "--cache.enabled", "false",  # cold: no persistent scores
            *(["--search.backend", args.backend] if args.backend else []),
        ]  # fmt: skip
        start = time.perf_counter()
        proc, tree_peak = _run_sampling_memory(cmd)
        wall = time.perf_counter() - start
        (out / "stdout.txt").write_text(proc.stdout)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            raise SystemExit(f"error: the quick start failed with exit code {proc.returncode}")
        for name in KEEP:
            if (run_dir / name).exists():
                shutil.copy(run_dir / name, out / name)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # Linux: KiB, the largest child
    res = json.loads((out / "results.json").read_text())
    best = res["best"]
    summary = {
        "wall_seconds": wall,
        "peak_rss_gb": peak_kib * 1024 / 1e9,
        "peak_tree_rss_gb": tree_peak / 1e9,
        "search_wall_seconds": res["wall_seconds"],
        "evaluations": res["evaluations"],
        "unique_evaluations": res["unique_evaluations"],
        "trained": res["trained"],
        "cache_hits": res.get("cache_hits"),
        "best_arch": best.get("description", best.get("key")),
        "rmi": best["rmi"],
        "cost": best["cost"],
        "budget": res["budget"],
        "unit": res.get("cost_unit"),
        "feasible": res["feasible"],
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    write_provenance(
        out,
        argv,
        {
            "profile": args.profile,
            "threads": args.threads,
            "child_command": cmd[1:],
            "config": "configs/quickstart.yaml (embedded default)",
            "wall_seconds": wall,
        },
    )
    print(
        f"quickstart_wall_s={wall:.1f} peak_rss_gb={summary['peak_rss_gb']:.2f} "
        f"peak_tree_rss_gb={summary['peak_tree_rss_gb']:.2f} rmi={summary['rmi']:.4f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
