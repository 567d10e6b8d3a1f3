"""OFA MobileNetV3 specifics: FLOPs/params equal OFA's own counter, subnets build/train at small
resolution, the canonical key, the no-network `ofa` import, latency tables, the reference, a tiny search."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from lightning_nas.config import parse_config
from lightning_nas.costs import build_cost_model
from lightning_nas.costs.base import CostModel
from lightning_nas.costs.ofa_latency_table import OFALatencyTable, layer_keys
from lightning_nas.errors import ConfigError
from lightning_nas.reference.loader import build_architecture
from lightning_nas.rmi.taps import FeatureTaps
from lightning_nas.spaces.ofa_mbv3 import compat as ofa_compat
from lightning_nas.spaces.ofa_mbv3.arch import OFAGenotype
from lightning_nas.spaces.ofa_mbv3.space import OFAMobileNetV3Space, ResizeInput

REPO = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def small_space(**kw) -> OFAMobileNetV3Space:
    return OFAMobileNetV3Space(num_classes=10, resolution=32, **kw)


def genotype(ks: int | list[int], e: int | list[int], d: list[int], r: int) -> OFAGenotype:
    ks = [ks] * 20 if isinstance(ks, int) else ks
    e = [e] * 20 if isinstance(e, int) else e
    return OFAGenotype(tuple(ks), tuple(e), tuple(d), r)


@pytest.mark.parametrize(
    ("width_mult", "resolutions"),
    [(1.0, (224,)), (1.0, (32, 64)), (1.2, (48, 160))],
)
def test_flops_and_params_equal_ofa_counter(width_mult, resolutions):
    space = OFAMobileNetV3Space(num_classes=1000, resolution=max(resolutions), width_mult=width_mult, resolutions=resolutions)
    rng = random.Random(int(width_mult * 10) + len(resolutions))
    picks = [space.max_genotype(), space.sample(rng)] if 224 in resolutions else [space.min_genotype(), space.sample(rng), space.sample(rng)]
    for g in picks:
        net = space.subnet(g)
        flops, params = space.complexity(g)
        assert flops == ofa_compat.count_flops(net, g.r) / 1e6  # bit for bit, float32 sum included
        assert params == pytest.approx(sum(p.numel() for p in net.parameters()) / 1e6, abs=1e-12)


def test_min_complexity_is_the_smallest_subnet():
    space = small_space(resolutions=(24, 32))
    low = space.min_complexity()
    rng = random.Random(0)
    assert all(space.complexity(space.sample(rng))[0] >= low[0] for _ in range(200))
    assert space.complexity(space.max_genotype())[0] > low[0]


def test_sampled_subnets_build_forward_and_backward():
    space = small_space(resolutions=(24, 32))
    rng = random.Random(3)
    x = torch.randn(2, 3, 32, 32)
    for g in [space.sample(rng) for _ in range(3)] + [space.min_genotype()]:
        torch.manual_seed(0)
        net = space.to_module(g)
        assert isinstance(net, ResizeInput) == (g.r != 32)
        logits, feats = FeatureTaps(net, space.tap_names(g))(x)
        assert logits.shape == (2, 10)
        assert [f.shape[1] for f in feats] == [24, 80, 160]  # outputs of stages 1, 3, 5
        logits.sum().backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters() if p.requires_grad)


def test_proxy_network_init_follows_the_torch_seed():
    space = small_space()
    g = space.sample(random.Random(1))
    torch.manual_seed(5)
    a = space.to_module(g).state_dict()
    torch.manual_seed(5)
    b = space.to_module(g).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    torch.manual_seed(6)
    c = space.to_module(g).state_dict()
    assert not torch.equal(a["first_conv.conv.weight"], c["first_conv.conv.weight"])  # the seed matters


def test_taps_are_the_last_active_block_of_stages_1_3_5():
    space = small_space()
    assert space.tap_names(space.max_genotype()) == ["blocks.4", "blocks.12", "blocks.20"]  # RMI-NAS setting
    assert space.tap_names(genotype(3, 3, [2, 3, 4, 2, 3], 32)) == ["blocks.2", "blocks.9", "blocks.14"]


def test_key_ignores_inactive_genes_only():
    space = small_space()
    g = genotype(3, 4, [2, 3, 4, 2, 3], 32)
    ks, e = list(g.ks), list(g.e)
    ks[2], e[3], ks[15], e[19] = 7, 6, 5, 3  # blocks beyond their stage's depth
    twin = replace(g, ks=tuple(ks), e=tuple(e))
    assert twin != g and space.key(twin) == space.key(g)
    assert space.complexity(twin) == space.complexity(g)
    ks[0] = 7  # an active block
    assert space.key(replace(g, ks=tuple(ks))) != space.key(g)
    assert space.key(replace(g, r=24)) != space.key(g)
    parsed = space.parse(space.key(twin))
    assert space.key(parsed) == space.key(g)


def test_mutation_and_crossover_follow_ofa():
    space = small_space(resolutions=(24, 32), resolution_mutate_prob=1.0)
    g = space.sample(random.Random(0))
    only_r = [space.mutate(g, random.Random(s), 0.0) for s in range(20)]
    assert all((m.ks, m.e, m.d) == (g.ks, g.e, g.d) for m in only_r) and {m.r for m in only_r} == {24, 32}
    # a block's ks and e are resampled together: with rate 1 every block is redrawn
    m = replace(space, resolution_mutate_prob=0.0).mutate(g, random.Random(1), 1.0)
    assert m.r == g.r and m != g
    a, b = space.sample(random.Random(1)), space.sample(random.Random(2))
    c1, c2 = space.crossover(a, b, random.Random(0))
    for i in range(20):
        assert {c1.ks[i], c2.ks[i]} == {a.ks[i], b.ks[i]} and {c1.e[i], c2.e[i]} == {a.e[i], b.e[i]}
    assert c1 != a and c1 != b


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width_mult": 0.75}, "valid: 1.0, 1.2"),
        ({"kernel_sizes": (3, 9)}, "invalid space.kernel_sizes 9"),
        ({"depths": ()}, "space.depths"),
        ({"in_channels": 1}, "valid: 3"),
        ({"weights": "/nonexistent/ofa.pth"}, "not found"),
    ],
)
def test_bad_space_config_is_a_config_error(kwargs, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        small_space(**kwargs)


def test_parse_rejects_bad_genotypes():
    space = small_space()
    for text in ("r32:k3e4", "r32:k3e4|k3e4|k3e4|k3e4|k9e4", '{"ks": [3], "e": [3], "d": [2]}', "{bad json"):
        with pytest.raises(ConfigError):
            space.parse(text)
    with pytest.raises(ConfigError, match="resolution 64; valid: 32"):
        space.parse(json.dumps({**space.to_json(space.max_genotype()), "r": 64}))


def test_ofa_import_works_without_network():
    """In a fresh interpreter with sockets disabled: the wrapped import, a subnet, no download."""
    code = """
import socket
def refuse(*a, **k):
    raise RuntimeError("network access attempted")
socket.socket.connect = refuse
socket.create_connection = refuse
import torch
torch.set_num_threads(1)
from lightning_nas.errors import ConfigError
from lightning_nas.spaces.ofa_mbv3 import compat as ofa_compat
ofa = ofa_compat.ofa_modules()
import torch._six
assert torch._six.string_classes
import ofa.utils.my_dataloader.my_data_loader  # the module that imports torch._six
import ofa.utils
try:
    ofa.utils.download_url("https://example.com/x.pth")
except ConfigError as err:
    assert "never downloads" in str(err)
else:
    raise SystemExit("download_url was not blocked")
from ofa.nas.efficiency_predictor import latency_lookup_table as llt
assert llt.download_url is ofa.utils.download_url
net = ofa_compat.build_supernet(10)
net.set_max_net()
print(net.get_active_subnet(False).eval()(torch.randn(1, 3, 32, 32)).shape)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "torch.Size([1, 10])" in out.stdout


def write_table(path: Path, space: OFAMobileNetV3Space, genotypes: list[OFAGenotype], drop: str | None = None) -> dict:
    entries = {}
    for g in genotypes:
        for i, key in enumerate(layer_keys(g, space.width_mult, space.num_classes)):
            entries[key] = {"mean": 0.5 + i % 3, "std": 0.01, "count": 10}
    entries.pop(drop, None)
    import yaml

    path.write_text(yaml.safe_dump(entries))
    return entries


def test_latency_table_loads_and_sums_layers(tmp_path):
    space = small_space(resolutions=(24, 32))
    g32, g24 = genotype(5, 4, [2, 3, 4, 2, 3], 32), genotype(3, 6, [4, 4, 2, 2, 2], 24)
    (tmp_path / "lut").mkdir()
    entries = write_table(tmp_path / "lut" / "32_lookup_table.yaml", space, [g32])
    write_table(tmp_path / "lut" / "24_lookup_table.yaml", space, [g24])
    table = OFALatencyTable.load(tmp_path / "lut")
    assert sorted(table.tables) == [24, 32]
    expected = sum(entries[key]["mean"] for key in layer_keys(g32, 1.0, 10))
    assert table.latency(g32, 1.0, 10) == pytest.approx(expected)
    cfg = parse_config(["--cost.metric", "ofa_latency", "--cost.budget", "30", "--cost.table", str(tmp_path / "lut")])[0]
    model = build_cost_model(cfg.cost, space, "digits", 32)
    assert isinstance(model, CostModel) and model.unit == "ms"
    assert model.cost(g24) > 0 and model.cost(g32) == pytest.approx(expected)


def test_latency_table_errors_are_clear(tmp_path):
    space = small_space()
    g = genotype(5, 4, [2, 3, 4, 2, 3], 32)
    missing = layer_keys(g, 1.0, 10)[3]
    write_table(tmp_path / "t.yaml", space, [g], drop=missing)
    table = OFALatencyTable.load(tmp_path / "t.yaml")
    with pytest.raises(ConfigError, match="has no entry 'expanded_conv-input:"):
        table.latency(g, 1.0, 10)
    with pytest.raises(ConfigError, match="no OFA latency table for resolution 24; tables cover: 32"):
        table.latency(replace(g, r=24), 1.0, 10)
    (tmp_path / "evil.yaml").write_text("!!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        OFALatencyTable.load(tmp_path / "evil.yaml")
    with pytest.raises(ConfigError, match="not found"):
        OFALatencyTable.load(tmp_path / "nope.yaml")
    cfg = parse_config(["--cost.metric", "ofa_latency"])[0]
    with pytest.raises(ConfigError, match="needs cost.table"):
        build_cost_model(cfg.cost, space, "digits", 32)


def test_reference_is_the_largest_subnet_with_user_weights(tmp_path):
    torch.manual_seed(0)
    supernet = ofa_compat.build_supernet(10)
    torch.save({"state_dict": supernet.state_dict()}, tmp_path / "ofa_supernet.pth")
    ref = build_architecture("ofa_mbv3_max", {"weights": str(tmp_path / "ofa_supernet.pth")}, 10, 3)
    supernet.set_max_net()
    expected = supernet.get_active_subnet(preserve_weight=True)
    assert all(torch.equal(v, expected.state_dict()[k]) for k, v in ref.state_dict().items())
    _, feats = FeatureTaps(ref, ["blocks.4", "blocks.12", "blocks.20"])(torch.randn(2, 3, 32, 32))
    assert [f.shape[1] for f in feats] == [24, 80, 160]
    # the full-size network of a found subnet inherits the same weights; the proxy one does not
    space = small_space(weights=str(tmp_path / "ofa_supernet.pth"))
    g = genotype(5, 4, [2, 3, 4, 2, 3], 32)
    supernet.set_active_subnet(ks=list(g.ks), e=list(g.e), d=list(g.d))
    inherited = supernet.get_active_subnet(preserve_weight=True).state_dict()
    full = space.to_module(g, proxy=False).state_dict()
    assert all(torch.equal(v, inherited[k]) for k, v in full.items())
    assert not torch.equal(space.to_module(g, proxy=True).state_dict()["first_conv.conv.weight"], inherited["first_conv.conv.weight"])
    with pytest.raises(ConfigError, match="unknown reference.init_args key 'depth'"):
        build_architecture("ofa_mbv3_max", {"depth": 3}, 10, 3)


def test_tiny_search_in_the_ofa_space(tmp_path):
    from lightning_nas.search.engine import Search

    cfg, _ = parse_config(
        [
            "--config", str(REPO / "configs" / "ofa_tiny.yaml"),
            "--reference.cache_dir", str(tmp_path / "cache"),
            "--runs_root", str(tmp_path / "runs"),
            "--tb_logs", str(tmp_path / "tb"),
        ]  # fmt: skip
    )
    results = Search(cfg, callbacks=[]).run()
    space = OFAMobileNetV3Space(num_classes=10, resolution=16)
    best = space.from_json(results["best"]["genotype"])
    assert results["cost_metric"] == "flops" and results["budget"] == 4.0
    assert results["best"]["cost"] == space.complexity(best)[0]
    assert results["generations"] == 2 and results["evaluations"] == 8
    assert results["best"]["key"] == space.key(best)
