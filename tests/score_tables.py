"""A complete NB201 table of scores made up for tests: every arch's row with RMI = rmi_of(NB201 index),
beside the provenance of a real (small) exported table, so a search is served completely from it."""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Callable
from pathlib import Path

from lightning_nas.spaces.nb201.space import NB201Space
from lightning_nas.tables.rmi_table import provenance_path


def export_tiny_table(where: Path) -> tuple[Path, list[str]]:
    """`where/rmi_tiny.csv.gz`: a 6-arch table exported from a tiny precompute run on this machine, and the
    overrides it was computed under."""
    from lightning_nas.precompute import main as precompute
    from tests.conftest import tiny_overrides

    argv = [*tiny_overrides(where), "--cache.path", str(where / "cache.sqlite"), "--threads", "1"]
    assert precompute([*argv, "--limit", "6", "--export_table", str(where / "rmi_tiny.csv.gz")]) == 0
    return where / "rmi_tiny.csv.gz", argv


def full_table(exported: Path, where: Path, rmi_of: Callable[[int], float]) -> Path:
    """`where/rmi_full.csv.gz`: the exported table's provenance with a row for every NB201 arch."""
    space = NB201Space()
    rows = [
        {"key": space.key(g), "arch_str": space.benchmark_fields(g).get("arch_str", ""), "arch_index": i,
         "rmi": repr(float(rmi_of(i))), "cka_0": 0.5}
        for i, g in ((space.benchmark_fields(g)["nb201_index"], g) for g in space.enumerate())
    ]  # fmt: skip
    path = where / "rmi_full.csv.gz"
    with gzip.open(path, "wt", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    prov = json.loads(provenance_path(exported).read_text())
    provenance_path(path).write_text(json.dumps({**prov, "rows": len(rows), "complete": True}))
    return path
