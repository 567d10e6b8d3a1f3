"""Cost models by name: `flops`, `params`, the HW-NAS-Bench metrics, `measured_latency`, `ofa_latency`."""

from __future__ import annotations

from lightning_nas.config import ConstraintConfig
from lightning_nas.costs.base import CostModel
from lightning_nas.costs.complexity import ComplexityCost
from lightning_nas.costs.hw_nas_bench import DATASETS as HW_DATASETS
from lightning_nas.costs.hw_nas_bench import METRICS as HW_METRICS
from lightning_nas.costs.hw_nas_bench import HWNASBenchCost, HWNASBenchTable
from lightning_nas.costs.measured_latency import MeasuredLatencyCost
from lightning_nas.errors import ConfigError, choice_error
from lightning_nas.spaces.base import SearchSpace

COST_METRICS = ("flops", "params", *HW_METRICS, "measured_latency", "ofa_latency")


_HW_DATASET_OF = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet16-120": "ImageNet16-120"}
_tables: dict[str, HWNASBenchTable] = {}


def hw_dataset_for(data_name: str, override: str | None) -> str:
    if override:
        return override
    if data_name not in _HW_DATASET_OF:
        raise ConfigError(
            f"HW-NAS-Bench has no costs for dataset {data_name!r}; set cost.dataset to one of {', '.join(HW_DATASETS)}"
        )
    return _HW_DATASET_OF[data_name]


def build_cost_model(cfg: ConstraintConfig, space: SearchSpace, data_name: str, resolution: int, in_channels: int = 3) -> CostModel:
    if cfg.metric not in COST_METRICS:
        raise choice_error("cost metric", cfg.metric, COST_METRICS)
    if not cfg.budget > 0:
        raise ConfigError(f"budget must be > 0, got {cfg.budget} for {cfg.metric}")
    if cfg.metric in ("flops", "params"):
        return ComplexityCost(space, cfg.metric)
    if cfg.metric == "measured_latency":
        return MeasuredLatencyCost(space, resolution, in_channels, device=cfg.device)
    if cfg.metric == "ofa_latency":
        return _ofa_latency(cfg, space)
    if space.name != "nb201":
        raise ConfigError(f"HW-NAS-Bench metric {cfg.metric!r} exists only for the nb201 space, not {space.name!r}")
    if not cfg.table:
        raise ConfigError(
            f"cost metric {cfg.metric!r} needs cost.table: the path of HW-NAS-Bench-v1_0.pickle or nb201_hw_metrics.csv.gz"
        )
    if cfg.table not in _tables:
        _tables[cfg.table] = HWNASBenchTable.load(cfg.table)
    return HWNASBenchCost(_tables[cfg.table], hw_dataset_for(data_name, cfg.dataset), cfg.metric)


def _ofa_latency(cfg: ConstraintConfig, space: SearchSpace) -> CostModel:
    from lightning_nas.costs.ofa_latency_table import OFALatencyCost, OFALatencyTable

    if space.name != "ofa_mbv3":
        raise ConfigError(f"cost metric 'ofa_latency' exists only for the ofa_mbv3 space, not {space.name!r}")
    if not cfg.table:
        raise ConfigError("cost metric 'ofa_latency' needs cost.table: an OFA <resolution>_lookup_table.yaml or a folder of them")
    return OFALatencyCost(space, OFALatencyTable.load(cfg.table))


__all__ = ["COST_METRICS", "ConstraintConfig", "CostModel", "build_cost_model"]
