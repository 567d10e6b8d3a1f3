"""Latency of the full-size network measured on this machine (median of timed forward passes)."""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch

from lightning_nas.costs import COSTS, CostContext
from lightning_nas.errors import ConfigError
from lightning_nas.spaces.base import Genotype, SearchSpace


class MeasuredLatencyCost:
    """ms per forward pass at `batch_size`, after `warmup` passes, median of `repeats`; eval mode,
    inference mode, on `device`. Measurements are noisy: results are cached per genotype key."""

    def __init__(
        self,
        space: SearchSpace,
        resolution: int,
        in_channels: int = 3,
        batch_size: int = 1,
        warmup: int = 3,
        repeats: int = 10,
        device: str = "cpu",
    ) -> None:
        self.space, self.resolution, self.in_channels = space, resolution, in_channels
        self.batch_size, self.warmup, self.repeats, self.device = batch_size, warmup, repeats, device
        self.name = "measured_latency"
        self.unit = "ms"
        self._cache: dict[str, float] = {}

    @torch.inference_mode()
    def measure(self, genotype: Genotype) -> float:
        with torch.random.fork_rng(devices=[]):  # weights do not matter for timing; keep global RNG untouched
            torch.manual_seed(0)
            model = self.space.to_module(genotype, proxy=False).to(self.device).eval()
            x = torch.randn(self.batch_size, self.in_channels, self.resolution, self.resolution, device=self.device)
        times = []
        for i in range(self.warmup + self.repeats):
            if self.device.startswith("cuda"):
                torch.cuda.synchronize()
            start = time.perf_counter()
            model(x)
            if self.device.startswith("cuda"):
                torch.cuda.synchronize()
            if i >= self.warmup:
                times.append((time.perf_counter() - start) * 1000.0)
        return statistics.median(times)

    def cost(self, genotype: Genotype) -> float:
        key = self.space.key(genotype)
        if key not in self._cache:
            self._cache[key] = self.measure(genotype)
        return self._cache[key]

    def minimum(self) -> float | None:
        return None


@COSTS.register("measured_latency")
def _build(cfg: Any, ctx: CostContext) -> MeasuredLatencyCost:
    if cfg.warmup < 0 or cfg.repeats < 1:
        raise ConfigError(f"measured_latency needs cost.warmup >= 0 and cost.repeats >= 1, got {cfg.warmup} and {cfg.repeats}")
    return MeasuredLatencyCost(
        ctx.space, ctx.resolution, ctx.in_channels, warmup=cfg.warmup, repeats=cfg.repeats, device=cfg.device
    )
