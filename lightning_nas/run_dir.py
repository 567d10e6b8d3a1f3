"""Run directories: where a run writes its config, versions, checkpoint and results."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("lightning_nas", "torch", "torchvision", "lightning", "torchmetrics", "deap", "numpy", "jsonargparse", "ofa", "nas-bench-201")


def new_run_dir(root: str, name: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = Path(root) / f"{stamp}-{name}"
    suffix = 1
    while path.exists():
        suffix += 1
        path = Path(root) / f"{stamp}-{name}-{suffix}"
    return path


def versions() -> dict[str, Any]:
    out: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    try:
        import torch

        out["torch_threads"] = torch.get_num_threads()
        out["cuda"] = torch.cuda.is_available()
    except ImportError:  # pragma: no cover
        pass
    try:
        here = Path(__file__).resolve().parent
        commit = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        out["git_commit"] = commit.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        out["git_commit"] = None
    return out


def write_json(path: Path, data: Any) -> None:
    """Atomic write (a kill -9 leaves either the old or the new file, never half of one)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2, default=_default)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def _default(obj: Any) -> Any:
    if isinstance(obj, tuple | set):
        return list(obj)
    if hasattr(obj, "item"):
        return obj.item()
    return str(obj)


class Stopwatch:
    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset
        self.start = time.perf_counter()

    def seconds(self) -> float:
        return self.offset + time.perf_counter() - self.start
