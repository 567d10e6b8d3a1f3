"""Score the genotypes a generation needs: the run's own records first, then the persistent cache,
then the RMI proxy. `score_new` takes a batch of distinct keys not yet in the run's records (the seam
where parallel or distributed evaluation plugs in); results are recorded as they arrive."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from lightning_nas.rmi.cache import RunCache
from lightning_nas.rmi.evaluator import ProxyResult, RMIEvaluator
from lightning_nas.search.records import RunRecords
from lightning_nas.spaces.base import Genotype, SearchSpace


class CandidateScorer:
    def __init__(
        self, space: SearchSpace, evaluator: RMIEvaluator, records: RunRecords, persistent: RunCache | None
    ) -> None:
        self.space, self.evaluator, self.records, self.persistent = space, evaluator, records, persistent

    def _proxy(self, genotype: Genotype, key: str) -> tuple[ProxyResult, bool]:
        """(score, came from the persistent cache)."""
        result = self.persistent.lookup(key) if self.persistent else None
        if result is not None:
            return result, True
        result = self.evaluator.evaluate(genotype)
        if self.persistent:
            self.persistent.store(key, result)
        return result, False

    def score_new(
        self, genotypes: Sequence[Genotype], costs: Sequence[Sequence[float]]
    ) -> list[dict[str, Any]]:
        """Entries for genotypes this run has not scored (distinct keys); a genotype without a cost value
        is infeasible whatever its RMI and is not trained."""
        out = []
        for genotype, cost in zip(genotypes, costs, strict=True):
            key = self.space.key(genotype)
            entry: dict[str, Any] = {"key": key, "genotype": self.space.to_json(genotype), "trained": False}
            if any(math.isnan(c) for c in cost):
                entry.update(rmi=None, cka=None, seconds=0.0, losses={})
            else:
                result, hit = self._proxy(genotype, key)
                entry.update(
                    persistent_hit=hit,
                    trained=not hit,
                    rmi=result.rmi,
                    cka=result.cka,
                    seconds=result.seconds,
                    losses=result.losses,
                )
            self.records.add_entry(entry)
            out.append(entry)
        return out
