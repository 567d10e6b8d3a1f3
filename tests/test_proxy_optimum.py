"""benchmarks/proxy_optimum.py: the feasible arch with the highest fitness over a whole table, and its regret."""

from __future__ import annotations

import csv
import gzip
import json
import sys

import numpy as np

from tests.conftest import REPO, shared_file

sys.path.insert(0, str(REPO / "benchmarks"))
import proxy_optimum  # noqa: E402


def test_a_table_that_is_the_accuracy_has_no_regret(tmp_path) -> None:
    shared_file("nas-bench-201", "nb201_accuracy_cost.csv.gz")
    shared_file("hw-nas-bench", "nb201_hw_metrics.csv.gz")
    from _common import ACC_TABLE

    from lightning_nas.tables.nb201_accuracy import NB201AccuracyTable

    acc = NB201AccuracyTable.load(ACC_TABLE).column("cifar10", "test_acc")
    table = tmp_path / "rmi_exact.csv.gz"
    with gzip.open(table, "wt", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["arch_index", "rmi"])
        writer.writerows([i, float(np.nan_to_num(a, nan=-1.0))] for i, a in enumerate(acc))
    out = tmp_path / "out"
    assert proxy_optimum.main(["--table", str(table), "--weights", "0,1000", "--out", str(out)]) == 0
    with open(out / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6 * 3 * 2
    exact = [r for r in rows if float(r["capacity_weight"]) == 0]
    assert all(float(r["proxy_optimum_regret_pp"]) == 0.0 for r in exact)
    flops_only = [r for r in rows if float(r["capacity_weight"]) == 1000]  # the FLOPs term swamps the score (ties: accuracy)
    assert all(float(r["proxy_optimum_regret_pp"]) <= float(r["max_flops_regret_pp"]) + 1e-9 for r in flops_only)
    assert any(float(r["proxy_optimum_regret_pp"]) > 0 for r in flops_only)
    assert json.loads((out / "config.json").read_text())["weights"] == [0.0, 1000.0]
