"""NB201 accuracy table look-ups (against ../shared/data/README.md), the official-file loader through a
fake nas_201_api, the NB201-indexed CSV reader both benchmark tables share (on tiny files made here), and
the oracle: constrained optimum, regret, feasibility."""

from __future__ import annotations

import csv
import gzip
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from lightning_nas.errors import ConfigError
from lightning_nas.spaces.nb201.space import genotype_of_index, to_arch_str
from lightning_nas.tables.nb201_accuracy import FIELDS, NB201AccuracyTable
from lightning_nas.tables.nb201_csv import N_ARCHS, read_nb201_csv
from lightning_nas.tables.oracle import NB201Oracle, constrained_optimum, feasible_mask, regret
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def table() -> NB201AccuracyTable:
    return NB201AccuracyTable.load(shared_file("nas-bench-201", "nb201_accuracy_cost.csv.gz"))


@pytest.mark.parametrize(
    ("index", "dataset", "valid", "test", "flops", "params"),
    [
        (0, "cifar10", 81.9827, 85.8633, 15.64737, 0.129306),
        (11, "cifar100", 67.4533, 67.6067, 113.95722, 0.808276),
        (284, "ImageNet16-120", 33.4000, 32.4667, 2.93644, 0.108456),
    ],
)
def test_lookups_match_the_readme(table, index, dataset, valid, test, flops, params) -> None:
    g = genotype_of_index(index)
    assert table.get(g, dataset, "valid_acc") == pytest.approx(valid, abs=1e-4)
    assert table.get(g, dataset, "test_acc") == pytest.approx(test, abs=1e-4)
    assert table.get(g, dataset, "flops_M") == pytest.approx(flops, abs=1e-5)
    assert table.get(g, dataset, "params_M") == pytest.approx(params, abs=1e-6)


def test_best_cifar10_architecture_is_6111(table) -> None:
    oracle = NB201Oracle(table, "cifar10", table.column("cifar10", "flops_M"))
    best = oracle.optimum(math.inf)
    assert table.get(best.arch_str, "cifar10") == best.accuracy  # look-up by arch string
    assert (best.index, round(best.accuracy, 4), best.feasible_count) == (6111, 94.3733, N_ARCHS)
    assert oracle.optimum(best.cost).index == 6111  # a budget equal to the cost is feasible
    tighter = oracle.optimum(best.cost - 1e-6)
    assert tighter.index != 6111 and tighter.accuracy < best.accuracy and tighter.cost < best.cost


def test_bad_dataset_or_field_names_the_choices(table) -> None:
    with pytest.raises(ConfigError, match="valid: cifar10, cifar100, ImageNet16-120"):
        table.get(genotype_of_index(0), "cifar1000")
    with pytest.raises(ConfigError, match="unknown NB201 table field"):
        table.column("cifar10", "accuracy")


def _arrays(values: dict[int, tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and cost arrays with only the given (index: (acc, cost)) entries set."""
    acc, cost = np.full(N_ARCHS, np.nan), np.full(N_ARCHS, np.nan)
    for i, (a, c) in values.items():
        acc[i], cost[i] = a, c
    return acc, cost


def test_constrained_optimum_hand_checked() -> None:
    acc, cost = _arrays(
        {1: (90.0, 5.0), 2: (93.0, 10.0), 3: (91.0, 4.0), 4: (93.0, 8.0), 5: (99.0, math.nan)}
    )
    assert constrained_optimum(acc, cost, 4.0).index == 3  # only arch 3 fits
    assert constrained_optimum(acc, cost, 7.0).index == 3  # 3 (91) beats 1 (90)
    opt = constrained_optimum(acc, cost, 100.0)  # 2 and 4 tie at 93: the cheaper one
    assert (opt.index, opt.accuracy, opt.cost, opt.feasible_count) == (4, 93.0, 8.0, 4)
    assert opt.arch_str == to_arch_str(genotype_of_index(4))
    with pytest.raises(ConfigError, match="no NAS-Bench-201 architecture has cost <= 3"):
        constrained_optimum(acc, cost, 3.0)
    assert not feasible_mask(cost, math.inf)[5], "a missing cost is never feasible"


def test_regret_and_feasibility_of_a_found_arch() -> None:
    acc, cost = _arrays({1: (90.0, 5.0), 2: (93.0, 10.0), 3: (91.0, 4.0)})
    table = NB201AccuracyTable({("cifar10", "test_acc"): acc}, "synthetic")
    oracle = NB201Oracle(table, "cifar10", cost)
    found = oracle.judge(genotype_of_index(1), 6.0)
    assert (found.feasible, found.optimum, found.regret_pp) == (True, 91.0, 1.0)
    over = oracle.judge(genotype_of_index(2), 6.0)
    assert not over.feasible and over.regret_pp == -2.0  # infeasible finds may "beat" the optimum
    assert regret(94.37, 94.37) == 0.0
    assert oracle.top_k(100.0, 2) == [2, 3]
    assert oracle.percentile_budget(50) == 5.0


class _FakeAPI:
    """Just what NB201AccuracyTable._from_official calls, with values derived from the index."""

    def __init__(self, path: str, verbose: bool = False) -> None:
        self.meta_archs = [to_arch_str(genotype_of_index(i)) for i in range(N_ARCHS)]

    def get_more_info(
        self, index: int, dataset: str, iepoch: object, hp: str, is_random: bool
    ) -> dict[str, float]:
        assert (iepoch, hp, is_random) == (None, "200", False), "200-epoch results, averaged over seeds"
        offset = {"cifar10-valid": 0.1, "cifar10": 0.2, "cifar100": 0.3, "ImageNet16-120": 0.4}[dataset]
        return {"valid-accuracy": index / 1000 + offset, "test-accuracy": index / 1000 + offset + 10}

    def get_cost_info(self, index: int, dataset: str, hp: str) -> dict[str, float]:
        return {"flops": index / 100, "params": index / 10000, "latency": 0.0}


def test_official_file_through_a_fake_api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import nas_201_api

    monkeypatch.setattr(nas_201_api, "NASBench201API", _FakeAPI)
    path = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    path.write_bytes(b"")
    t = NB201AccuracyTable.load(path)
    g = genotype_of_index(123)
    assert t.get(g, "cifar10", "valid_acc") == pytest.approx(0.123 + 0.1)  # cifar10-valid's x-valid
    assert t.get(g, "cifar10", "test_acc") == pytest.approx(0.123 + 0.2 + 10)  # cifar10's ori-test
    assert t.get(g, "ImageNet16-120", "valid_acc") == pytest.approx(0.123 + 0.4)
    assert t.get(g, "cifar100", "flops_M") == pytest.approx(1.23)
    with pytest.raises(ConfigError, match="has no cifar10.test_acc_nats"):
        t.get(g, "cifar10", "test_acc_nats")


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _one_line_error(call: Callable[[], object], *needles: str) -> str:
    with pytest.raises(ConfigError) as err:
        call()
    message = str(err.value)
    assert "\n" not in message and all(n in message for n in needles), message
    return message


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_shared_reader_places_rows_by_index_and_reads_missing_values_as_nan(
    tmp_path: Path, suffix: str
) -> None:
    ops = lambda i: "".join(map(str, genotype_of_index(i)))  # noqa: E731
    header = ["arch_index", "ops", "cifar10.test_acc", "cifar10.flops_M", "cifar10.other", "nodot"]
    rows = [[7, ops(7), 91.5, "", 1, 2], [0, ops(0), -1, 15.5, 1, 2], [15624, ops(15624), 10, 0.0, 1, 2]]
    path = _write_csv(tmp_path / f"t{suffix}", header, rows)
    cols = read_nb201_csv(path, FIELDS, index_column="arch_index", what="test", expected="a test table")
    assert set(cols) == {("cifar10", "test_acc"), ("cifar10", "flops_M")}  # only the asked-for fields
    acc, flops = cols[("cifar10", "test_acc")], cols[("cifar10", "flops_M")]
    assert acc.shape == flops.shape == (N_ARCHS,) and acc.dtype == np.float64
    assert acc[7] == 91.5 and acc[15624] == 10.0 and math.isnan(acc[0])  # -1: the missing-value sentinel
    assert math.isnan(flops[7]) and flops[0] == 15.5 and flops[15624] == 0.0  # an empty cell; 0 is a value
    assert np.isnan(np.delete(acc, [7, 15624])).all()  # rows the file lacks
    positive = read_nb201_csv(path, FIELDS, index_column="arch_index", what="t", expected="t", positive=True)
    assert math.isnan(positive[("cifar10", "flops_M")][15624])  # with positive=True, <= 0 is missing too
    # keyed by arch string instead: the same placement
    by_str = _write_csv(
        tmp_path / f"s{suffix}",
        ["arch_str", "cifar10.test_acc"],
        [[to_arch_str(genotype_of_index(i)), i] for i in (3, 99)],
    )
    col = read_nb201_csv(by_str, FIELDS, index_column="arch_str", what="t", expected="t")[
        ("cifar10", "test_acc")
    ]
    assert (col[3], col[99]) == (3.0, 99.0) and np.isnan(col).sum() == N_ARCHS - 2


def test_shared_reader_errors_are_one_line_and_name_the_column(tmp_path: Path) -> None:
    no_index = _write_csv(tmp_path / "a.csv", ["arch_str", "cifar10.test_acc"], [["x", 1]])
    _one_line_error(
        lambda: read_nb201_csv(
            no_index, FIELDS, index_column="arch_index", what="t", expected="arch_index, <dataset>.<field>"
        ),
        "has no arch_index column",
        "a.csv",
    )
    only_c10 = _write_csv(tmp_path / "b.csv", ["arch_index", "cifar10.test_acc"], [[0, 1]])
    table = NB201AccuracyTable(
        read_nb201_csv(only_c10, FIELDS, index_column="arch_index", what="t", expected="t"), "b.csv"
    )
    _one_line_error(
        lambda: table.get(genotype_of_index(0), "cifar100", "test_acc"), "b.csv has no cifar100.test_acc"
    )
    _one_line_error(lambda: table.column("cifar10", "valid_acc"), "has no cifar10.valid_acc")
    bad_cell = _write_csv(tmp_path / "c.csv", ["arch_index", "cifar10.test_acc"], [[0, 1], [1, "n/a"]])
    _one_line_error(
        lambda: read_nb201_csv(bad_cell, FIELDS, index_column="arch_index", what="t", expected="t"),
        "line 3",
        "cifar10.test_acc",
        "'n/a'",
    )
    for index, needle in (("15625", "out of range"), ("seven", "bad arch_index 'seven'")):
        bad_index = _write_csv(tmp_path / "d.csv", ["arch_index", "cifar10.test_acc"], [[index, 1]])
        _one_line_error(
            lambda p=bad_index: read_nb201_csv(p, FIELDS, index_column="arch_index", what="t", expected="t"),
            needle,
        )
    wrong_ops = _write_csv(tmp_path / "e.csv", ["arch_index", "ops", "cifar10.test_acc"], [[0, "000000", 1]])
    _one_line_error(
        lambda: read_nb201_csv(wrong_ops, FIELDS, index_column="arch_index", what="t", expected="t"),
        "the ops column does not follow the NAS-Bench-201 index order",
    )
    (tmp_path / "f.csv.gz").write_bytes(b"not gzip")
    _one_line_error(lambda: NB201AccuracyTable.load(tmp_path / "f.csv.gz"), "cannot read NAS-Bench-201 CSV")
    _one_line_error(lambda: NB201AccuracyTable.load(no_index), "a.csv line 2: bad arch_str 'x'")
