"""What this machine offers: usable CPU cores, visible GPUs, and the worker count `auto` resolves to."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lightning_nas.config import RunConfig


def usable_cpus() -> int:
    """Cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def visible_gpus() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def uses_gpu(cfg: RunConfig) -> bool:
    """Candidates train on GPUs: accelerator gpu, or auto with one visible."""
    return cfg.proxy.accelerator == "gpu" or (cfg.proxy.accelerator == "auto" and visible_gpus() > 0)


def local_workers(cfg: RunConfig) -> int:
    """`search.workers`, with `auto` = GPUs x candidates_per_gpu when candidates train on GPUs, else
    usable cores // threads_per_worker (at least 1)."""
    if cfg.search.workers != "auto":
        return int(cfg.search.workers)
    if uses_gpu(cfg):
        return max(1, visible_gpus() * cfg.proxy.candidates_per_gpu)
    return max(1, usable_cpus() // cfg.search.threads_per_worker)
