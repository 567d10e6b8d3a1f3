"""Time a space's operators and write a latency look-up table. One file, standard library plus torch or
onnxruntime only, so it also runs on a target that cannot install lightning_nas (a board, a phone):

    # on a machine with lightning_nas: the operators, as TorchScript and ONNX files with a manifest
    python -m lightning_nas.latency export-ops --space nb201 --batch 1 --out nb201_ops
    # copy nb201_ops/ and this file to the target, then on the target
    python time_ops.py nb201_ops --out LUT.yaml --backend torch --threads 4        # needs torch
    python time_ops.py nb201_ops --out LUT.yaml --backend onnxruntime               # needs onnxruntime
    # back home: search against it
    python -m lightning_nas.search --cost.metric local_latency --cost.table LUT.yaml ...

`python -m lightning_nas.latency build` measures the same operators in process with the same code.

The table is a mapping `{key: {mean, std, median, runs}}` (milliseconds) plus a `_meta` entry (what was
measured: space, shapes, batch, threads, backend, device, the machine). It is written as JSON, which is
also YAML, so PyYAML, OFA's LatencyTable and `json` read the same file; it is rewritten atomically after
every operator, and a run started again with the same settings skips the operators already measured.

Timing: warm-up, then at least `min_runs` runs (50) and until the spread (interquartile range / median)
is below `threshold` or `max_seconds` per operator pass. With torch: `torch.utils.benchmark.Timer`'s
`adaptive_autorange` (CUDA synchronised by it); with onnxruntime: the same stopping rule on a
`time.perf_counter` loop. A table's `median` is the median of the timed blocks; `mean` and `std` are
OFA's fields."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

FORMAT = "lightning_nas.latency/1"
META = "_meta"
MANIFEST = "manifest.json"
# The settings a resumed table must share with the file it continues (the rest describe the machine).
SAME_TABLE = ("format", "space", "resolution", "batch", "threads", "backend", "device", "shape")


class TableError(Exception):
    """A bad argument, file or setting: printed as one line, exit code 2."""


# ---- the machine ------------------------------------------------------------------------------------
def cpu_model() -> str:
    """The CPU's model name as the OS reports it (this file runs standalone on a target, so it is defined
    here; `lightning_nas.machine` uses it too)."""
    info = Path("/proc/cpuinfo")
    if info.exists():
        for line in info.read_text(errors="replace").splitlines():
            if line.startswith(("model name", "Hardware", "Processor")):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def machine(device: str, backend: str) -> dict[str, Any]:
    """CPU model (and torch's CPU capability), core count, GPU name, OS and the framework versions."""
    out: dict[str, Any] = {"cpu": cpu_model(), "cores": os.cpu_count(), "system": platform.platform(), "python": platform.python_version()}
    try:
        import torch

        out["cpu_capability"] = str(torch.backends.cpu.get_cpu_capability())
        out["torch"] = torch.__version__
        if device.startswith("cuda") and torch.cuda.is_available():
            out["gpu"] = torch.cuda.get_device_name(torch.device(device))
    except ImportError:
        pass
    if backend == "onnxruntime":
        import onnxruntime

        out["onnxruntime"] = onnxruntime.__version__
    return out


# ---- timing -----------------------------------------------------------------------------------------
def _stats(block_ms: Sequence[float], runs: int) -> dict[str, Any]:
    return {
        "mean": statistics.fmean(block_ms),
        "std": statistics.stdev(block_ms) if len(block_ms) > 1 else 0.0,
        "median": statistics.median(block_ms),
        "runs": runs,
    }


def _spread(values: Sequence[float]) -> float:
    q = statistics.quantiles(values, n=4)
    return (q[2] - q[0]) / statistics.median(values)


def time_callable(
    fn: Callable[[], Any], min_runs: int = 50, threshold: float = 0.1, max_seconds: float = 10.0, warmup: int = 3
) -> dict[str, Any]:
    """A `perf_counter` loop (for onnxruntime, or anything without torch): `warmup` calls, then blocks of
    runs until at least `min_runs` runs and 4 blocks, and the blocks' spread is below `threshold` (or
    `max_seconds` passed). Milliseconds per run."""
    for _ in range(warmup):
        fn()
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    per_block = max(1, int(0.01 / once))  # blocks of about 10 ms
    blocks: list[float] = []
    began = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        for _ in range(per_block):
            fn()
        blocks.append((time.perf_counter() - t0) * 1000.0 / per_block)
        enough = len(blocks) >= 4 and len(blocks) * per_block >= min_runs
        if enough and (_spread(blocks) < threshold or time.perf_counter() - began > max_seconds):
            return _stats(blocks, len(blocks) * per_block)


def time_torch(
    module: Any, x: Any, threads: int, min_runs: int = 50, threshold: float = 0.1, max_seconds: float = 10.0, warmup: int = 3
) -> dict[str, Any]:
    """`module(x)` in inference mode with torch.utils.benchmark's adaptive_autorange (at least `min_runs`
    runs: its minimum run time is set from a warm-up estimate). Milliseconds per run."""
    import torch
    from torch.utils import benchmark

    with torch.inference_mode():
        for _ in range(warmup):
            module(x)
        if x.is_cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        module(x)
        if x.is_cuda:
            torch.cuda.synchronize()
        once = time.perf_counter() - start
        timer = benchmark.Timer(stmt="m(x)", globals={"m": module, "x": x}, num_threads=threads)
        measured = timer.adaptive_autorange(
            threshold=threshold, min_run_time=min(max_seconds, max(0.01, min_runs * once)), max_run_time=max_seconds
        )
    runs = len(measured.times) * measured.number_per_run
    return _stats([t * 1000.0 for t in measured.times], runs)


def onnx_session(model: str | bytes, threads: int, device: str) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    providers = ["CUDAExecutionProvider"] if device.startswith("cuda") else ["CPUExecutionProvider"]
    if not set(providers) <= set(onnxruntime.get_available_providers()):
        raise TableError(f"onnxruntime here has no {providers[0]}; available: {', '.join(onnxruntime.get_available_providers())}")
    return onnxruntime.InferenceSession(model, options, providers=providers)


def time_onnx(session: Any, shape: Sequence[int], **timing: Any) -> dict[str, Any]:
    import numpy as np

    feed = {session.get_inputs()[0].name: np.random.default_rng(0).standard_normal(shape, dtype=np.float32)}
    return time_callable(lambda: session.run(None, feed), **timing)


# ---- the table file ---------------------------------------------------------------------------------
def read_table(path: Path) -> dict[str, Any]:
    """A table written by this module (JSON, or YAML where PyYAML is installed)."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise TableError(f"cannot read latency table {path}: {err}") from None
    try:
        data = json.loads(text)
    except ValueError:
        try:
            import yaml
        except ImportError:
            raise TableError(f"latency table {path} is not JSON (and PyYAML is not installed to read YAML)") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            raise TableError(f"latency table {path} is neither JSON nor YAML") from None
    if not isinstance(data, dict):
        raise TableError(f"latency table {path} must be a mapping of operator keys, got {type(data).__name__}")
    return data


def write_table(path: Path, meta: dict[str, Any], entries: dict[str, Any]) -> None:
    """Atomically: `_meta` first, then the entries in the order measured (folders made as needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({META: meta, **entries}, indent=1) + "\n")
    tmp.replace(path)


def resume_entries(path: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """The entries an unfinished table at `path` already has, when it was measured with the same
    settings (`meta` takes over its build seconds so far); a TableError naming the differing setting
    otherwise."""
    meta.setdefault("build_seconds", 0.0)
    if not path.exists():
        return {}
    old = read_table(path)
    old_meta = old.get(META) if isinstance(old.get(META), dict) else {}
    for key in SAME_TABLE:
        if old_meta.get(key) != meta.get(key):
            raise TableError(
                f"{path} exists and was measured with {key} {old_meta.get(key)!r}, not {meta.get(key)!r}; "
                "give another --out or delete it"
            )
    if isinstance(old_meta.get("build_seconds"), int | float):
        meta["build_seconds"] = float(old_meta["build_seconds"])
    return {k: v for k, v in old.items() if k != META}


def _progress(done: int, total: int, began: float, key: str) -> None:
    elapsed = time.perf_counter() - began
    eta = elapsed / max(done, 1) * (total - done)
    print(f"[{done}/{total}] {elapsed:.0f}s elapsed, ETA {eta:.0f}s  {key}", file=sys.stderr, flush=True)


def measure_table(
    path: Path,
    meta: dict[str, Any],
    operators: Sequence[tuple[str, Callable[[], dict[str, Any]]]],
    progress: Callable[[int, int, float, str], None] = _progress,
) -> dict[str, Any]:
    """Time each (key, timer) not already in the table at `path` (same settings), writing the table
    after each; returns the entries. `meta` gains the build's seconds."""
    entries = resume_entries(path, meta)
    todo = [(k, t) for k, t in operators if k not in entries]
    began = time.perf_counter()
    seconds = float(meta.get("build_seconds", 0.0))
    for i, (key, timer) in enumerate(todo):
        entries[key] = timer()
        meta["build_seconds"] = seconds + time.perf_counter() - began
        write_table(path, meta, entries)
        progress(i + 1, len(todo), began, key)
    if not todo:
        write_table(path, meta, entries)
    return entries


# ---- the standalone command: time exported operators ------------------------------------------------
def read_manifest(ops_dir: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((ops_dir / MANIFEST).read_text())
    except (OSError, ValueError) as err:
        raise TableError(f"{ops_dir} has no readable {MANIFEST} ({type(err).__name__}); make it with "
                         "python -m lightning_nas.latency export-ops") from None  # fmt: skip
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or not isinstance(manifest.get("tables"), list):
        raise TableError(f"{ops_dir / MANIFEST} is not a {FORMAT} operator manifest")
    return manifest


def check_target(ops_dir: Path, manifest: dict[str, Any], backend: str, device: str) -> None:
    """The backend installed, the device visible and every operator file present, before any timing."""
    try:
        if backend == "onnxruntime":
            import onnxruntime  # noqa: F401
        else:
            import torch
    except ImportError:
        raise TableError(f"--backend {backend}: {backend} is not installed here") from None
    if backend == "torch" and device.startswith("cuda") and not torch.cuda.is_available():
        raise TableError(f"--device {device}: no CUDA device is visible here; use --device cpu")
    field = "onnx" if backend == "onnxruntime" else "torchscript"
    for table in manifest["tables"]:
        for op in table["operators"]:
            if not (ops_dir / op[field]).is_file():
                raise TableError(f"{ops_dir / op[field]} (operator {op['key']}) is missing; copy the whole export folder")


def operator_timer(ops_dir: Path, op: dict[str, Any], args: argparse.Namespace) -> Callable[[], dict[str, Any]]:
    shape = [args.batch or op["input"][0], *op["input"][1:]]
    timing = {"min_runs": args.min_runs, "threshold": args.threshold, "max_seconds": args.max_seconds}

    def run() -> dict[str, Any]:
        if args.backend == "onnxruntime":
            return time_onnx(onnx_session(str(ops_dir / op["onnx"]), args.threads, args.device), shape, **timing)
        import torch

        torch.set_num_threads(args.threads)
        module = torch.jit.load(str(ops_dir / op["torchscript"]), map_location=args.device).eval()
        return time_torch(module, torch.randn(*shape, device=args.device), args.threads, **timing)

    return run


FOLDER_SPACES = ("ofa_mbv3",)  # spaces whose tables follow OFA's layout: a folder of <resolution>_lookup_table.yaml


def table_path(out: Path, meta: dict[str, Any], several: bool) -> Path:
    """`out` for a space with one table; `out/<resolution>_lookup_table.yaml` (OFA's layout) for OFA's
    space and wherever there are several resolutions."""
    if not several and meta.get("space") not in FOLDER_SPACES:
        return out
    return out / f"{meta['resolution']}_lookup_table.yaml"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="time_ops.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("ops_dir", type=Path, help="a folder made by `python -m lightning_nas.latency export-ops`")
    p.add_argument("--out", type=Path, required=True, help="the table (a folder of <resolution>_lookup_table.yaml for OFA)")
    p.add_argument("--backend", choices=("torch", "onnxruntime"), default="torch")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:<i>")
    p.add_argument("--threads", type=int, default=1, help="intra-op threads (recorded in the table)")
    p.add_argument("--batch", type=int, default=None, help="batch size (default: the exported one)")
    p.add_argument("--min_runs", type=int, default=50)
    p.add_argument("--threshold", type=float, default=0.1, help="stop when IQR / median is below this")
    p.add_argument("--max_seconds", type=float, default=10.0, help="per operator")
    args = p.parse_args(argv)
    try:
        if args.threads < 1 or (args.batch is not None and args.batch < 1) or args.min_runs < 1:
            raise TableError(f"--threads, --batch and --min_runs must be >= 1, got {args.threads}, {args.batch}, {args.min_runs}")
        manifest = read_manifest(args.ops_dir)
        check_target(args.ops_dir, manifest, args.backend, args.device)
        timing = {"min_runs": args.min_runs, "threshold": args.threshold, "max_seconds": args.max_seconds}
        tables = manifest["tables"]
        for table in tables:
            batch = args.batch or table["meta"]["batch"]
            meta = {**table["meta"], "batch": batch, "threads": args.threads, "backend": args.backend,
                    "device": args.device, "machine": machine(args.device, args.backend), "timing": timing}  # fmt: skip
            ops = [(op["key"], operator_timer(args.ops_dir, op, args)) for op in table["operators"]]
            path = table_path(args.out, table["meta"], len(tables) > 1)
            measure_table(path, meta, ops)
            print(f"wrote {path} ({len(ops)} operators, {meta['build_seconds']:.1f}s)")
    except TableError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; run the same command again to continue", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
