"""Self-registration: names come from the provider modules, in their order, each registered once."""

from __future__ import annotations

import pytest

from lightning_nas.errors import ConfigError
from lightning_nas.registry import Registry


def test_lookup_imports_providers_and_lists_valid_names():
    reg: Registry = Registry("thing", providers=("json", "csv"))
    reg.register("b")(int)
    reg.register("a")(str)
    assert reg.get("a") is str and "b" in reg and "c" not in reg
    with pytest.raises(ConfigError, match=r"unknown thing 'c'; valid: b, a"):
        reg.get("c")


def test_a_name_registered_twice_is_a_bug():
    reg: Registry = Registry("thing")
    reg.register("x")(int)
    reg.register("x")(int)  # the same object again (a re-import) is harmless
    with pytest.raises(RuntimeError, match="registered twice"):
        reg.register("x")(float)


def test_cost_metrics_are_listed_in_provider_order():
    from lightning_nas.costs import cost_metrics

    names = cost_metrics()
    assert names[:2] == ("flops", "params") and names[-3:] == ("measured_latency", "ofa_latency", "local_latency")
    assert "edgegpu_energy" in names and len(names) == len(set(names)) == 15


def test_measured_latency_takes_warmup_and_repeats_from_the_config():
    from lightning_nas.config import CostConfig
    from lightning_nas.costs import build_cost_model
    from lightning_nas.spaces.nb201.space import NB201Space

    main = CostConfig(metric="measured_latency", budget=5.0, warmup=1, repeats=4).constraints()[0]
    model = build_cost_model(main, NB201Space(C=4, N=1, full_C=4, full_N=1), "cifar10", 32)
    assert (model.warmup, model.repeats) == (1, 4)
    with pytest.raises(ConfigError, match="cost.repeats >= 1, got 1 and 0"):
        build_cost_model(CostConfig(metric="measured_latency", budget=5.0, warmup=1, repeats=0), NB201Space(), "cifar10", 32)
