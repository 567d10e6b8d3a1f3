"""How a generation's new candidates are evaluated (`search.backend`):

- `serial`: one after another in the search process;
- `local`: a pool of spawned worker processes on this machine (`lightning_nas.backends.local`);
- `ray`: Ray tasks on this machine or a cluster (`lightning_nas.backends.ray_backend`, optional extra).

Every backend takes the distinct genotypes that need the RMI proxy (the search process has already
priced them and looked them up in the caches) and yields `(position, outcome)` as results arrive; an
outcome is a `ProxyResult`, or a `CandidateFailure` once a failing candidate has been retried. Only the
search process writes files. The thread count per candidate is the evaluator's (`RMIEvaluator.threads`),
so the scores, and the run's results, are the same whichever backend computes them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lightning_nas.backends.base import Backend, CandidateFailure, Outcome
from lightning_nas.errors import ConfigError

if TYPE_CHECKING:
    from lightning_nas.config import RunConfig

BACKENDS = ("serial", "local", "ray")


def check_execution(cfg: RunConfig) -> None:
    """Everything about where candidates run that can be checked before any work: the backend's name and
    sizes (search.validate), the GPU count when a GPU is asked for, Ray installed for the ray backend."""
    from lightning_nas.backends.resources import visible_gpus

    cfg.search.validate()
    if cfg.proxy.candidates_per_gpu < 1:
        raise ConfigError(f"proxy.candidates_per_gpu must be >= 1, got {cfg.proxy.candidates_per_gpu}")
    if cfg.proxy.accelerator == "gpu" and visible_gpus() == 0 and not (cfg.search.backend == "ray" and cfg.ray.address):
        raise ConfigError(
            "proxy.accelerator is 'gpu' but no CUDA GPU is visible here; use --proxy.accelerator cpu (or auto)"
        )
    if cfg.search.backend == "ray":
        from lightning_nas.backends.ray_backend import require_ray

        require_ray()


def build_backend(cfg: RunConfig) -> Backend:
    """The backend `cfg.search.backend` names, connected (Ray) but not yet given an evaluator
    (`Backend.start`): a bad address fails here, before any expensive work."""
    check_execution(cfg)
    if cfg.search.backend == "local":
        from lightning_nas.backends.local import LocalBackend

        return LocalBackend(cfg)
    if cfg.search.backend == "ray":
        from lightning_nas.backends.ray_backend import RayBackend

        return RayBackend(cfg)
    from lightning_nas.backends.serial import SerialBackend

    return SerialBackend()


def threads_per_candidate(cfg: RunConfig) -> int | None:
    """torch threads while one candidate trains: `threads` (None: the process's count) in the serial
    backend, `search.threads_per_worker` in a worker."""
    return cfg.threads if cfg.search.backend == "serial" else cfg.search.threads_per_worker


__all__ = ["BACKENDS", "Backend", "CandidateFailure", "Outcome", "build_backend", "check_execution", "threads_per_candidate"]
