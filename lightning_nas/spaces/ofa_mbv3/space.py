"""Once-for-All MobileNetV3 search space: a genotype is an `OFAGenotype` (ks[20], e[20], d[5], r).

Sampling, mutation and crossover follow OFA's evolution finder (`MobileNetArchEncoder` and
`EvolutionFinder`), with an explicit `random.Random` instead of the module-level one:
- sample: every kernel size, expand ratio and depth gene uniformly from its choices, r from `resolutions`;
- mutate: r resampled with probability `resolution_mutate_prob`; then each block's (ks, e) resampled
  together with probability `rate` (the GA's `search.mutation_rate`), then each stage's depth with `rate`;
- crossover: uniform per gene (each ks, e, d gene and r), two complementary children.

Networks are OFA's `OFAMobileNetV3` active subnets (`get_active_subnet`), width multiplier 1.0 or 1.2.
The proxy network is freshly initialised (seeded by the caller); the full-size one inherits the user's
pre-trained supernet weights when `weights` is given. When `r` differs from the dataset's resolution,
the network resizes its input to `r` first (bilinear), as OFA evaluates subnets at their resolution.

Feature taps (RMI): the outputs of stages 1, 3 and 5, i.e. the last *active* block of each. In the
full network (d = 4 everywhere) these are blocks 4, 12 and 20, the RMI-NAS MobileNetV3 setting; for a
shallower subnet the tap moves to its stage's last block, so each pair compares the same stage output
(same resolution and width as the reference's) whatever the depth.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from lightning_nas.errors import ConfigError
from lightning_nas.spaces import SPACE_TYPES, SPACES
from lightning_nas.spaces.base import Tap, measure_taps
from lightning_nas.spaces.ofa_mbv3 import compat as ofa_compat
from lightning_nas.spaces.ofa_mbv3 import genes
from lightning_nas.spaces.ofa_mbv3.arch import N_BLOCKS, N_STAGES, OFAGenotype, complexity
from lightning_nas.spaces.ofa_mbv3.tools import OFASpaceTools

log = logging.getLogger(__name__)

TAP_STAGES = (0, 2, 4)  # stages 1, 3, 5 (0-based)


class ResizeInput(nn.Module):
    """Resize the input to `resolution` (bilinear) before the wrapped network `net`."""

    def __init__(self, net: nn.Module, resolution: int) -> None:
        super().__init__()
        self.net = net
        self.resolution = resolution

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.resolution or x.shape[-2] != self.resolution:
            x = F.interpolate(
                x, size=(self.resolution, self.resolution), mode="bilinear", align_corners=False
            )
        return self.net(x)


def reinitialize(module: nn.Module) -> nn.Module:
    """Fresh default initialisation of every layer (under the caller's torch RNG)."""
    for m in module.modules():
        reset = getattr(m, "reset_parameters", None)
        if callable(reset):
            reset()
    return module


def replace_classifier(net: nn.Module, num_classes: int) -> None:
    """Swap a pre-trained classifier for a fresh one with `num_classes` outputs."""
    old = net.classifier
    if old.out_features == num_classes:
        return
    log.warning(
        "OFA weights have %d classes, the dataset %d: the classifier is re-initialised",
        old.out_features,
        num_classes,
    )
    net.classifier = ofa_compat.ofa_modules().LinearLayer(
        old.in_features, num_classes, dropout_rate=old.dropout_rate
    )


@SPACE_TYPES.register("ofa_mbv3")
@dataclass
class OFAMobileNetV3Space(OFASpaceTools):
    """num_classes / in_channels / resolution: the dataset's; width_mult: 1.0 or 1.2; resolutions: the
    choices of the resolution gene (default: the dataset's resolution only); kernel_sizes, expand_ratios,
    depths: the choices sampled (subsets of OFA's 3/5/7, 3/4/6, 2/3/4); resolution_mutate_prob (OFA 0.5);
    weights: pre-trained OFA supernet weights for the full-size network (a local path)."""

    num_classes: int = 10
    in_channels: int = 3
    resolution: int = 224
    width_mult: float = 1.0
    resolutions: tuple[int, ...] = ()
    kernel_sizes: tuple[int, ...] = ofa_compat.OFA_KERNEL_SIZES
    expand_ratios: tuple[int, ...] = ofa_compat.OFA_EXPAND_RATIOS
    depths: tuple[int, ...] = ofa_compat.OFA_DEPTHS
    resolution_mutate_prob: float = 0.5
    weights: str | None = None
    name: str = "ofa_mbv3"
    benchmark: str | None = None
    flops_unit: str = "MMACs"  # what OFA and the paper call its FLOPs (multiply-accumulates)
    _supernets: dict[bool, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.resolutions = tuple(int(r) for r in self.resolutions) or (self.resolution,)
        self.kernel_sizes = tuple(sorted(self.kernel_sizes))
        self.expand_ratios = tuple(sorted(self.expand_ratios))
        self.depths = tuple(sorted(self.depths))
        genes.check_settings(self)

    # ---- the GA operators ----------------------------------------------------------------------
    def sample(self, rng: random.Random) -> OFAGenotype:
        return genes.sample(self, rng)

    def mutate(self, genotype: OFAGenotype, rng: random.Random, rate: float) -> OFAGenotype:
        return genes.mutate(self, genotype, rng, rate)

    def crossover(self, a: OFAGenotype, b: OFAGenotype, rng: random.Random) -> tuple[OFAGenotype, OFAGenotype]:
        return genes.crossover(a, b, rng)

    # ---- networks --------------------------------------------------------------------------------
    def _supernet(self, pretrained: bool) -> Any:
        if pretrained not in self._supernets:
            if pretrained:
                assert self.weights is not None
                self._supernets[pretrained] = ofa_compat.load_supernet(self.weights, self.width_mult)
            else:
                with torch.random.fork_rng(devices=[]):
                    self._supernets[pretrained] = ofa_compat.build_supernet(self.num_classes, self.width_mult)
        return self._supernets[pretrained]

    def subnet(self, genotype: OFAGenotype, pretrained: bool = False) -> nn.Module:
        """OFA's MobileNetV3 for the genotype (without input resizing)."""
        supernet = self._supernet(pretrained)
        supernet.set_active_subnet(ks=list(genotype.ks), e=list(genotype.e), d=list(genotype.d))
        net = supernet.get_active_subnet(preserve_weight=pretrained)
        if pretrained:
            replace_classifier(net, self.num_classes)
            return net
        return reinitialize(net)

    def to_module(self, genotype: OFAGenotype, proxy: bool = True) -> nn.Module:
        """The subnet, freshly initialised for the proxy; with the supernet's weights at full size when
        `weights` is given. Wrapped in `ResizeInput` when `r` differs from the dataset's resolution."""
        net = self.subnet(genotype, pretrained=not proxy and self.weights is not None)
        return net if genotype.r == self.resolution else ResizeInput(net, genotype.r)

    def tap_names(self, genotype: OFAGenotype, proxy: bool = True) -> list[str]:
        prefix = "" if genotype.r == self.resolution else "net."
        return [f"{prefix}blocks.{sum(genotype.d[: s + 1])}" for s in TAP_STAGES]

    def taps(self, genotype: OFAGenotype, proxy: bool = True) -> list[Tap]:
        shape = (self.in_channels, self.resolution, self.resolution)
        return measure_taps(self.to_module(genotype, proxy), self.tap_names(genotype, proxy), shape)

    def proxy_signature(self) -> dict[str, Any]:
        """What shapes the proxy network: OFA's width and the dataset's shape (the gene choices only
        change which genotypes are drawn, the weights path only the full-size network)."""
        return {
            "name": self.name,
            "width_mult": self.width_mult,
            "num_classes": self.num_classes,
            "in_channels": self.in_channels,
            "resolution": self.resolution,
        }

    def benchmark_fields(self, genotype: OFAGenotype) -> dict[str, Any]:
        return {}

    # ---- identity and serialisation -------------------------------------------------------------
    def key(self, genotype: OFAGenotype) -> str:
        """`r<res>:` then per stage its active blocks `k<ks>e<e>` joined by `.`, stages joined by `|`."""
        return genes.key(genotype)

    def class_key(self, genotype: OFAGenotype) -> str:
        return genes.key(genotype)  # distinct keys build distinct networks: no coarser class

    def describe(self, genotype: OFAGenotype) -> str:
        return self.key(genotype)

    def to_json(self, genotype: OFAGenotype) -> dict[str, Any]:
        return {"ks": list(genotype.ks), "e": list(genotype.e), "d": list(genotype.d), "r": genotype.r}

    def from_json(self, data: Any) -> OFAGenotype:
        genotype = genes.from_json(data, self.resolution)
        self.validate(genotype)
        return genotype

    def validate(self, g: OFAGenotype) -> None:
        """ConfigError naming the first gene outside the space's choices."""
        genes.check_genotype(self, g)

    def parse(self, text: str) -> OFAGenotype:
        """A JSON genotype (`{"ks": [...], "e": [...], "d": [...], "r": 224}`) or a key string."""
        text = text.strip()
        if text.startswith("{"):
            try:
                return self.from_json(json.loads(text))
            except json.JSONDecodeError as err:
                raise ConfigError(f"invalid OFA genotype JSON: {err}") from None
        return self.from_json(genes.parse_key(text))

    # ---- costs -------------------------------------------------------------------------------------
    def complexity(self, genotype: OFAGenotype) -> tuple[float, float]:
        """(MMACs, M params) as OFA counts them, at the genotype's resolution."""
        flops, params = complexity(genotype, self.width_mult, self.num_classes)
        return flops / 1e6, params / 1e6

    def min_genotype(self) -> OFAGenotype:
        k, e, d = min(self.kernel_sizes), min(self.expand_ratios), min(self.depths)
        return OFAGenotype((k,) * N_BLOCKS, (e,) * N_BLOCKS, (d,) * N_STAGES, min(self.resolutions))

    def max_genotype(self) -> OFAGenotype:
        k, e, d = max(self.kernel_sizes), max(self.expand_ratios), max(self.depths)
        return OFAGenotype((k,) * N_BLOCKS, (e,) * N_BLOCKS, (d,) * N_STAGES, max(self.resolutions))

    def min_complexity(self) -> tuple[float, float]:
        """The smallest (MMACs, M params) in the space: every count grows with ks, e, d and r."""
        return self.complexity(self.min_genotype())

    def enumerate(self) -> None:
        return None



def max_subnet(
    num_classes: int, in_channels: int = 3, weights: str | None = None, width_mult: float = 1.0
) -> nn.Module:
    """The reference model: OFA's largest subnet (ks 7, e 6, d 4), with the user's pre-trained OFA
    supernet weights when `weights` is given (a local path), else freshly initialised (to be trained).
    Its taps for RMI are blocks.4, blocks.12, blocks.20 (ends of stages 1, 3, 5)."""
    space = OFAMobileNetV3Space(
        num_classes=num_classes, in_channels=in_channels, width_mult=width_mult, weights=weights
    )
    return space.subnet(space.max_genotype(), pretrained=weights is not None)


@SPACES.register("ofa_mbv3")
def _from_config(cfg: Any, spec: Any) -> OFAMobileNetV3Space:
    if cfg.full_resolution is not None:
        raise ConfigError(
            f"space.full_resolution {cfg.full_resolution} is for nb201; in ofa_mbv3 the resolution is a gene "
            "(space.resolutions): leave it null"
        )
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
