"""Cost models by metric name. Each cost module registers its factory in `COSTS`
(`@COSTS.register("flops", "params")`); `build_cost_model` picks one by `cost.metric`:
`flops`, `params`, the HW-NAS-Bench metrics, `measured_latency`, `ofa_latency`, `local_latency`."""

from __future__ import annotations

import math
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
        "lightning_nas.costs.local_latency",
    ),
)


@dataclass(frozen=True)
class CostContext:
    """What a cost model may need besides its constraint: the space, the dataset's name and shape, and
    the config key of the constraint (`cost` or `cost.extra[i]`) for the errors."""

    space: SearchSpace
    data_name: str
    resolution: int
    in_channels: int = 3
    key: str = "cost"


def cost_metrics() -> tuple[str, ...]:
    return COSTS.names()


def constraint_key(i: int) -> str:
    """The config key of the i-th constraint of `CostConfig.constraints()`: `cost`, then `cost.extra[j]`."""
    return "cost" if i == 0 else f"cost.extra[{i - 1}]"


def check_budget(key: str, budget: object, metric: str) -> float:
    """`budget` as a float when it is a finite number > 0, else a one-line ConfigError naming `key.budget`."""
    if isinstance(budget, bool) or not isinstance(budget, int | float) or not math.isfinite(budget) or budget <= 0:
        raise ConfigError(f"{key}.budget must be > 0 and finite, got {budget!r} for {metric}")
    return float(budget)


def build_cost_model(
    cfg: ConstraintConfig, space: SearchSpace, data_name: str, resolution: int, in_channels: int = 3, key: str = "cost"
) -> CostModel:
    """The cost model of one constraint; `key` (`cost` or `cost.extra[i]`) names it in the errors."""
    try:
        factory = COSTS.get(cfg.metric)
    except ConfigError as err:
        raise ConfigError(f"{key}.metric: {err}") from None
    if cfg.budget is not None:  # None (no hard budget) is allowed by settings.check_objectives for nsga2
        check_budget(key, cfg.budget, cfg.metric)
    return factory(cfg, CostContext(space, data_name, resolution, in_channels, key))


__all__ = [
    "COSTS",
    "ConstraintConfig",
    "CostContext",
    "CostModel",
    "build_cost_model",
    "check_budget",
    "constraint_key",
    "cost_metrics",
]
