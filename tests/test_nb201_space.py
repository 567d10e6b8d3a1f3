"""NAS-Bench-201 specifics: arch strings, the index order, FLOPs/params equal to the benchmark's."""

from __future__ import annotations

import csv
import gzip
import random

import pytest
import torch
from torch import nn

from lightning_nas.errors import ConfigError
from lightning_nas.spaces.nb201.space import (
    NB201Space,
    from_arch_str,
    from_ops_digits,
    genotype_of_index,
    nb201_index,
    to_arch_str,
)
from tests.conftest import shared_file

BEST_C10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


@pytest.fixture(scope="module")
def table() -> list[dict[str, str]]:
    path = shared_file("nas-bench-201", "nb201_accuracy_cost.csv.gz")
    with gzip.open(path, "rt") as f:
        return list(csv.DictReader(f))


def test_arch_string_round_trip_and_index_over_all_15625(table):
    space = NB201Space()
    assert len(table) == 15625
    for row in table:
        g = from_ops_digits(row["ops"])
        assert to_arch_str(g) == row["arch_str"]
        assert from_arch_str(row["arch_str"]) == g
        assert nb201_index(g) == int(row["arch_index"])
        assert space.key(g) == row["arch_str"]
    assert len({tuple(g) for g in NB201Space().enumerate()}) == 15625
    assert nb201_index(from_arch_str(BEST_C10)) == 6111


@pytest.mark.parametrize("dataset,classes,res", [("cifar10", 10, 32), ("cifar100", 100, 32), ("ImageNet16-120", 120, 16)])
def test_flops_and_params_equal_the_benchmark_for_every_arch(table, dataset, classes, res):
    space = NB201Space(num_classes=classes, resolution=res)
    for row in table:
        flops, params = space.complexity(from_ops_digits(row["ops"]))
        assert flops == pytest.approx(float(row[f"{dataset}.flops_M"]), abs=1e-9)
        assert params == pytest.approx(float(row[f"{dataset}.params_M"]), abs=1e-9)


def count_by_hooks(model: nn.Module, res: int) -> tuple[int, int]:
    """MACs of Conv2d/Linear (plus bias) measured with forward hooks on the built network."""
    total = 0

    def hook(m: nn.Module, _i: object, out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(m, nn.Conv2d):
            total += out[0].numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
        else:
            total += m.in_features * m.out_features + (m.out_features if m.bias is not None else 0)

    for m in model.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            m.register_forward_hook(hook)
    model.eval()(torch.zeros(1, 3, res, res))
    return total, sum(p.numel() for p in model.parameters())


def test_built_network_matches_the_analytic_count():
    space = NB201Space()
    for idx in (0, 6111, 9930, 11472):
        g = genotype_of_index(idx)
        flops, params = count_by_hooks(space.to_module(g, proxy=False), 32)
        assert (flops / 1e6, params / 1e6) == pytest.approx(space.complexity(g), abs=1e-9)


def test_full_size_taps_are_cell_4_cell_10_and_lastact():
    space = NB201Space(C=16, N=5)
    g = from_arch_str(BEST_C10)
    assert space.tap_names(g) == ["cells.4", "cells.10", "lastact"]
    from lightning_nas.rmi.taps import FeatureTaps

    _, feats = FeatureTaps(space.to_module(g), space.tap_names(g))(torch.randn(2, 3, 32, 32))
    assert [tuple(f.shape[1:]) for f in feats] == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]


def test_mutation_changes_an_edge_to_a_different_op():
    space = NB201Space()
    rng = random.Random(0)
    g = space.sample(rng)
    assert all(a != b for a, b in zip(g, space.mutate(g, rng, 1.0), strict=True))


@pytest.mark.parametrize(
    "bad",
    ["", "|nor_conv_3x3~0|", "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|"],
)
def test_bad_arch_strings_give_one_line_errors(bad):
    with pytest.raises(ConfigError) as err:
        NB201Space().parse(bad)
    assert "\n" not in str(err.value) and repr(bad) in str(err.value)


def test_bad_genotype_json_and_index():
    with pytest.raises(ConfigError, match="invalid NB201 genotype"):
        NB201Space().parse("[1, 2, 9, 0, 0, 0]")
    with pytest.raises(ConfigError, match="out of range"):
        genotype_of_index(15625)
