"""Run directories: where a run writes its config, versions, checkpoint and results."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from lightning_nas.errors import ConfigError, one_line_reason
from lightning_nas.machine import machine

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
    out.update(machine())  # the CPU model, torch's CPU capability and the BLAS build
    out["git_commit"], out["git_dirty"] = _git_state()
    return out


def _git_state() -> tuple[str | None, bool | None]:
    """The commit of the package's checkout and whether it has uncommitted changes (None, None: not a checkout)."""
    here = str(Path(__file__).resolve().parent)
    try:
        commit = subprocess.run(["git", "-C", here, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        if commit.returncode != 0 or not commit.stdout.strip():
            return None, None
        status = subprocess.run(["git", "-C", here, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, timeout=10)
        return commit.stdout.strip(), (bool(status.stdout.strip()) if status.returncode == 0 else None)
    except (OSError, subprocess.SubprocessError):
        return None, None


def write_json(path: Path, data: Any) -> None:
    """Atomic write (a kill -9 leaves either the old or the new file, never half of one)."""
    write_text(path, json.dumps(data, indent=2, default=_default))


def write_text(path: Path, text: str) -> None:
    """Atomic write: the text goes to a temporary file that then replaces `path`."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def stage_run_dir(path: Path) -> Path:
    """Check that `path` can become a new run directory and make a hidden staging folder beside it,
    where the run's first files are written; `commit_run_dir` then moves it into place, so a run that
    fails before it starts leaves no directory behind."""
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        hint = f"continue it with --resume {path}" if (path / "config.yaml").exists() else "choose another --run_dir"
        raise ConfigError(f"run directory {path} already exists and is not empty; {hint}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    except OSError as err:
        raise ConfigError(
            f"cannot create run directory {path}: {one_line_reason(err)}; choose a writable --runs_root or --run_dir"
        ) from None


def commit_run_dir(staging: Path, path: Path) -> None:
    try:
        staging.replace(path)  # also replaces an empty directory at `path`
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise ConfigError(f"cannot create run directory {path}: {one_line_reason(err)}") from None


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
