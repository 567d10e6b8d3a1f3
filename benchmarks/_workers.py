"""Start every worker of a started backend before a timed map (bench_scaling.py, device_check.py), so the
timing measures scoring only."""

from __future__ import annotations

import os
import time
from typing import Any


def _worker_ready(delay: float, cuda: bool = False) -> int:
    """A no-op task for a worker that is up (its initializer has run): its pid, after a short wait so
    one worker cannot take every task while another is still starting. `cuda`: also create the worker's
    CUDA context on the GPU its initializer gave it (what its first candidate would otherwise pay)."""
    if cuda:
        import torch

        from lightning_nas.backends import worker

        ev = worker._EVALUATORS.get("local")
        index = ev.device_index if ev is not None and ev.device_index is not None else 0
        torch.zeros(1, device=f"cuda:{index}")
    time.sleep(delay)
    return os.getpid()


def _ray_worker_ready(delay: float) -> int:
    """As `_worker_ready`, in a Ray worker, importing what a scoring task imports (a local worker's
    initializer does the same when it unpickles the evaluator)."""
    import lightning.pytorch  # noqa: F401

    import lightning_nas.backends.worker  # noqa: F401
    import lightning_nas.rmi.evaluator  # noqa: F401

    time.sleep(delay)
    return os.getpid()


def bring_up(backend: Any, workers: int, cuda: bool = False) -> None:
    """Start every worker of a started backend, so that a timed map measures scoring only (the local
    backend's `pool()` is the pool its `map` then uses)."""
    if backend.name == "local":
        pool = backend.pool()
        seen: set[int] = set()
        while len(seen) < backend.workers:
            seen |= {
                f.result() for f in [pool.submit(_worker_ready, 0.2, cuda) for _ in range(backend.workers)]
            }
    elif backend.name == "ray":
        import ray

        task = ray.remote(_ray_worker_ready).options(num_cpus=backend.num_cpus)
        seen = set()
        while len(seen) < workers:
            seen |= set(ray.get([task.remote(0.2) for _ in range(workers)]))
