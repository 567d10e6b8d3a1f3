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

from lightning_nas.backends.base import (
    Backend,
    BackendEntry,
    BackendPlugin,
    CandidateFailure,
    LazyBackend,
)
from lightning_nas.registry import Registry

if TYPE_CHECKING:
    from lightning_nas.config import RunConfig

BACKENDS: Registry[BackendEntry] = Registry(
    "search.backend", providers=("lightning_nas.backends.serial", "lightning_nas.backends.local")
)
BACKENDS.register("ray")(LazyBackend("lightning_nas.backends.ray_backend", "RayBackend"))  # an optional extra


def build_backend(cfg: RunConfig) -> Backend:
    """The backend `cfg.search.backend` names, connected (Ray) but not yet given an evaluator
    (`Backend.start`): a bad address fails here, before any expensive work. `cfg` has been checked
    (`lightning_nas.settings.check_config`)."""
    return BACKENDS.get(cfg.search.backend).build(cfg)


def threads_per_candidate(cfg: RunConfig) -> int | None:
    """torch threads while one candidate trains: `threads` (None: the process's count) in the serial
    backend, `search.threads_per_worker` in a worker."""
    return BACKENDS.get(cfg.search.backend).threads(cfg)


__all__ = [
    "BACKENDS", "Backend", "BackendPlugin", "CandidateFailure", "LazyBackend", "build_backend",
    "threads_per_candidate",
]  # fmt: skip
