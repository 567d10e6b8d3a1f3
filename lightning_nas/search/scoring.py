"""Score the genotypes a generation needs. `score_new` takes the distinct keys the run has not scored
yet; in the search process it looks each one up in the persistent cache, then hands the rest to the
evaluation backend as one batch (serial, local workers or Ray: `lightning_nas.backends`) and records
each result the moment it arrives (evaluations.jsonl), so a kill loses only candidates in flight.
`progress(done, total)`, when given, is told how many of them have their entry: 0 first, then once per
entry (cached, uncosted, trained or failed) as it is recorded.
A candidate that failed twice is recorded with its error and RMI None (the search gives it the worst
fitness its costs allow); failures never enter the persistent cache."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from lightning_nas.backends import Backend, CandidateFailure
from lightning_nas.rmi.evaluator import ProxyResult
from lightning_nas.rmi.score_source import ScoreSource
from lightning_nas.search.records import RunRecords
from lightning_nas.spaces.base import Genotype, SearchSpace


class CandidateScorer:
    def __init__(
        self, space: SearchSpace, backend: Backend, records: RunRecords, persistent: ScoreSource | None
    ) -> None:
        self.space, self.backend, self.records, self.persistent = space, backend, records, persistent

    def score_new(
        self,
        genotypes: Sequence[Genotype],
        costs: Sequence[Sequence[float]],
        progress: Callable[[int, int], None] | None = None,
    ) -> list[dict[str, Any]]:
        """Entries for genotypes this run has not scored (distinct keys), in the order given; a genotype
        without a cost value is infeasible whatever its RMI and is not trained. `progress(done, total)`
        is called with done 0, then after each entry is recorded (total = len(genotypes))."""
        keys = [self.space.key(g) for g in genotypes]
        entries: list[dict[str, Any] | None] = [None] * len(genotypes)
        to_train: list[int] = []
        done, total = 0, len(genotypes)

        def recorded() -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(done, total)

        if progress is not None:
            progress(0, total)
        for i, (genotype, key, cost) in enumerate(zip(genotypes, keys, costs, strict=True)):
            if any(math.isnan(c) for c in cost):
                entries[i] = self._record(genotype, key, rmi=None, cka=None, seconds=0.0, losses={})
                recorded()
                continue
            cached = self.persistent.lookup(key) if self.persistent else None
            if cached is None:
                to_train.append(i)
            else:
                entries[i] = self._record(genotype, key, **_fields(cached), persistent_hit=True)
                recorded()
        batch = [genotypes[i] for i in to_train]
        for j, outcome in self.backend.map(batch):
            i = to_train[j]
            if isinstance(outcome, CandidateFailure):
                entries[i] = self._record(
                    genotypes[i], keys[i], trained=True, rmi=None, cka=None, seconds=0.0, losses={},
                    error=outcome.error, attempts=outcome.attempts,
                )  # fmt: skip
            else:
                if self.persistent:
                    self.persistent.store(keys[i], outcome)
                entries[i] = self._record(genotypes[i], keys[i], **_fields(outcome), trained=True)
            recorded()
        return entries  # type: ignore[return-value]  # every position is filled

    def _record(self, genotype: Genotype, key: str, **fields: Any) -> dict[str, Any]:
        entry: dict[str, Any] = {"key": key, "genotype": self.space.to_json(genotype)}
        entry.update({"trained": False, "persistent_hit": False, **fields})
        self.records.add_entry(entry)
        return entry


def _fields(result: ProxyResult) -> dict[str, Any]:
    return {"rmi": result.rmi, "cka": result.cka, "seconds": result.seconds, "losses": result.losses}
