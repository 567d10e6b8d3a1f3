"""What a search (or fine-tune) cost, the way HW-EvRSNAS's Table 1 reports it: wall-clock seconds, the
device, device-hours, and an estimate of energy and CO2e.

    energy (kWh) = power (W) x device-hours x PUE / 1000
    CO2e (kg)    = energy (kWh) x carbon intensity (g CO2e / kWh) / 1000

Defaults (override them for your hardware and grid): 65 W for a CPU (a typical desktop/server CPU package
TDP), 300 W for a GPU (the TDP class of a datacentre GPU such as a V100), PUE 1.0 (no datacentre
overhead), 475 g CO2e/kWh (a world-average electricity carbon intensity, IEA, 2019)."""

from __future__ import annotations

import math
import platform
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lightning_nas.errors import ConfigError

DEFAULT_POWER_W = {"cpu": 65.0, "cuda": 300.0, "gpu": 300.0, "mps": 30.0}
DEFAULT_CARBON_G_PER_KWH = 475.0
DEFAULT_PUE = 1.0


@dataclass(frozen=True)
class EnergyAssumptions:
    """power_w: None = the default for the device type; carbon_g_per_kwh; pue."""

    power_w: float | None = None
    carbon_g_per_kwh: float = DEFAULT_CARBON_G_PER_KWH
    pue: float = DEFAULT_PUE

    def check(self) -> None:
        if self.power_w is not None and not 0 < self.power_w < math.inf:
            raise ConfigError(f"power_w must be > 0 W and finite, got {self.power_w}")
        if not 0 <= self.carbon_g_per_kwh < math.inf:
            raise ConfigError(f"carbon_g_per_kwh must be >= 0 and finite, got {self.carbon_g_per_kwh}")
        if not 1.0 <= self.pue < math.inf:
            raise ConfigError(f"pue must be >= 1.0, got {self.pue}")

    def power_for(self, device_type: str) -> float:
        if self.power_w is not None:
            return self.power_w
        return DEFAULT_POWER_W.get(device_type, DEFAULT_POWER_W["cpu"])


@dataclass(frozen=True)
class ComputeCost:
    wall_seconds: float
    device_type: str
    device: str
    devices: int
    device_hours: float
    power_w: float
    pue: float
    energy_kwh: float
    carbon_g_per_kwh: float
    co2e_kg: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compute_cost(
    wall_seconds: float, device_type: str, device: str, assumptions: EnergyAssumptions, devices: int = 1
) -> ComputeCost:
    assumptions.check()
    hours = wall_seconds / 3600.0 * devices
    power = assumptions.power_for(device_type)
    kwh = power * hours * assumptions.pue / 1000.0
    return ComputeCost(
        wall_seconds, device_type, device, devices, hours, power, assumptions.pue, kwh,
        assumptions.carbon_g_per_kwh, kwh * assumptions.carbon_g_per_kwh / 1000.0,
    )


def cpu_name() -> str:
    """The CPU model of this machine (from /proc/cpuinfo where there is one)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def device_type_of(accelerator: str | None) -> str:
    """The device type a Lightning `accelerator` setting trains on here (`auto` -> cuda when present)."""
    if accelerator in ("gpu", "cuda"):
        return "cuda"
    if accelerator == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return accelerator or "cpu"


def device_name(device_type: str) -> str:
    """A readable name of the device a run used on this machine."""
    if device_type == "cuda":
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    return cpu_name() if device_type == "cpu" else device_type
