"""The worker side of the local and ray backends. A worker holds one evaluator (space, probe batch,
reference features, proxy settings, thread count), received once, and scores the genotypes it is sent.
Local workers ignore Ctrl-C (the search process stops them) and exit when the search process dies."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import TYPE_CHECKING, Any

from lightning_nas.backends.base import score_checked

if TYPE_CHECKING:
    from lightning_nas.rmi.evaluator import ProxyResult, RMIEvaluator
    from lightning_nas.spaces.base import Genotype

_EVALUATORS: dict[str, RMIEvaluator] = {}  # one per search this process serves (ray: keyed by payload)
PARENT_POLL_SECONDS = 0.5


class VersionMismatch(RuntimeError):
    """A Ray node runs another lightning_nas or torch than the search process."""


def code_versions() -> dict[str, str]:
    import torch

    import lightning_nas

    return {"lightning_nas": lightning_nas.__version__, "torch": torch.__version__}


# ---- local backend (a process-pool worker) ----------------------------------------------------------
def init_local_worker(evaluator: RMIEvaluator, parent_pid: int, slot: Any, gpus: int) -> None:
    """ProcessPoolExecutor initializer: keep the evaluator, take a GPU round-robin (`slot` is a shared
    counter), ignore Ctrl-C, and watch the parent."""
    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent(parent_pid)
    if gpus:
        evaluator.device_index = take_gpu(slot, gpus)
    torch.set_num_threads(evaluator.threads)
    _EVALUATORS["local"] = evaluator


def take_gpu(slot: Any, gpus: int) -> int:
    """The GPU of the next worker to start: round-robin over `gpus` by a counter shared by the pool."""
    with slot.get_lock():
        index, slot.value = slot.value, slot.value + 1
    return index % gpus


def score_local(genotype: Genotype) -> ProxyResult:
    return score_checked(_EVALUATORS["local"], genotype)


def _exit_with_parent(parent_pid: int) -> None:
    """A daemon thread that ends this process when its parent is gone (kill -9 of the search leaves no
    orphan training on)."""

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_SECONDS)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


# ---- ray backend (a Ray task) -----------------------------------------------------------------------
def score_ray(payload: list[Any], genotype: Genotype) -> ProxyResult:
    """A Ray task. `payload` is `[ObjectRef]` of {"evaluator", "versions"}: nested, so Ray does not
    resolve it for every task; this worker process fetches and checks it once."""
    import ray

    (ref,) = payload
    key = ref.hex()
    if key not in _EVALUATORS:
        data = ray.get(ref)
        mine = code_versions()
        if data["versions"] != mine:
            node = ray.util.get_node_ip_address()
            raise VersionMismatch(
                f"Ray node {node} runs {_describe(mine)} but the search runs {_describe(data['versions'])}; "
                "install the same versions on every node"
            )
        _EVALUATORS[key] = data["evaluator"]
    return score_checked(_EVALUATORS[key], genotype)


def _describe(v: dict[str, str]) -> str:
    return ", ".join(f"{k} {val}" for k, val in v.items())
