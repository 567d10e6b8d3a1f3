"""The contract every search space passes. Add a space by adding a factory to SPACE_FACTORIES."""

from __future__ import annotations

import json
import random
from collections.abc import Callable

import pytest
import torch

from lightning_nas.rmi.taps import FeatureTaps
from lightning_nas.spaces.base import SearchSpace


def nb201_small() -> SearchSpace:
    from lightning_nas.spaces.nb201.space import NB201Space

    return NB201Space(num_classes=7, in_channels=3, resolution=16, C=4, N=1)


def ofa_mbv3_small() -> SearchSpace:
    from lightning_nas.spaces.ofa_mbv3.space import OFAMobileNetV3Space

    # two resolutions exercise the input resize; r mutates with its own probability (OFA), 0 here
    return OFAMobileNetV3Space(num_classes=7, resolution=32, resolutions=(24, 32), resolution_mutate_prob=0.0)


SPACE_FACTORIES: dict[str, Callable[[], SearchSpace]] = {"nb201": nb201_small, "ofa_mbv3": ofa_mbv3_small}


@pytest.fixture(params=sorted(SPACE_FACTORIES))
def space(request: pytest.FixtureRequest) -> SearchSpace:
    return SPACE_FACTORIES[request.param]()


def samples(space: SearchSpace, n: int = 12, seed: int = 0) -> list:
    rng = random.Random(seed)
    return [space.sample(rng) for _ in range(n)]


def assert_valid(space: SearchSpace, genotype) -> None:
    hash(genotype)  # plain hashable data
    assert space.from_json(json.loads(json.dumps(space.to_json(genotype)))) == genotype
    assert isinstance(space.key(genotype), str) and space.key(genotype)


def test_implements_protocol(space):
    assert isinstance(space, SearchSpace)
    assert space.name


def test_sample_is_seeded_and_valid(space):
    a, b = samples(space, seed=3), samples(space, seed=3)
    assert a == b
    assert samples(space, seed=4) != a
    for g in a:
        assert_valid(space, g)


def test_mutate_is_seeded_valid_and_respects_rate(space):
    for g in samples(space):
        assert space.mutate(g, random.Random(0), 0.0) == g
        m1, m2 = space.mutate(g, random.Random(5), 1.0), space.mutate(g, random.Random(5), 1.0)
        assert m1 == m2
        assert_valid(space, m1)
        assert space.key(m1) != space.key(g)


def test_crossover_children_take_genes_from_parents(space):
    a, b = samples(space, 2, seed=1)
    c1, c2 = space.crossover(a, b, random.Random(0))
    assert (c1, c2) == space.crossover(a, b, random.Random(0))
    for child in (c1, c2):
        assert_valid(space, child)
    assert space.crossover(a, a, random.Random(0)) == (a, a)


def test_key_describe_parse_round_trip(space):
    for g in samples(space):
        assert space.parse(space.describe(g)) == g or space.key(space.parse(space.describe(g))) == space.key(g)
        assert space.parse(json.dumps(space.to_json(g))) == g


def test_module_forward_shapes_and_taps(space):
    g = samples(space, 1, seed=7)[0]
    torch.manual_seed(0)
    model = space.to_module(g, proxy=True)
    spec_classes = getattr(space, "num_classes", None)
    res = getattr(space, "resolution", 32)
    taps = space.tap_names(g)
    assert len(taps) == 3
    logits, feats = FeatureTaps(model, taps)(torch.randn(2, 3, res, res))
    assert logits.shape[0] == 2 and (spec_classes is None or logits.shape[1] == spec_classes)
    assert [f.shape[0] for f in feats] == [2, 2, 2]
    logits.sum().backward()


def test_complexity_is_positive_and_deterministic(space):
    for g in samples(space, 4):
        flops, params = space.complexity(g)
        assert flops > 0 and params > 0
        assert space.complexity(g) == (flops, params)


def test_taps_match_real_features(space):
    """`taps` names the compared layers with the shapes one forward pass really gives them."""
    g = samples(space, n=1, seed=5)[0]
    for proxy in (True, False):
        taps = space.taps(g, proxy=proxy)
        assert [t.name for t in taps] == space.tap_names(g, proxy=proxy)
        net = space.to_module(g, proxy=proxy).eval()
        _, feats = FeatureTaps(net, [t.name for t in taps])(torch.zeros(2, 3, space.resolution, space.resolution))
        assert [t.shape for t in taps] == [tuple(f.shape[1:]) for f in feats]


def test_proxy_signature_is_stable_and_json(space):
    """The score key's space part: JSON data that building networks does not change (a cached
    supernet or a lazily built table must never alter it)."""
    before = json.dumps(space.proxy_signature(), sort_keys=True)
    for g in samples(space, n=3, seed=6):
        space.to_module(g, proxy=True)
        space.to_module(g, proxy=False)
        space.taps(g)
    assert json.dumps(space.proxy_signature(), sort_keys=True) == before


def test_proxy_signature_follows_the_proxy_network(space):
    """Two spaces whose proxy networks differ have different signatures; full-size-only settings don't count."""
    from dataclasses import replace

    wider = {"nb201": {"C": space.C * 2} if hasattr(space, "C") else {}, "ofa_mbv3": {"width_mult": 1.2}}[space.name]
    assert replace(space, **wider).proxy_signature() != space.proxy_signature()
    full_only = {"nb201": {"full_C": 32, "full_N": 3}, "ofa_mbv3": {"resolution_mutate_prob": 0.5}}[space.name]
    assert replace(space, **full_only).proxy_signature() == space.proxy_signature()


def test_benchmark_fields(space):
    g = samples(space, n=1, seed=7)[0]
    fields = space.benchmark_fields(g)
    if space.benchmark is None:
        assert fields == {}
    else:
        from lightning_nas.spaces.nb201.space import genotype_of_index

        assert genotype_of_index(fields["nb201_index"]) == g
        assert fields["arch_str"] == space.describe(g)


def test_registry_builds_every_space_and_names_the_valid_ones():
    from types import SimpleNamespace

    from lightning_nas.config import SpaceConfig
    from lightning_nas.errors import ConfigError
    from lightning_nas.spaces import SPACE_TYPES, SPACES, build_space

    assert set(SPACES.names()) == set(SPACE_FACTORIES) == set(SPACE_TYPES.names())
    spec = SimpleNamespace(num_classes=7, in_channels=3, resolution=32)
    for name in SPACE_FACTORIES:
        assert build_space(SpaceConfig(name=name), spec).name == name
    with pytest.raises(ConfigError, match=r"unknown search space 'nope'; valid: .*nb201.*ofa_mbv3"):
        build_space(SpaceConfig(name="nope"), spec)


def test_cost_members(space):
    """The FLOPs unit names `complexity`'s first number; the cheapest member bounds every genotype, or the
    space is finite and a cost enumerates it."""
    assert isinstance(space.flops_unit, str) and space.flops_unit
    lower = space.min_complexity()
    if lower is None:
        assert space.enumerate() is not None
        return
    for g in samples(space, 6, seed=2):
        assert all(lo <= c for lo, c in zip(lower, space.complexity(g), strict=True))


def test_printing_and_table_members(space):
    g = samples(space, n=1, seed=8)[0]
    size = space.proxy_size()
    assert size and json.loads(json.dumps(size)) == size
    fields = space.table_fields(g)
    assert json.loads(json.dumps(fields)) == fields
    assert (fields == {}) == (space.benchmark_fields(g) == {})
    if space.benchmark is not None:
        assert fields["arch_index"] == space.benchmark_fields(g)["nb201_index"]


def test_gene_labels_read_stored_genotypes(space):
    """Labels come from a genotype as a run's files store it (its JSON); the order lists each label once."""
    genotypes = samples(space, n=4, seed=9)
    labels = [space.gene_labels(json.loads(json.dumps(space.to_json(g)))) for g in genotypes]
    assert all(ls and all(isinstance(x, str) for x in ls) for ls in labels)
    seen = {x for ls in labels for x in ls}
    order = space.label_order(seen)
    assert sorted(order) == sorted(seen) and len(order) == len(seen)


def test_latency_members(space):
    """Every genotype's operators are in the space's tables; the timed network runs on its input shape;
    the registered class rebuilds the space from its tables' shape."""
    from lightning_nas.spaces import SPACE_TYPES

    tables = space.latency_tables()
    keys = {t.resolution: {op.key for op in t.operators} for t in tables}
    for g in samples(space, n=4, seed=10):
        resolution, counts = space.latency_counts(g)
        assert counts and set(counts) <= keys[resolution] and min(counts.values()) >= 1
    net, shape = space.latency_network(g)
    with torch.no_grad():
        assert net.eval()(torch.zeros(1, *shape)).shape == (1, space.num_classes)
    rebuilt = SPACE_TYPES.get(space.name).from_latency_shape(tables[0].shape, sorted(keys))
    assert type(rebuilt) is type(space)
    assert {t.resolution: {op.key for op in t.operators} for t in rebuilt.latency_tables()} == keys


def test_class_key_groups_equal_networks_and_is_coarser_than_key(space):
    """Equal keys give equal class keys; the refine stage keeps one candidate per class."""
    genotypes = samples(space, seed=11)
    by_key = {space.key(g): space.class_key(g) for g in genotypes}
    for g in genotypes:
        assert isinstance(space.class_key(g), str) and space.class_key(g) == by_key[space.key(g)]
    assert len(set(by_key.values())) <= len(by_key)
