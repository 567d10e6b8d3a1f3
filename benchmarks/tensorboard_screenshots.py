"""What TensorBoard shows of a search, checked in a real browser: runs the quick start
(`python -m lightning_nas.search`, the embedded configs/quickstart.yaml) into a temporary folder, serves
its `tb_logs` with `tensorboard` (this interpreter's), and takes headless Chromium screenshots of the
Scalars, Images, HParams and Custom Scalars dashboards. Needs no ../shared data; needs `chromium`
(Debian: `apt-get install -y chromium`; `make screenshots` installs it when missing).

    python benchmarks/tensorboard_screenshots.py    # -> benchmarks/results/tensorboard/*.png
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import REPO, out_dir, write_provenance

DASHBOARDS = {  # file stem -> URL fragment
    "scalars": "#scalars",
    "images": "#images",
    "hparams": "#hparams",
    "custom_scalars": "#custom_scalars",
}
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
README = """# tensorboard

The TensorBoard dashboards of the quick start (`python -m lightning_nas.search`, configs/quickstart.yaml:
population 10 x 10 generations), served by `tensorboard` and captured with headless Chromium ({version},
1400x1000, `--virtual-time-budget {budget_ms}`) by `python benchmarks/tensorboard_screenshots.py`. The tags
are listed in the docstring of callbacks/tensorboard.py.

- `scalars.png`: the Scalars dashboard: `candidate/*` (each candidate) and `generation/*` of the run; the
  run list also holds the {sessions} HParams sessions (`<run>/hparams/g<generation>_<digest>`).
- `images.png`: `images/rmi_vs_cost` (every candidate so far in grey, the generation's population in red,
  the best so far starred, the budget dashed) and `images/op_distribution` (operation shares of the
  population and of the best 10 so far), one per generation (the step slider above each).
- `hparams.png`: the HParams table of the hall of fame and the last population, one row per architecture:
  arch string, cost, feasible, fitness and RMI shown at first (TensorBoard sorts the columns and ticks
  five), per-layer CKA and first generation ticked on the left to show them (hparams), rank and
  population membership (metrics).
- `custom_scalars.png`: best and mean fitness, RMI of the best, and the best's FLOPs against the budget.

TensorBoard selects no run by default once a logdir holds more than 40 runs (the dashboards then show
empty charts until one ticks a run); the callback keeps the HParams sessions to the hall of fame and the
population for that reason.

![](scalars.png)
![](images.png)
![](hparams.png)
![](custom_scalars.png)
"""


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads of the search (its --threads)")
    p.add_argument("--budget_ms", type=int, default=20000, help="chromium --virtual-time-budget a page (ms)")
    p.add_argument("--tb_logs", default=None, help="screenshot these logs instead of running the quick start")
    p.add_argument("--out", default=None, help="results folder (default: benchmarks/results/tensorboard)")
    return p.parse_args(argv)


def browser() -> str:
    for name in BROWSERS:
        if path := shutil.which(name):
            return path
    raise SystemExit(
        "error: chromium not found on PATH (Debian: apt-get install -y chromium, or run make screenshots)"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_quickstart(tmp: Path, threads: int) -> Path:
    cmd = [
        sys.executable, "-m", "lightning_nas.search",
        "--threads", str(threads),
        "--run_dir", str(tmp / "runs" / "quickstart"),
        "--tb_logs", str(tmp / "tb_logs"),
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"error: the quick start failed with exit code {proc.returncode}")
    return tmp / "tb_logs"


def wait_for(url: str, ready: Callable[[Any], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if ready(json.loads(r.read())):
                    return
        except OSError:
            pass
        time.sleep(1)
    raise SystemExit(f"error: TensorBoard did not answer {url} within {timeout:.0f} s")


def screenshot(chromium: str, url: str, path: Path, budget_ms: int, profile: Path) -> None:
    cmd = [
        chromium, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
        f"--user-data-dir={profile}", f"--screenshot={path}", "--window-size=1400,1000",
        f"--virtual-time-budget={budget_ms}", url,
    ]  # fmt: skip
    path.unlink(missing_ok=True)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=budget_ms / 1000 + 120)
    if proc.returncode != 0 or not path.exists():
        why = proc.stderr.strip()[-300:]
        raise SystemExit(f"error: chromium failed on {url} (exit {proc.returncode}): {why}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    chromium = browser()  # before the search: a missing browser fails at once
    out = out_dir("tensorboard", "small", args.out)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tb-screens-") as tmp_name:
        tmp = Path(tmp_name)
        logs = Path(args.tb_logs) if args.tb_logs else run_quickstart(tmp, args.threads)
        search_s = time.perf_counter() - start
        runs = sorted({str(p.parent.relative_to(logs)) for p in logs.rglob("events.out.tfevents.*")})
        port = free_port()
        tensorboard = [
            sys.executable, "-m", "tensorboard.main", "--logdir", str(logs), "--port", str(port),
            "--host", "127.0.0.1", "--reload_interval", "2",
        ]  # fmt: skip
        server = subprocess.Popen(tensorboard, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(f"{base}/data/runs", lambda listed: set(runs) <= set(listed))
            enabled = lambda plugins: all(plugins.get(k, {}).get("enabled") for k in DASHBOARDS)  # noqa: E731
            wait_for(f"{base}/data/plugins_listing", enabled)
            for stem, fragment in DASHBOARDS.items():
                path = out / f"{stem}.png"
                screenshot(chromium, f"{base}/{fragment}", path, args.budget_ms, tmp / "chromium")
                print(f"wrote {path}")
        finally:
            server.terminate()
            server.wait(timeout=30)
    version = subprocess.run([chromium, "--version"], capture_output=True, text=True).stdout.strip()
    wall = time.perf_counter() - start
    sessions = sum(Path(r).parent.name == "hparams" for r in runs)
    config = {"threads": args.threads, "budget_ms": args.budget_ms, "chromium": version,
              "search_seconds": search_s, "wall_seconds": wall,
              "tensorboard_runs": len(runs), "hparams_sessions": sessions}  # fmt: skip
    write_provenance(out, argv, config)
    readme = README.format(version=version, budget_ms=args.budget_ms, sessions=sessions)
    (out / "README.md").write_text(readme)
    print(f"done in {wall:.0f} s: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
