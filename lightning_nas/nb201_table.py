"""NAS-Bench-201 accuracies (200-epoch valid/test per dataset), FLOPs and params, looked up by
genotype. Reads the CSV table (`nb201_accuracy_cost.csv.gz`: columns `<dataset>.<field>`, one row per
NB201 index) and, when the user has it, the official benchmark file through `nas_201_api`."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np

from lightning_nas.errors import ConfigError, check_choice
from lightning_nas.spaces.nb201 import NB201Genotype, nb201_index, to_arch_str

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
FIELDS = ("valid_acc", "test_acc", "test_acc_nats", "flops_M", "params_M")
N_ARCHS = 15625


class NB201AccuracyTable:
    """`columns[(dataset, field)]` is a float64 array indexed by NB201 index (NaN where absent)."""

    def __init__(self, columns: dict[tuple[str, str], np.ndarray], source: str) -> None:
        self.columns = columns
        self.source = source

    @classmethod
    def load(cls, path: str | Path) -> NB201AccuracyTable:
        path = Path(path).expanduser()
        if not path.exists():
            raise ConfigError(f"NAS-Bench-201 table not found: {path}")
        if path.suffix in (".pth", ".pickle", ".pkl"):
            return cls._from_official(path)
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", newline="") as f:
            rows = list(csv.DictReader(f))
        if not rows or "arch_str" not in rows[0]:
            raise ConfigError(f"{path} has no arch_str column; expected the NB201 accuracy/cost table")
        index = np.array([nb201_index(_genotype(r["arch_str"])) for r in rows])
        columns = {}
        for name in rows[0]:
            ds, _, fld = name.partition(".")
            if fld in FIELDS:
                col = np.full(N_ARCHS, np.nan)
                col[index] = [float(r[name]) if r[name] else np.nan for r in rows]
                columns[(ds, fld)] = col
        return cls(columns, str(path))

    @classmethod
    def _from_official(cls, path: Path) -> NB201AccuracyTable:
        """The official NAS-Bench-201 file via nas_201_api (200-epoch, all seeds averaged)."""
        from nas_201_api import NASBench201API

        api = NASBench201API(str(path), verbose=False)
        sets = {"cifar10": ("cifar10-valid", "x-valid", "cifar10", "ori-test"), "cifar100": ("cifar100", "x-valid", "cifar100", "x-test"),
                "ImageNet16-120": ("ImageNet16-120", "x-valid", "ImageNet16-120", "x-test")}
        columns: dict[tuple[str, str], np.ndarray] = {}
        for ds, (vset, vkey, tset, tkey) in sets.items():
            valid, test = np.full(N_ARCHS, np.nan), np.full(N_ARCHS, np.nan)
            for arch_str in api.meta_archs:
                i = nb201_index(_genotype(arch_str))
                valid[i] = api.get_more_info(api.query_index_by_arch(arch_str), vset, None, False, False)[f"{vkey}-accuracy" if vkey != "x-valid" else "valid-accuracy"]
                test[i] = api.get_more_info(api.query_index_by_arch(arch_str), tset, None, False, False)["test-accuracy"]
            columns[(ds, "valid_acc")], columns[(ds, "test_acc")] = valid, test
        return cls(columns, str(path))

    def get(self, genotype: NB201Genotype, dataset: str, field: str = "test_acc") -> float:
        check_choice("NB201 dataset", dataset, DATASETS)
        check_choice("NB201 table field", field, FIELDS)
        if (dataset, field) not in self.columns:
            raise ConfigError(f"{self.source} has no {dataset}.{field}")
        return float(self.columns[(dataset, field)][nb201_index(genotype)])

    def column(self, dataset: str, field: str = "test_acc") -> np.ndarray:
        check_choice("NB201 dataset", dataset, DATASETS)
        check_choice("NB201 table field", field, FIELDS)
        return self.columns[(dataset, field)]

    def describe(self, genotype: NB201Genotype) -> str:
        return to_arch_str(genotype)


def _genotype(arch_str: str) -> NB201Genotype:
    from lightning_nas.spaces.nb201 import from_arch_str

    return from_arch_str(arch_str)
