"""Search spaces, built by name from the `space` config and the dataset's shape. Each space module
registers its factory in `SPACES` (`@SPACES.register("nb201")`) and its class in `SPACE_TYPES`, for the
tools that build a space from something else (`from_latency_shape`: a latency table's shape)."""

from __future__ import annotations

from typing import Any

from lightning_nas.registry import Registry
from lightning_nas.spaces.base import Genotype, SearchSpace

SPACES: Registry = Registry(
    "search space", providers=("lightning_nas.spaces.nb201.space", "lightning_nas.spaces.ofa_mbv3.space")
)
SPACE_TYPES: Registry = Registry("search space", providers=SPACES.providers)


def build_space(cfg: Any, spec: Any) -> SearchSpace:
    """`cfg` is a SpaceConfig, `spec` the dataset's DataSpec (classes, channels, resolution)."""
    return SPACES.get(cfg.name)(cfg, spec)


__all__ = ["SPACES", "SPACE_TYPES", "Genotype", "SearchSpace", "build_space"]
