"""NAS-Bench-201 isomorphism classes: cells that compute the same function get one canonical string.

Three definitions, from finest to coarsest (class counts over all 15,625 cells):

``"nb201"`` (6,466, the number the NAS-Bench-201 paper reports): the partition NB201's own code uses
    (``CellStructure.to_unique_str(consider_zero=True)`` in xautodl / AutoDL-Projects), reproduced
    here string for string. Node 0 is ``"0"``; an edge gives ``"#"`` (zero) when its op is ``none``
    or its input node's string is exactly ``"#"``, its input's string for ``skip_connect``, and
    ``"(<input>)@<op>"`` otherwise; a node is its edges' strings sorted and joined by ``+``. Three
    artefacts of that construction keep cells apart that compute the same function, which is why it
    counts more classes than the symmetries alone give:

    * zero terms stay in a sum, so a sum that is nested under an op differs from the same sum without
      them: ``(#+0)@nor_conv_3x3`` (node 2 = 0 + x) is not ``(0)@nor_conv_3x3`` (node 1 = x);
    * only a single ``"#"`` counts as zero, so node 2 with both inputs zero (``"#+#"``) is not
      recognised as zero: ``(#+#)@avg_pool_3x3`` and a ``skip_connect`` from it stay in the string;
    * ``skip_connect`` from a node inserts that node's whole sum as one item before sorting, so
      ``(a+b)+c`` and ``a+(b+c)`` can sort differently (the sum is treated as commutative but not
      associative).

    It never merges cells that compute different functions: every "nb201" class lies inside one
    "function" class (checked over the whole space in the tests).

``"function"`` (4,930): exactly the symmetries of the cell as a computation, with ``nor_conv(zero) =
    zero``, the same assumption NB201's code makes when it turns an op on a ``"#"`` input into ``"#"``.
    Edges with ``none`` drop out; a node with no non-zero input is zero and every op of zero is zero,
    so nodes not reached from the input or not reaching the output contribute nothing;
    ``skip_connect`` is the identity; sums are commutative and associative (a node is the sorted
    multiset of its terms, nested sums flattened). ``nor_conv(zero) = zero`` holds for the network as
    built (ReLU(0) = 0, the conv has no bias, BatchNorm's shift starts at 0), and keeps holding in
    evaluation as long as BatchNorm's bias and running mean stay 0; after training, a ReLU-Conv-BN
    edge fed by a zero node outputs BatchNorm's learnt bias, a constant, so strictly these cells are
    "the same up to a learnt constant". NB201 ignores this and so does this definition.

``"linear"`` (4,660): ``"function"`` plus the linearity of ``avg_pool_3x3`` (average pooling is a
    linear map, so ``avg_pool(a + b) = avg_pool(a) + avg_pool(b)``). Each term becomes a chain of
    pools applied to ``x`` or to one ``nor_conv``; for cells of only ``none``/``skip_connect``/
    ``avg_pool_3x3`` the string is then a polynomial in the pooling operator, and two such cells give
    equal outputs exactly when their strings are equal.

``classes`` maps each canonical string to the NB201 indices it holds; ``representative`` names the
smallest NB201 index of a cell's class, so a table scored once per class can be filled for every cell.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Literal

from lightning_nas.errors import ConfigError
from lightning_nas.spaces.nb201.network import EDGES, OPS
from lightning_nas.spaces.nb201.space import (
    NB201Genotype,
    NB201Space,
    from_arch_str,
    genotype_of_index,
    nb201_index,
)

Definition = Literal["nb201", "function", "linear"]
DEFINITIONS: tuple[str, ...] = ("nb201", "function", "linear")
CellLike = str | Sequence[int]

ZERO = "zero"  # the canonical string of a cell whose output is identically zero ("function"/"linear")
NB201_ZERO = "#"  # NB201's zero token


def _genotype(cell: CellLike) -> NB201Genotype:
    if isinstance(cell, str):
        return from_arch_str(cell)
    ops = tuple(cell)
    ok = len(ops) == len(EDGES) and all(
        isinstance(o, int) and not isinstance(o, bool) and 0 <= o < len(OPS) for o in ops
    )
    if not ok:
        raise ConfigError(f"invalid NB201 cell {cell!r}; expected an arch string or 6 op indices in 0..4")
    return ops  # type: ignore[return-value]


def _inputs(genotype: NB201Genotype, node: int) -> list[tuple[str, int]]:
    """(op name, source node) of every edge into `node`."""
    return [(OPS[o], src) for o, (dst, src) in zip(genotype, EDGES, strict=True) if dst == node]


def _nb201_string(genotype: NB201Genotype) -> str:
    reps = ["0"]
    for node in (1, 2, 3):
        terms = []
        for op, src in _inputs(genotype, node):
            if op == "none" or reps[src] == NB201_ZERO:
                terms.append(NB201_ZERO)
            elif op == "skip_connect":
                terms.append(reps[src])
            else:
                terms.append(f"({reps[src]})@{op}")
        reps.append("+".join(sorted(terms)))
    return reps[3]


def _function_string(genotype: NB201Genotype, linear_pool: bool) -> str:
    # A node's value is the sorted tuple of its terms; the empty tuple is zero.
    values: list[tuple[str, ...]] = [("x",)]
    for node in (1, 2, 3):
        terms: list[str] = []
        for op, src in _inputs(genotype, node):
            value = values[src]
            if op == "none" or not value:
                continue
            if op == "skip_connect":
                terms.extend(value)
            elif op == "avg_pool_3x3" and linear_pool:
                terms.extend(f"{op}({t})" for t in value)
            else:
                terms.append(f"{op}({'+'.join(value)})")
        values.append(tuple(sorted(terms)))
    return "+".join(values[3]) or ZERO


def canonical(cell: CellLike, definition: Definition = "nb201") -> str:
    """The canonical string of a cell (an arch string or a genotype of 6 op indices).

    Two cells get the same string iff they are equivalent under `definition` (see the module
    docstring): "nb201" reproduces NAS-Bench-201's `to_unique_str(consider_zero=True)` (6,466
    classes), "function" applies exactly the cell's symmetries (4,930), "linear" adds the linearity
    of average pooling (4,660)."""
    genotype = _genotype(cell)
    if definition == "nb201":
        return _nb201_string(genotype)
    if definition == "function":
        return _function_string(genotype, linear_pool=False)
    if definition == "linear":
        return _function_string(genotype, linear_pool=True)
    raise ConfigError(f"unknown isomorphism definition {definition!r}; valid: {', '.join(DEFINITIONS)}")


@functools.lru_cache(maxsize=len(DEFINITIONS))
def _space_classes(definition: str) -> dict[str, tuple[int, ...]]:
    groups: dict[str, list[int]] = {}
    for genotype in NB201Space().enumerate():
        groups.setdefault(canonical(genotype, definition), []).append(nb201_index(genotype))  # type: ignore[arg-type]
    ordered = sorted((sorted(indices), key) for key, indices in groups.items())
    return {key: tuple(indices) for indices, key in ordered}


def classes(
    cells: NB201Space | Iterable[CellLike] | None = None, definition: Definition = "nb201"
) -> dict[str, list[int]]:
    """Canonical string -> the NB201 indices of the cells in that class, ascending.

    `cells` is None or an `NB201Space` for the whole space (15,625 cells; cached), or any iterable of
    arch strings / genotypes (duplicates counted once). Classes are ordered by their smallest index,
    so the result is deterministic."""
    if cells is None or isinstance(cells, NB201Space):
        canonical("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", definition)  # validates `definition`
        return {key: list(indices) for key, indices in _space_classes(definition).items()}
    groups: dict[str, set[int]] = {}
    for cell in cells:
        genotype = _genotype(cell)
        groups.setdefault(canonical(genotype, definition), set()).add(nb201_index(genotype))
    ordered = sorted((sorted(indices), key) for key, indices in groups.items())
    return {key: indices for indices, key in ordered}


@functools.lru_cache(maxsize=len(DEFINITIONS))
def _representative_of(definition: str) -> dict[str, int]:
    return {key: indices[0] for key, indices in _space_classes(definition).items()}


def representatives(definition: Definition = "nb201") -> dict[str, int]:
    """Canonical string -> the smallest NB201 index of its class, over the whole space."""
    canonical("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", definition)  # validates `definition`
    return dict(_representative_of(definition))


def representative(cell: CellLike | int, definition: Definition = "nb201") -> int:
    """The smallest NB201 index among the cells equivalent to `cell` (an arch string, a genotype, or
    an NB201 index): score that one and reuse its result for the whole class."""
    if isinstance(cell, int) and not isinstance(cell, bool):
        cell = genotype_of_index(cell)
    return _representative_of(definition)[canonical(cell, definition)]  # type: ignore[arg-type]
