"""What a run has evaluated, and its two record files:

- `entries`: one per distinct genotype key (its RMI, per-layer CKA, losses, seconds, where the score came
  from), appended to `evaluations.jsonl` the moment it exists, so a kill loses no finished score;
- `rows`: one per candidate per generation (costs, fitness, feasibility, cache hit), written in
  population order to `evaluations.csv` at the end of each generation."""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

from lightning_nas.search import checkpoint

log = logging.getLogger(__name__)


class RunRecords:
    def __init__(
        self,
        run_dir: Path,
        entries: dict[str, dict[str, Any]] | None = None,
        rows: list[dict[str, Any]] | None = None,
    ) -> None:
        self.run_dir = run_dir
        self.entries: dict[str, dict[str, Any]] = dict(entries or {})
        self.rows: list[dict[str, Any]] = list(rows or [])

    def add_entry(self, entry: dict[str, Any]) -> None:
        checkpoint.append_cache(self.run_dir, entry)
        self.entries[entry["key"]] = entry

    def restore_missing_entries(self) -> None:
        """Entries for rows whose score evaluations.jsonl lost (deleted or damaged), rebuilt from the
        rows and written back, so the run neither trains them again nor fails on them."""
        lost = {r["key"]: r for r in self.rows if r["key"] not in self.entries}
        for row in lost.values():
            self.add_entry(checkpoint.entry_from_row(row))
        if lost:
            log.warning("%s: restored %d score(s) missing from %s from the checkpoint", self.run_dir, len(lost), checkpoint.CACHE)

    def add_row(self, row: dict[str, Any]) -> None:
        self.rows.append(row)

    def generation(self, gen: int) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["generation"] == gen]

    # ---- counts (results.json and the console use the same ones) ------------------------------
    @property
    def evaluations(self) -> int:
        """Candidates evaluated, every generation counted (repeats included)."""
        return len(self.rows)

    @property
    def unique(self) -> int:
        """Distinct genotypes scored in this run (trained here or found in the persistent cache)."""
        return len(self.entries)

    @property
    def trained(self) -> int:
        """Candidates this run actually trained."""
        return sum(1 for e in self.entries.values() if e.get("trained"))

    @property
    def persistent_hits(self) -> int:
        return sum(1 for e in self.entries.values() if e.get("persistent_hit"))

    @property
    def cache_hits(self) -> int:
        """Rows whose genotype this run had already scored (an earlier candidate of the run)."""
        return sum(bool(r["cache_hit"]) for r in self.rows)

    def write_csv(self) -> None:
        if not self.rows:
            return
        fields = list(dict.fromkeys(k for r in self.rows for k in r))
        tmp = self.run_dir / "evaluations.csv.tmp"
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            for r in self.rows:
                writer.writerow(
                    {k: (" ".join(map(str, v)) if isinstance(v, list) else v) for k, v in r.items()}
                )
        tmp.replace(self.run_dir / "evaluations.csv")
