"""NAS-Bench-201 accuracies (200-epoch valid/test per dataset), FLOPs and params, looked up by
genotype. Reads the CSV table (`nb201_accuracy_cost.csv.gz`: columns `<dataset>.<field>`, one row per
NB201 index) and, when the user has it, the official benchmark file through `nas_201_api`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lightning_nas.errors import ConfigError, check_choice
from lightning_nas.spaces.nb201.space import NB201Genotype, nb201_index, to_arch_str
from lightning_nas.tables.nb201_csv import N_ARCHS, NB201Columns, read_nb201_csv

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
FIELDS = ("valid_acc", "test_acc", "test_acc_nats", "flops_M", "params_M")


class NB201AccuracyTable(NB201Columns):
    """`columns[(dataset, field)]` is a float64 array indexed by NB201 index (NaN where absent)."""

    @classmethod
    def load(cls, path: str | Path) -> NB201AccuracyTable:
        path = Path(path).expanduser()
        if not path.exists():
            raise ConfigError(f"NAS-Bench-201 table not found: {path}")
        if path.suffix in (".pth", ".pickle", ".pkl"):
            return cls._from_official(path)
        columns = read_nb201_csv(
            path,
            FIELDS,
            index_column="arch_str",
            what="NAS-Bench-201",
            expected="the NB201 accuracy/cost table",
        )
        return cls(columns, str(path))

    @classmethod
    def _from_official(cls, path: Path) -> NB201AccuracyTable:
        """The official NAS-Bench-201 file via nas_201_api: 200-epoch results averaged over seeds
        (`hp='200'`, `is_random=False`). cifar10 valid is `cifar10-valid`'s x-valid, its test the ori-test
        of `cifar10`; cifar100 / ImageNet16-120 use their own x-valid / x-test."""
        from nas_201_api import NASBench201API

        api = NASBench201API(str(path), verbose=False)
        columns = {
            (ds, fld): np.full(N_ARCHS, np.nan)
            for ds in DATASETS
            for fld in ("valid_acc", "test_acc", "flops_M", "params_M")
        }
        for official, arch_str in enumerate(api.meta_archs):
            i = nb201_index(_genotype(arch_str))
            if i != official:
                raise ConfigError(
                    f"{path}: arch {arch_str} has index {official}, expected {i} (not an NB201 file?)"
                )
            for ds in DATASETS:
                valid_set = "cifar10-valid" if ds == "cifar10" else ds
                columns[(ds, "valid_acc")][i] = api.get_more_info(i, valid_set, None, "200", False)[
                    "valid-accuracy"
                ]
                columns[(ds, "test_acc")][i] = api.get_more_info(i, ds, None, "200", False)["test-accuracy"]
                cost = api.get_cost_info(i, ds, "200")
                columns[(ds, "flops_M")][i], columns[(ds, "params_M")][i] = cost["flops"], cost["params"]
        return cls(columns, str(path))

    def get(self, genotype: NB201Genotype | str, dataset: str, field: str = "test_acc") -> float:
        """The value for a genotype or an NB201 arch string (looked up through its index)."""
        if isinstance(genotype, str):
            genotype = _genotype(genotype)
        check_choice("NB201 dataset", dataset, DATASETS)
        check_choice("NB201 table field", field, FIELDS)
        return float(self.require(dataset, field)[nb201_index(genotype)])

    def column(self, dataset: str, field: str = "test_acc") -> np.ndarray:
        check_choice("NB201 dataset", dataset, DATASETS)
        check_choice("NB201 table field", field, FIELDS)
        return self.require(dataset, field)

    def describe(self, genotype: NB201Genotype) -> str:
        return to_arch_str(genotype)


def _genotype(arch_str: str) -> NB201Genotype:
    from lightning_nas.spaces.nb201.space import from_arch_str

    return from_arch_str(arch_str)
