"""The genotype JSON: everything needed to rebuild a found network without the run that found it
(the space's config, the dataset's shape, the genotype, full size or proxy), and the rebuild."""

from __future__ import annotations

from dataclasses import asdict
from types import SimpleNamespace
from typing import Any

from torch import nn

from lightning_nas.errors import ConfigError
from lightning_nas.spaces import build_space
from lightning_nas.spaces.base import Genotype, SearchSpace

FORMAT = "lightning_nas.network/1"


def network_spec(space_cfg: Any, data_spec: Any, space: SearchSpace, genotype: Genotype, full_size: bool) -> dict[str, Any]:
    """`space_cfg` is the run's SpaceConfig, `data_spec` the dataset's DataSpec."""
    doc: dict[str, Any] = {
        "format": FORMAT,
        "space": asdict(space_cfg),
        "data": {
            "name": data_spec.name,
            "num_classes": data_spec.num_classes,
            "in_channels": data_spec.in_channels,
            "resolution": data_spec.resolution,
        },
        "genotype": space.to_json(genotype),
        "description": space.describe(genotype),
        "full_size": full_size,
    }
    doc.update({k: v for k, v in space.benchmark_fields(genotype).items() if k != "arch_str"})
    return doc


def space_of(doc: dict[str, Any]) -> SearchSpace:
    from lightning_nas.config import SpaceConfig

    if doc.get("format") != FORMAT:
        raise ConfigError(f"not a lightning_nas network description (format {doc.get('format')!r}, expected {FORMAT!r})")
    try:
        space_cfg = SpaceConfig(**doc["space"])
    except TypeError as err:
        raise ConfigError(f"network description has an unknown space setting: {err}") from None
    return build_space(space_cfg, SimpleNamespace(**doc["data"]))


def build_network(doc: dict[str, Any]) -> nn.Module:
    """A freshly initialised network of the described architecture."""
    space = space_of(doc)
    return space.to_module(space.from_json(doc["genotype"]), proxy=not doc["full_size"])
