"""Cost models and the fitness: HW-NAS-Bench look-ups (CSV and the official pickle layout), FLOPs,
measured latency, the penalty."""

from __future__ import annotations

import logging
import math
import pickle

import numpy as np
import pytest

from lightning_nas.config import ConstraintConfig
from lightning_nas.costs import build_cost_model
from lightning_nas.costs.hw_nas_bench import METRICS, HWNASBenchCost, HWNASBenchTable
from lightning_nas.errors import ConfigError
from lightning_nas.search.fitness import feasible, fitness, penalty
from lightning_nas.spaces.nb201.space import NB201Space, genotype_of_index
from tests.conftest import shared_file

# Values printed in GATECH-EIC/HW-NAS-Bench example.ipynb (../shared/data/README.md §1).
OFFICIAL = {
    (0, "cifar10"): {
        "edgegpu_latency": 5.807418537139893, "edgegpu_energy": 24.226614330768584, "raspi4_latency": 10.481976820010459,
        "edgetpu_latency": 0.9571811309997429, "pixel3_latency": 3.6058499999999998, "eyeriss_latency": 3.645620000000001,
        "eyeriss_energy": 0.6872827644999999, "eyeriss_arithmetic_intensity": 6.289297634665844, "fpga_latency": 2.57296,
        "fpga_energy": 18.01072,
    },
    (1, "ImageNet16-120"): {"edgegpu_latency": 6.373348236083984, "pixel3_latency": 6.59465},
}  # fmt: skip


@pytest.fixture(scope="module")
def csv_table() -> HWNASBenchTable:
    return HWNASBenchTable.load(shared_file("hw-nas-bench", "nb201_hw_metrics.csv.gz"))


def test_csv_lookups_equal_the_official_values(csv_table):
    for (idx, ds), metrics in OFFICIAL.items():
        for metric, value in metrics.items():
            assert HWNASBenchCost(csv_table, ds, metric).cost(genotype_of_index(idx)) == value
    for ds in ("cifar10", "cifar100", "ImageNet16-120"):  # index 2 is present and positive everywhere
        assert HWNASBenchCost(csv_table, ds, "fpga_latency").cost(genotype_of_index(2)) > 0


def test_official_pickle_layout_reads_the_same_values(tmp_path, csv_table):
    data = {"nasbench201": {}}
    for ds in ("cifar10", "cifar100", "ImageNet16-120"):
        data["nasbench201"][ds] = {
            m: [(-1.0 if math.isnan(v) else float(v)) for v in csv_table.get(ds, m)] for m in METRICS
        }
    path = tmp_path / "HW-NAS-Bench-v1_0.pickle"
    with open(path, "wb") as f:
        pickle.dump(data, f)
    table = HWNASBenchTable.load(path)
    for (idx, ds), metrics in OFFICIAL.items():
        for metric, value in metrics.items():
            assert HWNASBenchCost(table, ds, metric).cost(genotype_of_index(idx)) == value
    assert math.isnan(table.get("cifar10", "edgetpu_latency")[[i for i in range(15625) if math.isnan(csv_table.get("cifar10", "edgetpu_latency")[i])][0]])


def test_missing_edgetpu_latency_is_infeasible_with_a_warning(csv_table, caplog):
    col = csv_table.get("cifar10", "edgetpu_latency")
    missing = [i for i in range(15625) if math.isnan(col[i])]
    assert len(missing) == 4699
    model = HWNASBenchCost(csv_table, "cifar10", "edgetpu_latency")
    with caplog.at_level(logging.WARNING):
        value = model.cost(genotype_of_index(missing[0]))
    assert math.isnan(value) and "treated as infeasible" in caplog.text
    assert penalty(value, 10.0) == -math.inf
    assert not feasible([value], [1e9])
    assert fitness(3.0, [value], [1e9]) == -math.inf


def test_build_cost_model_validates_inputs(tmp_path, csv_table):
    space = NB201Space()
    csv_path = str(shared_file("hw-nas-bench", "nb201_hw_metrics.csv.gz"))
    model = build_cost_model(ConstraintConfig("pixel3_latency", 4.0, table=csv_path), space, "cifar10", 32)
    assert model.unit == "ms" and model.minimum() == np.nanmin(csv_table.get("cifar10", "pixel3_latency")) > 0
    with pytest.raises(ConfigError, match="unknown cost metric 'pixel4_latency'; valid: flops"):
        build_cost_model(ConstraintConfig("pixel4_latency", 4.0), space, "cifar10", 32)
    with pytest.raises(ConfigError, match="needs cost.table"):
        build_cost_model(ConstraintConfig("pixel3_latency", 4.0), space, "cifar10", 32)
    with pytest.raises(ConfigError, match="budget must be > 0"):
        build_cost_model(ConstraintConfig("flops", 0.0), space, "cifar10", 32)
    with pytest.raises(ConfigError, match="unknown HW-NAS-Bench dataset 'svhn'"):
        build_cost_model(ConstraintConfig("pixel3_latency", 4.0, table=csv_path, dataset="svhn"), space, "cifar10", 32)
    with pytest.raises(ConfigError, match="set cost.dataset"):
        build_cost_model(ConstraintConfig("pixel3_latency", 4.0, table=csv_path), space, "digits", 16)
    with pytest.raises(ConfigError, match="not found"):
        build_cost_model(ConstraintConfig("pixel3_latency", 4.0, table=str(tmp_path / "x.pickle")), space, "cifar10", 32)


def test_flops_and_params_costs():
    space = NB201Space()
    g = genotype_of_index(0)
    assert build_cost_model(ConstraintConfig("flops", 1.0), space, "cifar10", 32).cost(g) == pytest.approx(15.64737)
    params = build_cost_model(ConstraintConfig("params", 1.0), space, "cifar10", 32)
    assert params.cost(g) == pytest.approx(0.129306) and params.unit == "M params"
    assert params.minimum() == pytest.approx(min(space.complexity(x)[1] for x in space.enumerate()))


def test_measured_latency_is_positive_and_measured_once_per_architecture(monkeypatch):
    space = NB201Space(resolution=16, full_C=4, full_N=1)
    model = build_cost_model(ConstraintConfig("measured_latency", 5.0, warmup=1, repeats=3), space, "digits", 16)
    assert (model.warmup, model.repeats, model.unit) == (1, 3, "ms")  # the config keys reach the model
    measured = []
    real_measure = model.measure
    monkeypatch.setattr(model, "measure", lambda g: measured.append(g) or real_measure(g))
    g, other = genotype_of_index(0), genotype_of_index(1)
    first = model.cost(g)
    assert first > 0 and model.cost(g) == first and measured == [g]  # the second look-up is not re-timed
    assert model.cost(other) > 0 and measured == [g, other]


def test_penalty_and_fitness():
    assert penalty(3.0, 4.0) == 0.0
    assert penalty(4.0, 4.0) == 0.0
    assert penalty(5.5, 4.0) == pytest.approx(-1.5)
    assert penalty(6.0, 4.0, normalized=True) == pytest.approx(-0.5)
    # several constraints: the penalties add up
    assert fitness(2.5, [5.0, 30.0], [4.0, 20.0]) == pytest.approx(2.5 - 1.0 - 10.0)
    assert feasible([3.0, 19.0], [4.0, 20.0]) and not feasible([3.0, 21.0], [4.0, 20.0])
