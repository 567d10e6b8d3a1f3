"""HW-NAS-Bench tables for NAS-Bench-201 architectures: latency / energy on six edge devices.

Reads the official `HW-NAS-Bench-v1_0.pickle` (layout `d["nasbench201"][dataset][metric][arch_index]`,
missing values stored as -1) or a CSV table with columns `<dataset>.<metric>` and one row per NB201
index (through the shared NB201-indexed CSV reader). A pickle can run code when loaded: it is only read
from the path the user named."""

from __future__ import annotations

import math
import pickle
from pathlib import Path

import numpy as np

from lightning_nas.errors import ConfigError, check_choice
from lightning_nas.tables.nb201_csv import N_ARCHS, NB201Columns, read_nb201_csv, show, to_column

METRICS: dict[str, str] = {
    "edgegpu_latency": "ms",
    "edgegpu_energy": "mJ",
    "raspi4_latency": "ms",
    "edgetpu_latency": "ms",
    "pixel3_latency": "ms",
    "eyeriss_latency": "ms",
    "eyeriss_energy": "mJ",
    "eyeriss_arithmetic_intensity": "OPs/Byte",
    "fpga_latency": "ms",
    "fpga_energy": "mJ",
}
DEVICES = {"edgegpu": "NVIDIA Jetson TX2", "raspi4": "Raspberry Pi 4", "edgetpu": "Google Edge TPU",
           "pixel3": "Google Pixel 3", "eyeriss": "ASIC Eyeriss", "fpga": "FPGA"}  # fmt: skip
DATASETS = ("cifar10", "cifar100", "ImageNet16-120")


class HWNASBenchTable(NB201Columns):
    """All metrics of one file, as {(dataset, metric): float64 array indexed by NB201 index}; a value
    <= 0 (the -1 sentinel) or an empty cell is NaN: no measurement, never "free"."""

    @classmethod
    def load(cls, path: str | Path) -> HWNASBenchTable:
        path = Path(path).expanduser()
        if not path.exists():
            raise ConfigError(
                f"HW-NAS-Bench file not found: {path} (give HW-NAS-Bench-v1_0.pickle or a CSV table)"
            )
        if path.suffix in (".pickle", ".pkl"):
            return cls._from_pickle(path)
        return cls._from_csv(path)

    @classmethod
    def _from_pickle(cls, path: Path) -> HWNASBenchTable:
        try:
            with open(path, "rb") as f:
                data = pickle.load(f)
            nb201 = data["nasbench201"]
        except Exception as err:  # noqa: BLE001
            raise ConfigError(
                f"{path} is not an HW-NAS-Bench pickle (expected d['nasbench201'][dataset][metric]): {err}"
            ) from None
        if not isinstance(nb201, dict) or not all(isinstance(m, dict) for m in nb201.values()):
            raise ConfigError(f"{path} is not an HW-NAS-Bench pickle (expected d['nasbench201'][dataset][metric])")
        columns: dict[tuple[str, str], np.ndarray] = {}
        for ds, metrics in nb201.items():
            for metric, values in metrics.items():
                if metric in METRICS:
                    columns[(ds, metric)] = _pickle_column(f"{path}: nasbench201[{ds!r}][{metric!r}]", values)
        return cls(columns, str(path))

    @classmethod
    def _from_csv(cls, path: Path) -> HWNASBenchTable:
        columns = read_nb201_csv(
            path,
            METRICS,
            index_column="arch_index",
            what="HW-NAS-Bench",
            expected="columns arch_index, <dataset>.<metric>",
            positive=True,
        )
        return cls(columns, str(path))

    def get(self, dataset: str, metric: str) -> np.ndarray:
        check_choice("HW-NAS-Bench metric", metric, METRICS)
        check_choice("HW-NAS-Bench dataset", dataset, DATASETS)
        return self.require(dataset, metric)


def _pickle_column(where: str, values: object) -> np.ndarray:
    """One metric of the pickle: a list of N_ARCHS numbers (the -1 sentinel and None are NaN), else a
    one-line ConfigError naming `where`, the position and the bad value."""
    if not isinstance(values, list | tuple | np.ndarray) or len(values) != N_ARCHS:
        size = f" of {len(values)}" if isinstance(values, list | tuple | np.ndarray) else ""
        raise ConfigError(f"{where} must be a list of {N_ARCHS} numbers, got {type(values).__name__}{size}")
    for i, v in enumerate(values):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float | np.number) or math.isinf(v)):
            raise ConfigError(f"{where}[{i}] is not a finite number: {show(v)}")
    return to_column((np.nan if v is None else v for v in values), positive=True)
