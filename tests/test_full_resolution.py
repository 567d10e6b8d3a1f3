"""`space.full_resolution`: a proxy that reads the data at a lower resolution keeps NAS-Bench-201's FLOPs
(counted at 32) for its costs and budgets; the proxy network and its score key do not change."""

from __future__ import annotations

import pytest

from lightning_nas.errors import ConfigError
from lightning_nas.spaces.nb201.space import NB201Space, genotype_of_index


@pytest.mark.parametrize("index", [0, 100, 5000, 15624])
def test_full_resolution_counts_the_benchmark_flops(index: int) -> None:
    g = genotype_of_index(index)
    at_32 = NB201Space(resolution=32).complexity(g)
    at_16 = NB201Space(resolution=16, C=8, N=1)
    kept = NB201Space(resolution=16, C=8, N=1, full_resolution=32)
    assert kept.complexity(g) == at_32
    assert at_16.complexity(g)[0] < at_32[0] / 3  # the trap it avoids: a quarter of the benchmark's FLOPs
    assert kept.complexity(g)[1] == at_16.complexity(g)[1]  # params do not depend on the input size
    assert kept.proxy_signature() == at_16.proxy_signature()  # scores are keyed as before


def test_the_config_key_reaches_the_cost_model(tiny_cfg) -> None:
    from lightning_nas.pipeline import build_problem

    g = genotype_of_index(100)
    plain = build_problem(tiny_cfg("--cost.budget", "1000"))  # digits at 16 x 16
    kept = build_problem(tiny_cfg("--cost.budget", "1000", "--space.full_resolution", "32"))
    s = kept.space
    assert kept.costs(g)[0] == NB201Space(num_classes=s.num_classes, in_channels=s.in_channels, resolution=32).complexity(g)[0]
    assert plain.costs(g)[0] < kept.costs(g)[0] / 3


@pytest.mark.parametrize(("extra", "match"), [
    (["--space.full_resolution", "0"], r"space.full_resolution must be an integer >= 1, got 0"),
    (["--space.name", "ofa_mbv3", "--space.full_resolution", "32"], r"space.full_resolution 32 is for nb201"),
])  # fmt: skip
def test_bad_full_resolution_is_one_line(tiny_cfg, extra, match) -> None:
    from lightning_nas.pipeline import build_problem

    with pytest.raises(ConfigError, match=match):
        build_problem(tiny_cfg(*extra))


def test_the_fast_cpu_overlay_keeps_the_papers_costs() -> None:
    from lightning_nas.config import parse_config
    from lightning_nas.pipeline import build_problem
    from tests.conftest import REPO

    paper = ["--config", str(REPO / "configs" / "nb201_cifar10.yaml"), "--reference.checkpoint", "null"]
    fast_cfg, _ = parse_config([*paper, "--config", str(REPO / "configs" / "fast_cpu.yaml")])
    paper_cfg, _ = parse_config(paper)
    p = fast_cfg.proxy
    assert (p.steps, p.lr, fast_cfg.data.resolution, fast_cfg.probe.batch_size) == (10, 0.01, 16, 64)
    assert (fast_cfg.space.C, fast_cfg.space.N, fast_cfg.space.full_resolution) == (8, 1, 32)
    assert fast_cfg.search == paper_cfg.search and fast_cfg.cost == paper_cfg.cost
    fast, slow = build_problem(fast_cfg), build_problem(paper_cfg)
    g = genotype_of_index(1234)
    assert fast.costs(g) == slow.costs(g)  # the same FLOPs, so the same budget means the same thing
