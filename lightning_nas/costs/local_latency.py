"""Latency on the user's own device from a per-operator look-up table (`python -m lightning_nas.latency
build`): the predicted latency of a genotype is the sum of its operators' entries, in milliseconds, priced
in microseconds with no timing during the search. The table is checked against the space (space,
resolution, channels, classes, every operator present) when the cost model is built."""

from __future__ import annotations

from collections import Counter
from typing import Any

from lightning_nas.costs import COSTS, CostContext
from lightning_nas.errors import ConfigError
from lightning_nas.latency.lut import LatencyLUT
from lightning_nas.latency.operators import TableSpec
from lightning_nas.spaces.base import Genotype, SearchSpace


def expected_tables(space: SearchSpace) -> list[TableSpec]:
    """The tables a space needs, with the operators its full-size networks can place."""
    return space.latency_tables()


def genotype_counts(space: SearchSpace, genotype: Genotype) -> tuple[int, Counter[str]]:
    """(the table's resolution, the operator keys of the genotype's network with multiplicities)."""
    return space.latency_counts(genotype)


class LocalLatencyCost:
    def __init__(self, space: SearchSpace, lut: LatencyLUT) -> None:
        self.space, self.lut = space, lut
        self.name = "local_latency"
        self.unit = "ms"

    def cost(self, genotype: Genotype) -> float:
        return self.lut.predict(*genotype_counts(self.space, genotype))

    def minimum(self) -> float | None:
        return None


@COSTS.register("local_latency")
def _build(cfg: Any, ctx: CostContext) -> LocalLatencyCost:
    if not cfg.table:
        raise ConfigError(f"{ctx.key}.metric local_latency needs {ctx.key}.table: a table made by python -m lightning_nas.latency build")
    lut = LatencyLUT.load(cfg.table)
    lut.check(expected_tables(ctx.space), f"the {ctx.space.name} space on {ctx.data_name}")
    return LocalLatencyCost(ctx.space, lut)
