"""HW-NAS-Bench look-ups for NAS-Bench-201 architectures: latency / energy on six edge devices.

Reads the official `HW-NAS-Bench-v1_0.pickle` (layout `d["nasbench201"][dataset][metric][arch_index]`,
missing values stored as -1) or a CSV table with columns `<dataset>.<metric>` and one row per NB201
index. A pickle can run code when loaded: it is only read from the path the user named."""

from __future__ import annotations

import csv
import gzip
import logging
import math
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from lightning_nas.costs import COSTS, CostContext
from lightning_nas.errors import ConfigError, check_choice
from lightning_nas.spaces.base import NB201_BENCHMARK
from lightning_nas.spaces.nb201.space import NB201Genotype, from_ops_digits, genotype_of_index, nb201_index

log = logging.getLogger(__name__)

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
           "pixel3": "Google Pixel 3", "eyeriss": "ASIC Eyeriss", "fpga": "FPGA"}
DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
N_ARCHS = 15625


def _column(values: list[float]) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    arr[~(arr > 0)] = np.nan  # -1 sentinel (and empty cells) = no measurement, never "free"
    return arr


class HWNASBenchTable:
    """All metrics of one file, as {(dataset, metric): float64 array indexed by NB201 index}."""

    def __init__(self, columns: dict[tuple[str, str], np.ndarray], source: str) -> None:
        self.columns = columns
        self.source = source

    @classmethod
    def load(cls, path: str | Path) -> HWNASBenchTable:
        path = Path(path).expanduser()
        if not path.exists():
            raise ConfigError(f"HW-NAS-Bench file not found: {path} (give HW-NAS-Bench-v1_0.pickle or a CSV table)")
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
            raise ConfigError(f"{path} is not an HW-NAS-Bench pickle (expected d['nasbench201'][dataset][metric]): {err}") from None
        columns = {}
        for ds, metrics in nb201.items():
            for metric, values in metrics.items():
                if metric in METRICS:
                    columns[(ds, metric)] = _column(list(values))
        return cls(columns, str(path))

    @classmethod
    def _from_csv(cls, path: Path) -> HWNASBenchTable:
        opener = gzip.open if path.suffix == ".gz" else open
        try:
            with opener(path, "rt", newline="") as f:
                rows = list(csv.DictReader(f))
        except (OSError, UnicodeDecodeError, csv.Error) as err:
            raise ConfigError(f"cannot read HW-NAS-Bench CSV {path}: {err}") from None
        if not rows or "arch_index" not in rows[0]:
            raise ConfigError(f"{path} has no arch_index column; expected columns arch_index, <dataset>.<metric>")
        order = [int(r["arch_index"]) for r in rows]
        if "ops" in rows[0] and any(from_ops_digits(r["ops"]) != genotype_of_index(i) for i, r in zip(order, rows, strict=True)):
            raise ConfigError(f"{path}: the ops column does not follow the NAS-Bench-201 index order")
        columns = {}
        for name in rows[0]:
            ds, _, metric = name.partition(".")
            if metric in METRICS:
                col = np.full(N_ARCHS, np.nan)
                col[order] = _column([float(r[name]) if r[name] else math.nan for r in rows])
                columns[(ds, metric)] = col
        return cls(columns, str(path))

    def get(self, dataset: str, metric: str) -> np.ndarray:
        check_choice("HW-NAS-Bench metric", metric, METRICS)
        check_choice("HW-NAS-Bench dataset", dataset, DATASETS)
        if (dataset, metric) not in self.columns:
            raise ConfigError(f"{self.source} has no {dataset}.{metric}")
        return self.columns[(dataset, metric)]


class HWNASBenchCost:
    def __init__(self, table: HWNASBenchTable, dataset: str, metric: str) -> None:
        self.values = table.get(dataset, metric)
        self.dataset, self.metric = dataset, metric
        self.name = metric
        self.unit = METRICS[metric]
        self._warned: set[int] = set()

    def cost(self, genotype: NB201Genotype) -> float:
        index = nb201_index(genotype)
        value = float(self.values[index])
        if math.isnan(value) and index not in self._warned:
            self._warned.add(index)
            log.warning("HW-NAS-Bench has no %s for NB201 arch %d (%s): treated as infeasible", self.metric, index, self.dataset)
        return value

    def minimum(self) -> float | None:
        return float(np.nanmin(self.values))


_HW_DATASET_OF = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet16-120": "ImageNet16-120"}
_tables: dict[str, HWNASBenchTable] = {}  # one load per file per process


def hw_dataset_for(data_name: str, override: str | None) -> str:
    if override:
        return override
    if data_name not in _HW_DATASET_OF:
        raise ConfigError(
            f"HW-NAS-Bench has no costs for dataset {data_name!r}; set cost.dataset to one of {', '.join(DATASETS)}"
        )
    return _HW_DATASET_OF[data_name]


@COSTS.register(*METRICS)
def _build(cfg: Any, ctx: CostContext) -> HWNASBenchCost:
    if ctx.space.benchmark != NB201_BENCHMARK:
        raise ConfigError(f"HW-NAS-Bench metric {cfg.metric!r} exists only for the nb201 space, not {ctx.space.name!r}")
    if not cfg.table:
        raise ConfigError(
            f"cost metric {cfg.metric!r} needs cost.table: the path of HW-NAS-Bench-v1_0.pickle or nb201_hw_metrics.csv.gz"
        )
    if cfg.table not in _tables:
        _tables[cfg.table] = HWNASBenchTable.load(cfg.table)
    return HWNASBenchCost(_tables[cfg.table], hw_dataset_for(ctx.data_name, cfg.dataset), cfg.metric)
