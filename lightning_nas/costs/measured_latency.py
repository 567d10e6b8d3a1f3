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


def available_devices() -> list[str]:
    """The torch devices a latency can be measured on here: cpu, then cuda and cuda:<i> per visible GPU, mps."""
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += ["cuda", *(f"cuda:{i}" for i in range(torch.cuda.device_count()))]
    if torch.backends.mps.is_available():
        devices.append("mps")
    return devices


def check_device(key: str, device: object) -> str:
    """`device` when this machine has it, else a one-line ConfigError naming `key`, the value and the choices."""
    valid = available_devices()
    if device not in valid:
        raise ConfigError(f"{key} {device!r} is unknown or not present on this machine; valid here: {', '.join(valid)}")
    return str(device)


@COSTS.register("measured_latency")
def _build(cfg: Any, ctx: CostContext) -> MeasuredLatencyCost:
    if cfg.warmup < 0 or cfg.repeats < 1:
        raise ConfigError(
            f"measured_latency needs {ctx.key}.warmup >= 0 and {ctx.key}.repeats >= 1, got {cfg.warmup} and {cfg.repeats}"
        )
    check_device(f"{ctx.key}.device", cfg.device)
    return MeasuredLatencyCost(
        ctx.space, ctx.resolution, ctx.in_channels, warmup=cfg.warmup, repeats=cfg.repeats, device=cfg.device
    )
