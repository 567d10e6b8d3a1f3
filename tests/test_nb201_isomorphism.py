"""NB201 isomorphism classes: NAS-Bench-201's 6,466, the symmetries behind them, and cells of one class
computing the same outputs."""

from __future__ import annotations

import itertools
import random

import pytest
import torch
from torch import nn

from lightning_nas.errors import ConfigError
from lightning_nas.spaces.nb201 import isomorphism as iso
from lightning_nas.spaces.nb201.network import EDGES, OPS, Cell
from lightning_nas.spaces.nb201.space import NB201Space, from_arch_str, genotype_of_index, nb201_index

BEST_C10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
NONE, SKIP, CONV1, CONV3, POOL = range(5)
PARAMETER_FREE = [g for g in itertools.product((NONE, SKIP, POOL), repeat=6)]


def arch(n1: str, n2: str, n3: str) -> str:
    """`arch("skip", "none none", "none conv3 none")` -> an NB201 arch string."""
    names = {"none": "none", "skip": "skip_connect", "conv1": "nor_conv_1x1", "conv3": "nor_conv_3x3"}
    names["pool"] = "avg_pool_3x3"
    nodes = [[names[op] for op in part.split()] for part in (n1, n2, n3)]
    return "+".join("|" + "|".join(f"{op}~{src}" for src, op in enumerate(ops)) + "|" for ops in nodes)


def test_class_counts_over_the_whole_space():
    counts = {}
    for definition in iso.DEFINITIONS:
        groups = iso.classes(definition=definition)
        indices = sorted(i for members in groups.values() for i in members)
        assert indices == list(range(15625))
        assert all(members == sorted(members) for members in groups.values())
        counts[definition] = len(groups)
    # 6,466 is the count the NAS-Bench-201 paper reports; the other two apply the symmetries exactly.
    assert counts == {"nb201": 6466, "function": 4930, "linear": 4660}
    assert iso.classes(NB201Space(), "nb201") == iso.classes(None, "nb201")


def test_finer_definitions_refine_coarser_ones():
    """Every nb201 class lies inside one function class, every function class inside one linear class:
    NB201's definition never merges cells the symmetries keep apart."""
    for fine, coarse in (("nb201", "function"), ("function", "linear")):
        for members in iso.classes(definition=fine).values():
            assert len({iso.canonical(genotype_of_index(i), coarse) for i in members}) == 1


def test_nb201_strings_follow_the_reference_construction():
    assert iso.canonical(arch("none", "none none", "conv3 none none")) == "#+#+(0)@nor_conv_3x3"
    assert iso.canonical(arch("none", "none none", "none none none")) == "#+#+#"
    assert iso.canonical(BEST_C10) == (
        "(((0)@nor_conv_3x3)@nor_conv_3x3+(0)@nor_conv_3x3)@nor_conv_1x1+((0)@nor_conv_3x3)@nor_conv_3x3+0"
    )
    assert iso.canonical(arch("none", "none none", "conv3 none none"), "function") == "nor_conv_3x3(x)"
    genotype = from_arch_str(BEST_C10)
    assert iso.canonical(genotype) == iso.canonical(list(genotype)) == iso.canonical(BEST_C10)


def test_cells_with_nothing_into_node_3_are_one_zero_class():
    zero_cells = [g for g in NB201Space().enumerate() if g[3:] == (NONE, NONE, NONE)]
    assert len(zero_cells) == 125
    for definition in iso.DEFINITIONS:
        assert len({iso.canonical(g, definition) for g in zero_cells}) == 1
    assert iso.canonical(zero_cells[0], "function") == iso.ZERO
    # Zero also when the only edges into node 3 come from nodes the input never reaches.
    dead = arch("none", "none none", "none conv3 pool")
    assert iso.canonical(dead, "function") == iso.ZERO
    assert iso.representative(dead, "function") == iso.representative(zero_cells[0], "function")


def test_swapping_the_two_intermediate_paths_gives_the_same_string():
    a = arch("conv3", "conv1 none", "none pool conv1")
    b = arch("conv1", "conv3 none", "none conv1 pool")
    c = arch("conv3", "conv1 none", "none skip skip")
    d = arch("conv1", "conv3 none", "none skip skip")
    for definition in ("function", "linear"):
        assert iso.canonical(a, definition) == iso.canonical(b, definition)
        assert iso.canonical(a, definition) == "avg_pool_3x3(nor_conv_3x3(x))+nor_conv_1x1(nor_conv_1x1(x))"
        assert (
            iso.canonical(c, definition) == iso.canonical(d, definition) == "nor_conv_1x1(x)+nor_conv_3x3(x)"
        )
    # NB201's string keeps node 2's zero term (its edge from node 1 is `none`), so node 2 never looks
    # like node 1 and the swap is not recognised: one source of its larger count.
    assert iso.canonical(a) == "#+(#+(0)@nor_conv_1x1)@nor_conv_1x1+((0)@nor_conv_3x3)@avg_pool_3x3"
    assert iso.canonical(a) != iso.canonical(b) and iso.canonical(c) != iso.canonical(d)
    # The two paths are interchangeable also when they are the same op.
    same = [arch("conv3", f"conv3 {op}", "none skip skip") for op in ("none", "skip")]
    assert iso.canonical(same[0], "function") == "nor_conv_3x3(x)+nor_conv_3x3(x)"
    assert iso.canonical(same[1], "function") == "nor_conv_3x3(x)+nor_conv_3x3(x)+nor_conv_3x3(x)"


def test_skip_connect_chain_equals_the_direct_edge_where_it_should():
    direct = arch("none", "none none", "conv3 none none")
    via_1 = arch("skip", "none none", "none conv3 none")
    via_1_2 = arch("skip", "none skip", "none none conv3")
    via_2 = arch("none", "skip none", "none none conv3")
    for definition in iso.DEFINITIONS:
        assert iso.canonical(direct, definition) == iso.canonical(via_1, definition)
    # Through node 2 the op sees 'x + zero' (node 2 sums two edges, one of them `none`): NB201's
    # string keeps the zero term ('(#+0)@nor_conv_3x3'), the function definitions drop it.
    for cell in (via_1_2, via_2):
        assert iso.canonical(cell) == "#+#+(#+0)@nor_conv_3x3"
        assert iso.canonical(cell, "function") == iso.canonical(direct, "function") == "nor_conv_3x3(x)"
    # A skip chain is not the direct edge when the chain is also used elsewhere: x + x != x.
    doubled = arch("skip", "none none", "skip skip none")
    assert iso.canonical(doubled, "function") == "x+x" != iso.canonical(direct, "function")


def test_edges_off_every_path_do_not_matter():
    unused_node_1 = [
        arch(op, "skip none", "none none conv3") for op in ("none", "skip", "conv1", "conv3", "pool")
    ]
    for definition in iso.DEFINITIONS:
        assert len({iso.canonical(c, definition) for c in unused_node_1}) == 1
    # NB201 recognises a zero node 2 only as '#'; '#+#' stays, so an op on it is not dropped (6,466).
    unreached_2 = arch("none", "none conv3", "skip none conv3")
    just_skip = arch("none", "none none", "skip none none")
    assert iso.canonical(unreached_2) == "#+(#+#)@nor_conv_3x3+0" != iso.canonical(just_skip) == "#+#+0"
    assert iso.canonical(unreached_2, "function") == iso.canonical(just_skip, "function") == "x"


def test_representative_is_the_smallest_index_of_the_class():
    for definition in iso.DEFINITIONS:
        reps = iso.representatives(definition)
        groups = iso.classes(definition=definition)
        assert reps == {key: members[0] for key, members in groups.items()}
        assert list(reps.values()) == sorted(reps.values())
    assert iso.representative(BEST_C10) == 6111  # the best CIFAR-10 cell has no isomorphic twin in NB201
    rng = random.Random(0)
    for index in rng.sample(range(15625), 200):
        rep = iso.representative(index)
        assert rep <= index and iso.representative(rep) == rep
        assert iso.canonical(genotype_of_index(rep)) == iso.canonical(genotype_of_index(index))
        assert iso.representative(index, "linear") <= iso.representative(index, "function") <= rep


def test_classes_of_a_subset():
    cells = [
        BEST_C10,
        arch("none", "none none", "conv3 none none"),
        arch("skip", "none none", "none conv3 none"),
    ]
    cells.append(from_arch_str(cells[1]))  # the same cell again, as a genotype
    groups = iso.classes(cells)
    assert groups == {
        "#+#+(0)@nor_conv_3x3": sorted(nb201_index(from_arch_str(c)) for c in cells[1:3]),
        iso.canonical(BEST_C10): [6111],
    }
    assert [m[0] for m in groups.values()] == sorted(m[0] for m in groups.values())


def test_bad_input_is_a_config_error():
    with pytest.raises(ConfigError, match="definition"):
        iso.canonical(BEST_C10, "graph")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="definition"):
        iso.classes(definition="graph")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        iso.canonical((1, 2, 3))
    with pytest.raises(ConfigError):
        iso.canonical("|nor_conv_3x3~0|")


# --- outputs: cells of one class compute the same function ------------------------------------------


def cell_output(genotype, x: torch.Tensor, templates: dict[int, nn.Module] | None = None) -> torch.Tensor:
    """Output of the NB201 cell on `x`; every conv edge of one op type gets that type's template weights."""
    cell = Cell(tuple(genotype), x.shape[1]).double().eval()
    for op, module in zip(genotype, cell.edges, strict=True):
        if templates is not None and op in templates:
            module.load_state_dict(templates[op].state_dict())
    with torch.no_grad():
        return cell(x)


def conv_templates(channels: int) -> dict[int, nn.Module]:
    """Random conv weights and BN scales per conv type; BN's bias and running mean stay 0, so an op on
    a zero input gives zero, the assumption of NB201 and of the function definitions."""
    torch.manual_seed(1)
    templates = {}
    for op in (CONV1, CONV3):
        module = Cell((op,) * 6, channels).double().edges[0]
        bn = module[2]
        bn.weight.data.uniform_(0.5, 1.5)
        bn.running_var.uniform_(0.5, 2.0)
        templates[op] = module
    return templates


@pytest.fixture(scope="module")
def x() -> torch.Tensor:
    return torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


@pytest.fixture(scope="module")
def parameter_free_outputs(x) -> dict[tuple[int, ...], torch.Tensor]:
    return {g: cell_output(g, x) for g in PARAMETER_FREE}


@pytest.mark.parametrize("definition", iso.DEFINITIONS)
def test_parameter_free_cells_of_one_class_give_equal_outputs(definition, parameter_free_outputs):
    groups: dict[str, list[tuple[int, ...]]] = {}
    for g in PARAMETER_FREE:
        groups.setdefault(iso.canonical(g, definition), []).append(g)
    # 729 cells: 127 nb201 classes (76 with several cells), 78 function (44), 48 linear (37).
    counts = {"nb201": (127, 76), "function": (78, 44), "linear": (48, 37)}
    assert (len(groups), sum(len(m) > 1 for m in groups.values())) == counts[definition]
    for members in groups.values():
        first = parameter_free_outputs[members[0]]
        for g in members[1:]:
            torch.testing.assert_close(parameter_free_outputs[g], first, rtol=1e-10, atol=1e-10)
    zero = [g for g in PARAMETER_FREE if not parameter_free_outputs[g].abs().max() > 0]
    if definition != "nb201":
        assert zero == groups[iso.ZERO]


def test_parameter_free_cells_of_different_linear_classes_give_different_outputs(parameter_free_outputs):
    groups: dict[str, tuple[int, ...]] = {}
    for g in PARAMETER_FREE:
        groups.setdefault(iso.canonical(g, "linear"), g)
    outputs = torch.stack([parameter_free_outputs[g].flatten() for g in groups.values()])
    distances = torch.cdist(outputs, outputs)
    distances.fill_diagonal_(float("inf"))
    assert len(groups) == 48
    assert distances.min() > 1e-3
    # Without pooling's linearity, "function" keeps apart cells whose outputs are equal, e.g.
    # pool(x + pool(x)) and pool(x) + pool(pool(x)):
    a = arch("skip", "skip pool", "none none pool")
    b = arch("pool", "none pool", "none skip skip")
    assert iso.canonical(a, "function") != iso.canonical(b, "function")
    assert iso.canonical(a, "linear") == iso.canonical(b, "linear")
    torch.testing.assert_close(
        parameter_free_outputs[from_arch_str(a)], parameter_free_outputs[from_arch_str(b)]
    )


@pytest.mark.parametrize("definition", iso.DEFINITIONS)
def test_cells_of_one_class_give_equal_outputs_with_the_same_weights(definition, x):
    """With one set of weights per conv type (so each op is one fixed function), cells of a class give
    equal outputs: 40 random classes with more than one member and conv ops, up to 4 members each."""
    templates = conv_templates(x.shape[1])
    rng = random.Random(2)
    groups = [
        members
        for members in iso.classes(definition=definition).values()
        if len(members) > 1 and any(op in (CONV1, CONV3) for op in genotype_of_index(members[0]))
    ]
    for members in rng.sample(groups, 40):
        cells = [genotype_of_index(i) for i in rng.sample(members, min(4, len(members)))]
        outputs = [cell_output(g, x, templates) for g in cells]
        for g, out in zip(cells[1:], outputs[1:], strict=True):
            torch.testing.assert_close(out, outputs[0], rtol=1e-9, atol=1e-9, msg=f"{cells[0]} vs {g}")
    # ... and the weights are not so special that cells of different classes agree: 30 random pairs.
    reps = list(iso.representatives(definition).values())
    for a, b in (rng.sample(reps, 2) for _ in range(30)):
        out_a, out_b = (cell_output(genotype_of_index(i), x, templates) for i in (a, b))
        assert not torch.allclose(out_a, out_b), (a, b)


def test_arch_shorthand_matches_the_edge_order():
    """Sanity for the helper above: the arch() shorthand and EDGES agree."""
    expected = (CONV3, CONV1, POOL, SKIP, NONE, CONV3)
    assert from_arch_str(arch("conv3", "conv1 pool", "skip none conv3")) == expected
    assert len(EDGES) == 6 and OPS[POOL] == "avg_pool_3x3"


def test_the_space_class_key_is_nb201s_isomorphism_class():
    from lightning_nas.spaces.nb201.space import NB201Space, from_arch_str

    space = NB201Space()
    a = from_arch_str("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
    b = from_arch_str("|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|none~1|none~2|")  # node 2 is dead
    assert space.key(a) != space.key(b) and space.class_key(a) == space.class_key(b)
