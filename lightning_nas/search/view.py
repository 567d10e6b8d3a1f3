"""`SearchView`: what a search callback reads of the running search. The engine builds one for each hook
call and passes it as the hook's first argument; callbacks read it instead of the engine's internals."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    from lightning_nas.backends import Backend
    from lightning_nas.config import RunConfig
    from lightning_nas.costs.objective import Objective
    from lightning_nas.spaces.base import SearchSpace


@dataclass(frozen=True)
class SearchView:
    """The search as a callback sees it (read only).

    cfg: the resolved config of the run. run_dir: its run directory. space: the search space.
    objectives: the cost objectives, in config order. generation: the generation being evaluated, or the
    one just finished (from 0; at the start, the first this session runs). rows: the rows of
    evaluations.csv so far, in order (those there when the view was made; do not change them). config_yaml: the config as
    recorded in the run's config.yaml. goal: the strategy's one-line description of what it optimises.
    generation_metrics: the strategy's own entries in a generation's summary (NSGA-II: `hypervolume`...).
    backend: the backend scoring the candidates (None before it is built)."""

    cfg: RunConfig
    run_dir: Path
    space: SearchSpace
    objectives: list[Objective]
    generation: int
    rows: Sequence[dict[str, Any]]
    config_yaml: str
    goal: str
    generation_metrics: tuple[str, ...] = ()
    backend: Backend | None = None

    @property
    def evaluations(self) -> int:
        """Candidates evaluated so far, every generation counted (repeats included)."""
        return len(self.rows)

    def population(self, generation: int) -> list[dict[str, Any]]:
        """The rows of one generation's population, in population order."""
        return [r for r in self.rows if r["generation"] == generation]

    @property
    def best(self) -> dict[str, Any] | None:
        """The first row of the best genotype so far by fitness (ties: evaluated first); None before any."""
        from lightning_nas.reporting.search_figures import best_so_far

        ranked = best_so_far(list(self.rows), 1)
        return ranked[0] if ranked else None


class RowsSoFar(Sequence[dict[str, Any]]):
    """The first `length` rows of a growing list, without copying it (a later row is not seen)."""

    def __init__(self, rows: list[dict[str, Any]], length: int | None = None) -> None:
        self._rows = rows
        self._length = len(rows) if length is None else length

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return self._rows[: self._length][index]
        if not -self._length <= index < self._length:
            raise IndexError(index)
        return self._rows[index % self._length]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return islice(self._rows, self._length)
