"""One reader for the CSV tables indexed by NAS-Bench-201 index (the NB201 accuracy/cost table, the
HW-NAS-Bench CSV): a header row with a key column (`arch_index` or `arch_str`) and value columns named
`<dataset>.<field>`, one row per architecture, optionally gzip'ed. Each value column becomes a float64
array of 15625 entries indexed by NB201 index; an empty cell, the benchmarks' `-1` sentinel (and, with
`positive=True`, any value <= 0) and a row the file lacks are NaN: no measurement, never a real value."""

from __future__ import annotations

import csv
import gzip
import math
from collections.abc import Callable, Collection, Iterable
from pathlib import Path

import numpy as np

from lightning_nas.errors import ConfigError

N_ARCHS = 15625
INDEX_COLUMNS = ("arch_index", "arch_str")


def to_column(values: Iterable[float], positive: bool = False) -> np.ndarray:
    """float64 array with the missing-value sentinels (NaN, -1; with `positive`, anything <= 0) as NaN."""
    arr = np.asarray(list(values), dtype=np.float64)
    missing = ~(arr > 0) if positive else np.isnan(arr) | (arr == -1.0)
    arr[missing] = np.nan
    return arr


def show(value: object, limit: int = 40) -> str:
    """`repr(value)` cut to `limit` characters, for a one-line error about a bad cell."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class NB201Columns:
    """`columns[(dataset, field)]`: a float64 array indexed by NB201 index (NaN where absent)."""

    def __init__(self, columns: dict[tuple[str, str], np.ndarray], source: str) -> None:
        self.columns = columns
        self.source = source

    def require(self, dataset: str, field: str) -> np.ndarray:
        """The column `<dataset>.<field>`; a one-line ConfigError naming it when the file has none."""
        if (dataset, field) not in self.columns:
            raise ConfigError(f"{self.source} has no {dataset}.{field}")
        return self.columns[(dataset, field)]


def read_nb201_csv(
    path: str | Path,
    fields: Collection[str],
    *,
    index_column: str,
    what: str,
    expected: str,
    positive: bool = False,
) -> dict[tuple[str, str], np.ndarray]:
    """The `<dataset>.<field>` columns of `path` whose field is in `fields`, keyed (dataset, field).

    Rows are placed by `index_column`: `arch_index` (the NB201 index; an `ops` column, when present, must
    agree with it) or `arch_str` (looked up through its index). `what` names the table and `expected`
    says what the file should hold, in the errors (all one-line ConfigErrors)."""
    if index_column not in INDEX_COLUMNS:
        raise ValueError(f"index_column must be one of {INDEX_COLUMNS}, not {index_column!r}")
    path = Path(path)
    opener: Callable[..., object] = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", newline="") as f:  # type: ignore[attr-defined]
            reader = csv.reader(f)  # type: ignore[arg-type]
            header = next(reader, [])
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error, EOFError) as err:
        raise ConfigError(f"cannot read {what} CSV {path}: {err}") from None
    if not rows or index_column not in header:
        raise ConfigError(f"{path} has no {index_column} column; expected {expected}")
    order = _row_indices(path, header, rows, index_column)
    columns: dict[tuple[str, str], np.ndarray] = {}
    for j, name in enumerate(header):
        dataset, _, field = name.partition(".")
        if field in fields:
            col = np.full(N_ARCHS, np.nan)
            col[order] = to_column(_numbers(path, name, [row[j] if j < len(row) else "" for row in rows]), positive)
            columns[(dataset, field)] = col
    return columns


def _row_indices(path: Path, header: list[str], rows: list[list[str]], index_column: str) -> list[int]:
    """The NB201 index of every row (distinct, in range; an `ops` column must agree with `arch_index`)."""
    from lightning_nas.spaces.nb201.space import from_arch_str, nb201_index

    key = header.index(index_column)
    order: list[int] = []
    first_line: dict[int, int] = {}  # index -> the line that gave it
    for line, row in enumerate(rows, start=2):
        cell = row[key].strip() if key < len(row) else ""
        try:
            index = nb201_index(from_arch_str(cell)) if index_column == "arch_str" else int(cell)
        except (ConfigError, ValueError):
            want = "an NB201 arch string" if index_column == "arch_str" else f"an integer 0..{N_ARCHS - 1}"
            raise ConfigError(f"{path} line {line}: bad {index_column} {show(cell)} (expected {want})") from None
        if not 0 <= index < N_ARCHS:
            raise ConfigError(f"{path} line {line}: {index_column} {show(cell)} out of range 0..{N_ARCHS - 1}")
        if index in first_line:
            raise ConfigError(f"{path} line {line}: {index_column} {show(cell)} repeats line {first_line[index]}")
        first_line[index] = line
        order.append(index)
    if index_column == "arch_index" and "ops" in header:
        _check_ops(path, header.index("ops"), order, rows)
    return order


def _check_ops(path: Path, ops: int, order: list[int], rows: list[list[str]]) -> None:
    from lightning_nas.spaces.nb201.space import from_ops_digits, genotype_of_index

    for line, (i, r) in enumerate(zip(order, rows, strict=True), start=2):
        cell = r[ops] if ops < len(r) else ""
        try:
            agree = from_ops_digits(cell) == genotype_of_index(i)
        except (ValueError, IndexError):
            agree = False
        if not agree:
            raise ConfigError(
                f"{path} line {line}: ops {show(cell)} is not NB201 arch {i}; "
                "the ops column does not follow the NAS-Bench-201 index order"
            )


def _numbers(path: Path, name: str, cells: list[str]) -> list[float]:
    """Column `name`'s cells as floats (empty: NaN); a one-line ConfigError on the first that is not finite."""
    values = []
    for line, raw in enumerate(cells, start=2):
        cell = raw.strip()
        try:
            value = float(cell) if cell else np.nan
        except ValueError:
            value = math.inf  # reported below with the cell as written
        if math.isinf(value):
            raise ConfigError(f"{path} line {line}: {name} is not a finite number: {show(cell)}")
        values.append(value)
    return values
