"""Cost models by metric name. Each cost module registers its factory in `COSTS`
(`@COSTS.register("flops", "params")`); `build_cost_model` picks one by `cost.metric`:
`flops`, `params`, the HW-NAS-Bench metrics, `measured_latency`, `ofa_latency`."""

from __future__ import annotations

from dataclasses import dataclass

from lightning_nas.config import ConstraintConfig
from lightning_nas.costs.base import CostModel
from lightning_nas.errors import ConfigError
from lightning_nas.registry import Registry
from lightning_nas.spaces.base import SearchSpace

COSTS: Registry = Registry(
    "cost metric",
    providers=(
        "lightning_nas.costs.complexity",
        "lightning_nas.costs.hw_nas_bench",
        "lightning_nas.costs.measured_latency",
        "lightning_nas.costs.ofa_latency_table",
    ),
)


@dataclass(frozen=True)
class CostContext:
    """What a cost model may need besides its constraint: the space and the dataset's name and shape."""

    space: SearchSpace
    data_name: str
    resolution: int
    in_channels: int = 3


def cost_metrics() -> tuple[str, ...]:
    return COSTS.names()


def build_cost_model(cfg: ConstraintConfig, space: SearchSpace, data_name: str, resolution: int, in_channels: int = 3) -> CostModel:
    factory = COSTS.get(cfg.metric)
    if not cfg.budget > 0:
        raise ConfigError(f"budget must be > 0, got {cfg.budget} for {cfg.metric}")
    return factory(cfg, CostContext(space, data_name, resolution, in_channels))


__all__ = ["COSTS", "ConstraintConfig", "CostContext", "CostModel", "build_cost_model", "cost_metrics"]
