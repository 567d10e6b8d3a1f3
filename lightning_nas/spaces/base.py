"""The search-space protocol every space implements.

A genotype is plain, hashable data. The space samples, mutates and recombines genotypes with an
explicit `random.Random`, builds `nn.Module`s from them and names the layers whose outputs the RMI
proxy compares with the reference model. Nothing reads a genotype back off a module.

`proxy` (in `to_module`, `tap_names`, `taps`): True gives the network the RMI proxy trains (possibly
reduced, e.g. NB201 at C 8, N 1 on a CPU), False the full-size network that costs, fine-tuning and
export use. `proxy_signature()` is every setting that changes the proxy network (it enters the score
key); `benchmark` names the tabular benchmark whose indices the genotypes have (None: no table), and
`benchmark_fields(g)` gives a genotype's identifiers there (for NB201: arch string and index).

The space also answers what the tools around it need, so that no tool branches on a space's name: the
FLOPs unit and the cheapest member (costs), the full-size network's latency operators (latency tables),
gene labels (reports), the proxy's size (printing) and the identifier columns of a score table.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import torch
from torch import nn

if TYPE_CHECKING:
    from lightning_nas.latency.operators import TableSpec

Genotype = Hashable
NB201_BENCHMARK = "nas-bench-201"


@dataclass(frozen=True)
class Tap:
    """A compared layer: its name in `module.named_modules()` and the shape of one sample's output."""

    name: str
    shape: tuple[int, ...]


@runtime_checkable
class SearchSpace(Protocol):
    name: str
    benchmark: str | None
    flops_unit: str  # the name of `complexity`'s FLOPs unit (NB201 "MFLOPs", OFA "MMACs")

    def sample(self, rng: random.Random) -> Genotype: ...

    def mutate(self, genotype: Genotype, rng: random.Random, rate: float) -> Genotype: ...

    def crossover(self, a: Genotype, b: Genotype, rng: random.Random) -> tuple[Genotype, Genotype]: ...

    def to_module(self, genotype: Genotype, proxy: bool = True) -> nn.Module: ...

    def tap_names(self, genotype: Genotype, proxy: bool = True) -> list[str]:
        """Names (in `module.named_modules()`) of the layers whose outputs are compared."""
        ...

    def taps(self, genotype: Genotype, proxy: bool = True) -> list[Tap]:
        """The compared layers with their output shapes (see `measure_taps`)."""
        ...

    def proxy_signature(self) -> dict[str, Any]:
        """The settings that change the proxy network (JSON-able); never caches or weights paths."""
        ...

    def benchmark_fields(self, genotype: Genotype) -> dict[str, Any]:
        """The genotype's identifiers in `benchmark` (empty when the space has none)."""
        ...

    def key(self, genotype: Genotype) -> str:
        """Canonical string: two genotypes that build the same network share it."""
        ...

    def class_key(self, genotype: Genotype) -> str:
        """The genotype's equivalence class: genotypes that compute the same function share it (NB201: its
        isomorphism class; a space without such a notion returns `key`). The refine stage keeps one per class."""
        ...

    def describe(self, genotype: Genotype) -> str: ...

    def to_json(self, genotype: Genotype) -> Any: ...

    def from_json(self, data: Any) -> Genotype: ...

    def parse(self, text: str) -> Genotype:
        """Genotype from user text (arch string or JSON); ConfigError when invalid."""
        ...

    def complexity(self, genotype: Genotype) -> tuple[float, float]:
        """(MFLOPs, M params) of the full-size network, without training."""
        ...

    def enumerate(self) -> Iterator[Genotype] | None:
        """Every genotype for a finite space, None otherwise."""
        ...

    def min_complexity(self) -> tuple[float, float] | None:
        """The smallest (FLOPs, params) known without enumerating; None: enumerate the space, if finite."""
        ...

    def proxy_size(self) -> dict[str, Any]:
        """The settings that size the proxy network, as `score` prints them (NB201: C and N)."""
        ...

    def table_fields(self, genotype: Genotype) -> dict[str, Any]:
        """The genotype's identifier columns in a score table (NB201: arch_str, arch_index)."""
        ...

    def gene_labels(self, data: Any) -> list[str]:
        """Readable gene values of a genotype as a run's files store it (its JSON), for gene-share plots."""
        ...

    def label_order(self, labels: set[str]) -> list[str]:
        """Gene labels in the order plots show them."""
        ...

    def latency_tables(self) -> list[TableSpec]:
        """The latency tables the full-size networks need: every operator they can place."""
        ...

    def latency_counts(self, genotype: Genotype) -> tuple[int, Counter[str]]:
        """(the table's resolution, the operator keys of the full-size network with multiplicities)."""
        ...

    def latency_network(self, genotype: Genotype) -> tuple[nn.Module, tuple[int, ...]]:
        """The full-size network as a latency table prices it, and its input shape (without the batch)."""
        ...


def gene_values(data: Any) -> list[Any]:
    """A stored genotype's genes as a list (a string splits on spaces)."""
    return data.split() if isinstance(data, str) else list(data)


@torch.no_grad()
def measure_taps(module: nn.Module, names: list[str], input_shape: tuple[int, ...]) -> list[Tap]:
    """Output shape (one sample) of each named layer: one forward pass of a zero batch in eval mode."""
    layers = dict(module.named_modules())
    shapes: dict[str, tuple[int, ...]] = {}
    handles = [
        layers[n].register_forward_hook(lambda _m, _i, out, n=n: shapes.__setitem__(n, tuple(out.shape[1:])))
        for n in names
    ]
    was_training = module.training
    try:
        module.eval()
        module(torch.zeros(1, *input_shape))
    finally:
        module.train(was_training)
        for h in handles:
            h.remove()
    return [Tap(n, shapes[n]) for n in names]
