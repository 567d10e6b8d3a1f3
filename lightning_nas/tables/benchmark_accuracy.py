"""The benchmark's own accuracy of a fine-tuned NB201 architecture (NAS-Bench-201's 200-epoch test
accuracy by default), to put side by side with the accuracy the fine-tune reached. Resolved and checked
before training, looked up after."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lightning_nas.errors import ConfigError, check_choice
from lightning_nas.spaces.base import NB201_BENCHMARK

_NB201_DATASET_OF = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet16-120": "ImageNet16-120"}
BENCHMARK_C, BENCHMARK_N = 16, 5


@dataclass
class BenchmarkLookup:
    table: Any  # NB201AccuracyTable
    dataset: str
    field: str

    def record(self, genotype: Any, trained_C: int, trained_N: int) -> dict[str, Any]:
        value = self.table.get(genotype, self.dataset, self.field)
        out: dict[str, Any] = {
            "table": self.table.source,
            "dataset": self.dataset,
            "field": self.field,
            "value": value,
            "unit": "%",
            "epochs": 200,
        }
        if (trained_C, trained_N) != (BENCHMARK_C, BENCHMARK_N):
            out["note"] = (
                f"the benchmark trained C{BENCHMARK_C}/N{BENCHMARK_N}; this fine-tune trained C{trained_C}/N{trained_N}"
            )
        return out


def benchmark_lookup(ft: Any, benchmark: str | None, data_name: str) -> BenchmarkLookup | None:
    """None when there is nothing to look up (no table, or a space not indexed by NAS-Bench-201)."""
    if not ft.nb201_table or benchmark != NB201_BENCHMARK:
        return None
    from lightning_nas.tables.nb201_accuracy import DATASETS, FIELDS, NB201AccuracyTable

    dataset = ft.nb201_dataset or _NB201_DATASET_OF.get(data_name)
    if dataset is None:
        raise ConfigError(
            f"finetune.nb201_table is set but data.name {data_name!r} is no NB201 dataset; "
            f"set finetune.nb201_dataset to one of {', '.join(DATASETS)}"
        )
    check_choice("finetune.nb201_dataset", dataset, DATASETS)
    check_choice("finetune.nb201_field", ft.nb201_field, FIELDS)
    return BenchmarkLookup(NB201AccuracyTable.load(ft.nb201_table), dataset, ft.nb201_field)
