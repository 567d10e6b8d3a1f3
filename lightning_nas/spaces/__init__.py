"""Search spaces, built by name from the `space` config and the dataset's shape."""

from __future__ import annotations

from typing import Any

from lightning_nas.errors import choice_error
from lightning_nas.spaces.base import Genotype, SearchSpace

SPACES = ("nb201", "ofa_mbv3")


def build_space(cfg: Any, spec: Any) -> SearchSpace:
    """`cfg` is a SpaceConfig, `spec` the dataset's DataSpec (classes, channels, resolution)."""
    if cfg.name == "nb201":
        from lightning_nas.spaces.nb201.space import NB201Space

        return NB201Space(
            num_classes=spec.num_classes,
            in_channels=spec.in_channels,
            resolution=spec.resolution,
            C=cfg.C,
            N=cfg.N,
            full_C=cfg.full_C,
            full_N=cfg.full_N,
        )
    if cfg.name == "ofa_mbv3":
        from lightning_nas.spaces.ofa_mbv3.space import OFAMobileNetV3Space

        return OFAMobileNetV3Space(
            num_classes=spec.num_classes,
            in_channels=spec.in_channels,
            resolution=spec.resolution,
            width_mult=cfg.width_mult,
            resolutions=tuple(cfg.resolutions),
            kernel_sizes=tuple(cfg.kernel_sizes),
            expand_ratios=tuple(cfg.expand_ratios),
            depths=tuple(cfg.depths),
            resolution_mutate_prob=cfg.resolution_mutate_prob,
            weights=cfg.weights,
        )
    raise choice_error("search space", cfg.name, SPACES)


__all__ = ["SPACES", "Genotype", "SearchSpace", "build_space"]
