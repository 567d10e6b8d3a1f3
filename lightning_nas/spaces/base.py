"""The search-space protocol every space implements (DESIGN.md §4.2).

A genotype is plain, hashable data. The space samples, mutates and recombines genotypes with an
explicit `random.Random`, builds `nn.Module`s from them and names the layers whose outputs the RMI
proxy compares with the reference model. Nothing reads a genotype back off a module.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Iterator
from typing import Any, Protocol, runtime_checkable

from torch import nn

Genotype = Hashable


@runtime_checkable
class SearchSpace(Protocol):
    name: str

    def sample(self, rng: random.Random) -> Genotype: ...

    def mutate(self, genotype: Genotype, rng: random.Random, rate: float) -> Genotype: ...

    def crossover(self, a: Genotype, b: Genotype, rng: random.Random) -> tuple[Genotype, Genotype]: ...

    def to_module(self, genotype: Genotype, proxy: bool = True) -> nn.Module:
        """The network; `proxy=True` gives the (possibly reduced) network the RMI proxy trains."""
        ...

    def tap_names(self, genotype: Genotype) -> list[str]:
        """Names (in `module.named_modules()`) of the layers whose outputs are compared."""
        ...

    def key(self, genotype: Genotype) -> str:
        """Canonical string: two genotypes that build the same network share it."""
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
