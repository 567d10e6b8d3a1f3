"""What every backend shares: the protocol, the failure record and the checked call that scores one
candidate (a non-finite RMI counts as a failure, so it is retried and never cached)."""

from __future__ import annotations

import importlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from lightning_nas.backends import faults

if TYPE_CHECKING:
    from lightning_nas.config import RunConfig
    from lightning_nas.rmi.evaluator import ProxyResult, RMIEvaluator
    from lightning_nas.spaces.base import Genotype

ATTEMPTS = 2  # a failing candidate is tried once more (on a fresh worker where there are workers)


@dataclass
class CandidateFailure:
    """A candidate that could not be scored after `attempts` tries; `error` is the last one's text."""

    error: str
    attempts: int = ATTEMPTS



class NonFiniteScore(RuntimeError):
    """The candidate trained but its RMI is NaN or infinite (diverged)."""


class Backend(Protocol):
    name: str
    workers: int | None  # candidates in flight at most (None: as many as a Ray cluster holds)

    def start(self, evaluator: RMIEvaluator) -> None:
        """Give the backend what every worker needs (the evaluator: space, probe batch, reference
        features, proxy settings); sent to each worker once."""

    def map(self, genotypes: Sequence[Genotype]) -> Iterator[tuple[int, ProxyResult | CandidateFailure]]:
        """Score `genotypes`; yield (position, outcome) in the order results arrive."""

    def close(self) -> None:
        """Stop every worker (also on Ctrl-C); idempotent."""


class BackendEntry(Protocol):
    """What `BACKENDS` holds for a backend name: its class (a `BackendPlugin`) or a `LazyBackend`."""

    def check(self, cfg: RunConfig) -> None: ...

    def trains_elsewhere(self, cfg: RunConfig) -> bool: ...

    def threads(self, cfg: RunConfig) -> int | None: ...

    def build(self, cfg: RunConfig) -> Backend: ...


class BackendPlugin:
    """The defaults a backend class inherits: what the search asks of it before building one."""

    @classmethod
    def check(cls, cfg: RunConfig) -> None:
        """Refuse what this backend cannot run (ConfigError), before any work."""

    @classmethod
    def trains_elsewhere(cls, cfg: RunConfig) -> bool:
        """Whether candidates train on other machines (their devices need not be visible here)."""
        return False

    @classmethod
    def threads(cls, cfg: RunConfig) -> int | None:
        """torch threads while one candidate trains (None: the process's count)."""
        return cfg.search.threads_per_worker

    @classmethod
    def build(cls, cfg: RunConfig) -> Backend:
        """The backend, connected but not yet started."""
        return cls(cfg)  # type: ignore[call-arg]


class LazyBackend:
    """A registry entry for a backend whose module needs an optional extra: the module is imported only
    when the backend is asked for; every question goes to its class."""

    def __init__(self, module: str, cls: str) -> None:
        self.module, self.cls = module, cls

    def load(self) -> type[BackendPlugin]:
        return getattr(importlib.import_module(self.module), self.cls)

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_") or attr in ("module", "cls"):
            raise AttributeError(attr)
        return getattr(self.load(), attr)


def score_checked(evaluator: RMIEvaluator, genotype: Genotype) -> ProxyResult:
    """`evaluator.evaluate(genotype)`, raising NonFiniteScore when the RMI or a CKA is not finite."""
    make_nan = faults.maybe_inject(evaluator.space.key(genotype))
    result = evaluator.evaluate(genotype)
    if make_nan:
        result.rmi = math.nan
    if not all(math.isfinite(v) for v in [result.rmi, *result.cka]):
        raise NonFiniteScore(f"non-finite score (RMI {result.rmi}, CKA {result.cka})")
    return result


def error_text(exc: BaseException) -> str:
    """One line: the exception's type and message."""
    text = " ".join(str(exc).split()) or "(no message)"
    return f"{type(exc).__name__}: {text}"[:500]
