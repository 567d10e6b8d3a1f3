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

    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise ConfigError(f"not a lightning_nas network description (format {found!r}, expected {FORMAT!r})")
    data = doc.get("data")
    shape_ok = isinstance(data, dict) and all(
        isinstance(data.get(k), int) and not isinstance(data.get(k), bool) and data[k] >= 1 for k in DATA_KEYS
    )
    if not shape_ok or not isinstance(doc.get("space"), dict) or not isinstance(doc.get("full_size"), bool):
        raise ConfigError(
            f"network description needs space (an object), full_size (true/false) and data with positive integers "
            f"{', '.join(DATA_KEYS)}; got space {doc.get('space')!r}, data {data!r}"
        )
    try:
        space_cfg = SpaceConfig(**doc["space"])
    except TypeError as err:
        raise ConfigError(f"network description has an unknown space setting: {err}") from None
    return build_space(space_cfg, SimpleNamespace(**data))  # type: ignore[arg-type]


DATA_KEYS = ("num_classes", "in_channels", "resolution")


def build_network(doc: dict[str, Any]) -> nn.Module:
    """A freshly initialised network of the described architecture."""
    space = space_of(doc)
    return space.to_module(space.from_json(doc.get("genotype")), proxy=not doc["full_size"])
