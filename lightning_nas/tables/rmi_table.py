"""A table of precomputed proxy scores for a finite search space (e.g. every NAS-Bench-201 architecture at
one proxy profile), so that a search serves its scores from the table instead of training candidates
(`proxy.table: PATH`) and benchmarks can run the paper's GA in seconds.

Two files: `NAME.csv.gz`, one row per architecture (`key`, the space's benchmark fields: for NB201
`arch_str` and `arch_index`, the NB201 index; `rmi`, `cka_0..`, `seconds`), and `NAME.json` beside it, the provenance:
the score hash and its parts (`lightning_nas.rmi.score_key.score_parts`: proxy network, reference features,
probe batch, proxy settings, seed, threads, accelerator), the reference checkpoint's sha256, versions,
how many architectures the space has and whether the table holds them all. A table is written from the
persistent cache (`python -m lightning_nas.precompute ... --export_table NAME.csv.gz`).

A table is matched on the settings identity (`lightning_nas.rmi.score_key.settings_identity`: what the
scores mean, the same on every machine), never on float bits. A search refuses a table computed for another
space or under other settings, in one line naming what differs. A table computed under the same settings
on another machine (another CPU or instruction set, thread count, accelerator, torch or BLAS build: the
exact identity differs) is served with one line that names both machines and quotes the agreement
measured across machines (`cross_machine` in the provenance, from
`benchmarks/rmi_table_cross_machine.py --record`). An older table that records no settings identity is
matched on what it records (its config and score parts), and the line names the fields it does not
record and that were therefore not compared; the data's location (`data.root`) is never compared."""

from __future__ import annotations

import csv
import functools
import gzip
import io
import json
import logging
import math
import statistics
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from lightning_nas.errors import ConfigError, one_line_reason
from lightning_nas.rmi.evaluator import ProxyResult
from lightning_nas.rmi.score_key import file_sha256, numeric_identity, parts_hash, settings_hash
from lightning_nas.tables.score_match import TableMatch, match_table

log = logging.getLogger(__name__)

FORMAT = 1
sha256_file = file_sha256  # the name the benchmarks know


def provenance_path(table: Path) -> Path:
    """`rmi_nb201_fast.csv.gz` -> `rmi_nb201_fast.json`."""
    name = table.name
    for suffix in (".csv.gz", ".csv"):
        if name.endswith(suffix):
            return table.with_name(name[: -len(suffix)] + ".json")
    raise ConfigError(f"a table of scores is a .csv.gz or .csv file, got {table}")


@dataclass
class ScoreTable:
    path: Path
    provenance: dict[str, Any]
    scores: dict[str, ProxyResult]

    def lookup(self, key: str) -> ProxyResult | None:
        return self.scores.get(key)


def write_table(
    path: Path,
    space: Any,
    genotypes: list[Any],
    results: list[ProxyResult | None],
    parts: dict[str, Any],
    extra: dict[str, Any],
    row_extra: list[dict[str, Any]] | None = None,
    settings: dict[str, Any] | None = None,
    numeric: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the rows of `genotypes` that have a result (with `row_extra`'s columns, e.g. `scored_as`),
    and the provenance: the exact identity `parts`, the settings identity `settings` and the machine's
    `numeric` identity; returns the provenance. Seconds per arch count the rows with seconds > 0 (an arch
    whose score was copied from an isomorphic one has 0)."""
    rows, seconds = [], []
    for i, (genotype, result) in enumerate(zip(genotypes, results, strict=True)):
        if result is None:
            continue
        rows.append(
            {"key": space.key(genotype), **space.table_fields(genotype), **(row_extra[i] if row_extra else {}), "rmi": repr(float(result.rmi)),
             **{f"cka_{j}": repr(float(c)) for j, c in enumerate(result.cka)}, "seconds": round(result.seconds, 4)}
        )  # fmt: skip
        if result.seconds > 0:
            seconds.append(result.seconds)
    seconds = seconds or [0.0]
    if not rows:
        raise ConfigError(f"no scores to write into {path}: none of the {len(genotypes)} architectures is in the cache")
    enumerated = space.enumerate()
    size = None if enumerated is None else sum(1 for _ in enumerated)
    provenance = {
        "format": FORMAT,
        "space": space.name,
        "score_hash": parts_hash(parts),
        "parts": parts,
        **({"settings_hash": settings_hash(settings), "settings": settings} if settings is not None else {}),
        **({"numeric": numeric} if numeric is not None else {}),
        "rows": len(rows),
        "space_size": size,
        "complete": size is not None and len(rows) == size,
        "seconds_per_arch": {"median": statistics.median(seconds), "mean": statistics.fmean(seconds), "total": sum(seconds)},
        "created": datetime.now().isoformat(timespec="seconds"),
        **extra,
    }
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(dict.fromkeys(k for r in rows for k in r)), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    tmp = path.with_name(path.name + ".tmp")
    data = text.getvalue().encode()
    if path.name.endswith(".gz"):  # no file name or time in the gzip header: the same rows, the same bytes
        data = gzip.compress(data, compresslevel=9, mtime=0)
    tmp.write_bytes(data)
    tmp.replace(path)
    prov = provenance_path(path)
    prov.with_name(prov.name + ".tmp").write_text(json.dumps(provenance, indent=2, default=str) + "\n")
    prov.with_name(prov.name + ".tmp").replace(prov)
    return provenance


def read_table(path: str | Path) -> ScoreTable:
    """The table and its provenance; a one-line ConfigError for a missing, damaged or foreign file. Read
    once per version of the two files in a process (a benchmark runs hundreds of searches on one table)."""
    path = Path(path).expanduser()
    prov = provenance_path(path)
    return _read(path, prov, _stamp(path), _stamp(prov))


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


@functools.lru_cache(maxsize=4)
def _read(path: Path, prov: Path, _table_stamp: Any, _prov_stamp: Any) -> ScoreTable:
    try:
        provenance = json.loads(prov.read_text())
        if provenance.get("format") != FORMAT or "parts" not in provenance:
            raise ValueError(f"not a table provenance of format {FORMAT}")
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", newline="") as f:
            scores = {row["key"]: _result(row) for row in csv.DictReader(f)}
    except FileNotFoundError as err:
        raise ConfigError(f"table of scores {path}: {err.filename} not found (the table and its .json belong together)") from None
    except (OSError, ValueError, KeyError, EOFError, gzip.BadGzipFile) as err:
        raise ConfigError(f"table of scores {path} is unreadable ({one_line_reason(err)})") from None
    if len(scores) != provenance.get("rows"):
        raise ConfigError(f"table of scores {path} has {len(scores)} rows, its provenance says {provenance.get('rows')}")
    return ScoreTable(path, provenance, scores)


def indexed_scores(path: str | Path) -> tuple[Any, Any]:
    """(benchmark indices, RMI) of a table's rows as numpy arrays, in file order: for tables of a space with
    a tabular benchmark (the `arch_index` column, e.g. NAS-Bench-201's index), read as plain CSV (a table
    with only those two columns is enough)."""
    import numpy as np

    path = Path(path).expanduser()
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", newline="") as f:
            rows = [(int(r["arch_index"]), float(r["rmi"])) for r in csv.DictReader(f)]
    except (OSError, ValueError, KeyError, EOFError) as err:
        raise ConfigError(f"table of scores {path} has no readable arch_index and rmi columns ({one_line_reason(err)})") from None
    return np.array([i for i, _ in rows], dtype=int), np.array([v for _, v in rows], dtype=float)


def _result(row: dict[str, str]) -> ProxyResult:
    cka = [float(row[k]) for k in sorted((k for k in row if k.startswith("cka_")), key=lambda k: int(k[4:]))]
    rmi = float(row["rmi"])
    if not math.isfinite(rmi):
        raise ValueError(f"a non-finite rmi {row['rmi']!r} for {row['key']}")
    return ProxyResult(rmi=rmi, cka=cka, losses={}, seconds=float(row.get("seconds") or 0.0))


def check_table(
    table: ScoreTable, space: Any, parts: dict[str, Any], settings: dict[str, Any], numeric: dict[str, Any] | None = None
) -> TableMatch:
    """Refuse a table computed for another space or under other settings, naming what differs; else how it
    matches this run (`lightning_nas.tables.score_match`). `numeric`: this machine's (default: measured here)."""
    return match_table(table.provenance, table.path, space.name, parts, settings, numeric or numeric_identity(parts))

class TableScores:
    """The persistent cache's interface (`lookup`, `store`) over a table: every lookup is served from the
    table; an architecture the table lacks is a one-line error (nothing trains in a table-backed search)."""

    def __init__(self, table: ScoreTable, match: TableMatch | None = None) -> None:
        self.table, self.match = table, match

    def lookup(self, key: str) -> ProxyResult:
        result = self.table.lookup(key)
        if result is None:
            size = self.table.provenance.get("space_size")
            of = f" of {size}" if size else ""
            raise ConfigError(
                f"architecture {key} is not in the table of scores {self.table.path} ({len(self.table.scores)}{of} "
                "architectures); export a complete table or unset proxy.table"
            )
        return result

    def store(self, key: str, result: ProxyResult) -> None:
        """Nothing: the table is read-only (nothing is scored in a table-backed search)."""


def open_table_scores(path: str | Path, space: Any, parts: dict[str, Any], settings: dict[str, Any]) -> TableScores:
    """The table's scores for a run with exact identity `parts` and settings identity `settings`: refused in
    one line under other settings; served with one line (logged) when computed on another machine."""
    table = read_table(path)
    match = check_table(table, space, parts, settings)
    if match.notice:
        log.warning("%s", match.notice)
    return TableScores(table, match)
