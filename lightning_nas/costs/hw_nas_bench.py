"""HW-NAS-Bench cost models for NAS-Bench-201 architectures: latency / energy on six edge devices,
looked up in an `HWNASBenchTable` (lightning_nas.tables.hw_nas_bench reads the official pickle or the
CSV table; its METRICS, DATASETS and DEVICES are re-exported here)."""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

from lightning_nas.costs import COSTS, CostContext
from lightning_nas.errors import ConfigError
from lightning_nas.spaces.base import NB201_BENCHMARK
from lightning_nas.spaces.nb201.space import NB201Genotype, nb201_index
from lightning_nas.tables.hw_nas_bench import DATASETS, DEVICES, METRICS, HWNASBenchTable

__all__ = ["DATASETS", "DEVICES", "METRICS", "HWNASBenchCost", "HWNASBenchTable", "hw_dataset_for"]

log = logging.getLogger(__name__)


class HWNASBenchCost:
    def __init__(self, table: HWNASBenchTable, dataset: str, metric: str) -> None:
        self.values = table.get(dataset, metric)
        if not np.isfinite(self.values).any():
            raise ConfigError(
                f"cost metric {metric!r} has no value for any architecture in {table.source} ({dataset}.{metric} "
                f"is empty or <= 0 in every row); choose another cost.metric, cost.dataset or cost.table"
            )
        self.dataset, self.metric = dataset, metric
        self.name = metric
        self.unit = METRICS[metric]
        self._warned: set[int] = set()

    def cost(self, genotype: NB201Genotype) -> float:
        index = nb201_index(genotype)
        value = float(self.values[index])
        if math.isnan(value) and index not in self._warned:
            self._warned.add(index)
            log.warning(
                "HW-NAS-Bench has no %s for NB201 arch %d (%s): treated as infeasible",
                self.metric,
                index,
                self.dataset,
            )
        return value

    def minimum(self) -> float | None:
        return float(np.nanmin(self.values))


_HW_DATASET_OF = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet16-120": "ImageNet16-120"}
_tables: dict[str, HWNASBenchTable] = {}  # one load per file per process


def hw_dataset_for(data_name: str, override: str | None, key: str = "cost") -> str:
    if override:
        if override not in DATASETS:
            raise ConfigError(f"unknown HW-NAS-Bench dataset {override!r} in {key}.dataset; valid: {', '.join(DATASETS)}")
        return override
    if data_name not in _HW_DATASET_OF:
        raise ConfigError(
            f"HW-NAS-Bench has no costs for dataset {data_name!r}; set {key}.dataset to one of {', '.join(DATASETS)}"
        )
    return _HW_DATASET_OF[data_name]


@COSTS.register(*METRICS)
def _build(cfg: Any, ctx: CostContext) -> HWNASBenchCost:
    if ctx.space.benchmark != NB201_BENCHMARK:
        raise ConfigError(
            f"HW-NAS-Bench metric {cfg.metric!r} exists only for the nb201 space, not {ctx.space.name!r}"
        )
    if not cfg.table:
        raise ConfigError(
            f"cost metric {cfg.metric!r} needs cost.table: the path of HW-NAS-Bench-v1_0.pickle or nb201_hw_metrics.csv.gz"
        )
    dataset = hw_dataset_for(ctx.data_name, cfg.dataset, ctx.key)  # before the table is read
    if cfg.table not in _tables:
        _tables[cfg.table] = HWNASBenchTable.load(cfg.table)
    return HWNASBenchCost(_tables[cfg.table], dataset, cfg.metric)
