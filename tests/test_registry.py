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
    assert names[:2] == ("flops", "params") and names[-2:] == ("measured_latency", "ofa_latency")
    assert "edgegpu_energy" in names and len(names) == len(set(names)) == 14
