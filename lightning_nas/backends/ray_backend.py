"""The ray backend: each candidate is a Ray task (`num_cpus` / fractional `num_gpus` per candidate, so
several candidates share a GPU). With `ray.address` empty a local Ray is started (dashboard off, or
bound to 127.0.0.1) and stopped at the end; with `auto` or host:port the search joins that cluster and
ships this package to its nodes through runtime_env. The evaluator goes into Ray's object store once;
each worker process fetches it once and checks that it runs the same lightning_nas and torch.

Ray retries a task once when its worker dies or it raises (including a non-finite score); a second
failure comes back as a CandidateFailure. Ctrl-C cancels the tasks in flight."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightning_nas.backends import worker
from lightning_nas.backends.base import ATTEMPTS, BackendPlugin, CandidateFailure, error_text
from lightning_nas.backends.resources import uses_gpu
from lightning_nas.errors import ConfigError

if TYPE_CHECKING:
    from lightning_nas.config import RunConfig
    from lightning_nas.rmi.evaluator import ProxyResult, RMIEvaluator
    from lightning_nas.spaces.base import Genotype

INSTALL_HINT = "pip install -e '.[ray]' (or pip install 'lightning_nas[ray]')"


def require_ray() -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        raise ConfigError(f"search.backend ray needs Ray, an optional extra that is not installed: {INSTALL_HINT}") from None


class RayBackend(BackendPlugin):
    """Registered in `BACKENDS` by a `LazyBackend` entry: this module is imported only when ray is asked for."""

    name = "ray"

    @classmethod
    def check(cls, cfg: RunConfig) -> None:
        require_ray()

    @classmethod
    def trains_elsewhere(cls, cfg: RunConfig) -> bool:
        """With `ray.address` the candidates train on the cluster's nodes."""
        return bool(cfg.ray.address)

    def __init__(self, cfg: RunConfig) -> None:
        import ray

        r, s = cfg.ray, cfg.search
        self.num_cpus = float(r.num_cpus) if r.num_cpus is not None else float(s.threads_per_worker)
        gpu_share = 1.0 / cfg.proxy.candidates_per_gpu if uses_gpu(cfg) else 0.0
        self.num_gpus = float(r.num_gpus) if r.num_gpus is not None else gpu_share
        if self.num_cpus <= 0 or self.num_gpus < 0:
            raise ConfigError(f"ray.num_cpus must be > 0 and ray.num_gpus >= 0, got {self.num_cpus} and {self.num_gpus}")
        # At most this many candidates in flight (None: as many as the cluster's resources allow).
        self.workers: int | None = None if s.workers == "auto" else int(s.workers)
        self.started_here = False
        if not ray.is_initialized():
            self.started_here = True
            _connect(cfg, self.workers, self.num_cpus)
        self.payload: list[Any] | None = None

    def start(self, evaluator: RMIEvaluator) -> None:
        import ray

        self.payload = [ray.put({"evaluator": evaluator, "versions": worker.code_versions()})]
        self.task = ray.remote(worker.score_ray).options(
            num_cpus=self.num_cpus, num_gpus=self.num_gpus, max_retries=ATTEMPTS - 1, retry_exceptions=True
        )

    def map(self, genotypes: Sequence[Genotype]) -> Iterator[tuple[int, ProxyResult | CandidateFailure]]:
        import ray

        assert self.payload is not None, "start() first"
        pending = deque(range(len(genotypes)))
        where: dict[Any, int] = {}
        limit = self.workers or len(genotypes)
        try:
            while pending or where:
                while pending and len(where) < limit:
                    i = pending.popleft()
                    where[self.task.remote(self.payload, genotypes[i])] = i
                (ready,), _ = ray.wait(list(where), num_returns=1)
                i = where.pop(ready)
                yield i, _outcome(ready)
        except BaseException:
            for ref in where:
                ray.cancel(ref, force=True)
            raise

    def close(self) -> None:
        import ray

        if self.started_here and ray.is_initialized():
            ray.shutdown()
            self.started_here = False


def _outcome(ref: Any) -> ProxyResult | CandidateFailure:
    import ray

    try:
        return ray.get(ref)
    except worker.VersionMismatch as err:  # Ray's task error is also an instance of the cause's class
        raise ConfigError(str(getattr(err, "cause", err)).splitlines()[0]) from None
    except ray.exceptions.RayTaskError as err:
        return CandidateFailure(error_text(err.cause) if err.cause is not None else error_text(err))
    except ray.exceptions.RayError as err:  # worker died, out of memory, node lost
        return CandidateFailure(error_text(err))


def _connect(cfg: RunConfig, max_inflight: int | None, num_cpus: float) -> None:
    import ray

    address = cfg.ray.address or None
    kwargs: dict[str, Any] = dict(logging_level=logging.WARNING, log_to_driver=False, configure_logging=True)
    if address is None:  # a local Ray, sized to the workers asked for
        kwargs.update(include_dashboard=cfg.ray.dashboard, dashboard_host="127.0.0.1")
        if max_inflight is not None:
            kwargs["num_cpus"] = max_inflight * num_cpus
    else:  # a cluster: its nodes get this package's code from here
        import lightning_nas

        kwargs["runtime_env"] = {"py_modules": [str(Path(lightning_nas.__file__).parent)]}
    if address not in (None, "auto"):
        try:
            _check_reachable(address)  # Ray itself retries an unreachable address for minutes
        except (OSError, ValueError) as err:
            raise ConfigError(
                f"cannot reach a Ray cluster at ray.address {cfg.ray.address!r} ({err}); start one with `ray start "
                "--head` and give its host:port, `auto` for the one on this machine, or leave ray.address empty "
                "to start Ray here"
            ) from None
    try:  # "local": always a new Ray here, never one that another run (or RAY_ADDRESS) left around
        ray.init(address=address or "local", **kwargs)
    except (ConnectionError, OSError, RuntimeError, ValueError) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        hint = "" if address is None else (
            "; if the cluster uses token authentication (what `ray start` sets up since Ray 2.59), run the "
            "search with RAY_AUTH_MODE=token and the cluster's token (RAY_AUTH_TOKEN or ~/.ray/auth_token)"
        )
        raise ConfigError(f"could not start or join Ray (ray.address {cfg.ray.address!r}): {first}{hint}") from None


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Open (and close) a TCP connection to `host:port` (or `ray://host:port`)."""
    import socket

    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"expected host:port, got {address!r}")
    with socket.create_connection((host, int(port)), timeout=timeout):
        pass
