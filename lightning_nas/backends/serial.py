"""The serial backend: candidates scored one after another in the search process (the default, and
what the paper's code does). A failing candidate is tried once more, in the same process."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from lightning_nas.backends import BACKENDS
from lightning_nas.backends.base import ATTEMPTS, BackendPlugin, CandidateFailure, error_text, score_checked

if TYPE_CHECKING:
    from lightning_nas.config import RunConfig
    from lightning_nas.rmi.evaluator import ProxyResult, RMIEvaluator
    from lightning_nas.spaces.base import Genotype


@BACKENDS.register("serial")
class SerialBackend(BackendPlugin):
    name = "serial"
    workers = 1

    @classmethod
    def threads(cls, cfg: RunConfig) -> int | None:
        """The run's `threads`: candidates train in the search process."""
        return cfg.threads

    @classmethod
    def build(cls, cfg: RunConfig) -> SerialBackend:
        return cls()

    def __init__(self) -> None:
        self.evaluator: RMIEvaluator | None = None

    def start(self, evaluator: RMIEvaluator) -> None:
        self.evaluator = evaluator

    def map(self, genotypes: Sequence[Genotype]) -> Iterator[tuple[int, ProxyResult | CandidateFailure]]:
        assert self.evaluator is not None, "start() first"
        for i, genotype in enumerate(genotypes):
            yield i, self._score(genotype)

    def _score(self, genotype: Genotype) -> ProxyResult | CandidateFailure:
        error = ""
        for _ in range(ATTEMPTS):
            try:
                return score_checked(self.evaluator, genotype)  # type: ignore[arg-type]
            except Exception as exc:  # noqa: BLE001 - any candidate error is isolated, Ctrl-C is not
                error = error_text(exc)
        return CandidateFailure(error)

    def close(self) -> None:
        pass
