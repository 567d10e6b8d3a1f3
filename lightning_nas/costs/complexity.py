"""FLOPs (millions of multiply-accumulates) and parameters (millions) of the full-size network,
as the space counts them (for NB201 exactly as NAS-Bench-201 does, in its unit name "MFLOPs"; for OFA
as OFA does, "MMACs": the same quantity under each benchmark's name)."""

from __future__ import annotations

import functools
import math
from typing import Any

from lightning_nas.costs import COSTS, CostContext
from lightning_nas.spaces.base import Genotype, SearchSpace


class ComplexityCost:
    """`kind` is `flops` (MFLOPs) or `params` (M)."""

    def __init__(self, space: SearchSpace, kind: str) -> None:
        self.space = space
        self.kind = kind
        self.name = kind
        self.unit = space.flops_unit if kind == "flops" else "M params"
        self._cache: dict[str, float] = {}

    def cost(self, genotype: Genotype) -> float:
        key = self.space.key(genotype)
        if key not in self._cache:
            flops, params = self.space.complexity(genotype)
            self._cache[key] = flops if self.kind == "flops" else params
        return self._cache[key]

    @functools.lru_cache(maxsize=1)  # noqa: B019 - one model per search
    def minimum(self) -> float | None:
        lower = self.space.min_complexity()
        if lower is not None:
            return lower[0] if self.kind == "flops" else lower[1]
        genotypes = self.space.enumerate()
        if genotypes is None:
            return None
        best = math.inf
        for g in genotypes:
            flops, params = self.space.complexity(g)
            best = min(best, flops if self.kind == "flops" else params)
        return best


@COSTS.register("flops", "params")
def _build(cfg: Any, ctx: CostContext) -> ComplexityCost:
    return ComplexityCost(ctx.space, cfg.metric)
