"""The refine stage over a finished search: the short list, each candidate's accuracy (trained or from a
table), written to `refine.csv` as each arrives, and the winner, the most accurate on validation (ties:
the earlier on the short list), recorded in results.json as `refined` beside the proxy's `best`.

A rerun (or a resumed stage) reuses the rows of refine.csv computed under the same refine settings:
a finished candidate never trains again."""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from lightning_nas.refine.accuracy import AccuracyTable, RefineResult, ShortTraining
from lightning_nas.refine.shortlist import Candidate, build_shortlist, capacity_of
from lightning_nas.rmi.score_key import digest as canonical_digest
from lightning_nas.run_dir import write_json

CSV = "refine.csv"
SETTING_KEYS = ("epochs", "data_fraction", "network", "val_fraction", "table", "table_column")  # what an accuracy depends on


def settings_digest(cfg: Any) -> str:
    """What a row of refine.csv depends on: the refine settings that change an accuracy, the seed, data and
    recipe (a changed one retrains; k and the short-list mix only choose which candidates)."""
    parts = {k: getattr(cfg.refine, k) for k in SETTING_KEYS} | {"seed": cfg.seed, "data": asdict(cfg.data), "finetune": asdict(cfg.finetune),
                                                               "space": asdict(cfg.space)}  # fmt: skip
    return canonical_digest(parts)[:16]


def read_done(path: Path, digest: str) -> dict[str, RefineResult]:
    """The rows of refine.csv computed under these settings, by key."""
    if not path.exists():
        return {}
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("settings") == digest]
    return {r["key"]: RefineResult(json.loads(r["val_acc"]), float(r["seconds"]), r["measured_by"]) for r in rows}


def append_row(path: Path, row: dict[str, Any]) -> None:
    new = not path.exists()
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)
        f.flush()


def run_refine(problem: Any, run_dir: Path, rows: list[dict[str, Any]], results: dict[str, Any], stream: TextIO | None = None) -> dict[str, Any]:
    """Run the stage for the search whose evaluations are `rows`; updates results.json and returns `refined`."""
    out = stream or sys.stdout
    cfg, space = problem.cfg, problem.space
    shortlist, notes = build_shortlist(space, rows, problem.objectives, cfg.refine.k, cfg.refine.shortlist)
    measure = AccuracyTable(cfg.refine.table, cfg.refine.table_column, cfg.refine.table_seconds_column, space) if cfg.refine.table else ShortTraining(problem)
    digest = settings_digest(cfg)
    done = read_done(run_dir / CSV, digest)
    for note in notes:
        print(f"refine: {note}", file=out, flush=True)
    print(f"refine: {len(shortlist)} candidates ({', '.join(f'{s} {n}' for s, n in cfg.refine.shortlist.items())}; k {cfg.refine.k}), "
          f"{'table ' + Path(cfg.refine.table).name if cfg.refine.table else f'{cfg.refine.epochs} epoch(s) on {cfg.refine.data_fraction:g} of the data'}",
          file=out, flush=True)  # fmt: skip
    measured: list[tuple[Candidate, RefineResult]] = []
    for i, c in enumerate(shortlist):
        result = done.get(c.key)
        if result is None:
            result = measure(c.genotype)
            append_row(run_dir / CSV, row_of(i, c, result, digest, space))
        measured.append((c, result))
        print(f"refine {i + 1}/{len(shortlist)} [{c.source}] {space.describe(c.genotype)}: val acc {result.best:.2f} % "
              f"({result.seconds:.1f} s{', done before' if c.key in done else ''})", file=out, flush=True)  # fmt: skip
    record = summary_of(problem, measured, notes, done)
    results["refined"] = record
    write_json(run_dir / "results.json", results)
    w = record["winner"]
    print(f"refine: winner {w['description']} val acc {w['val_acc']:.2f} % ({w['shortlist_source']}); "
          f"the proxy's best: {results['best']['description']}", file=out, flush=True)  # fmt: skip
    return record


def row_of(i: int, c: Candidate, result: RefineResult, digest: str, space: Any) -> dict[str, Any]:
    return {"position": i, "key": c.key, "class": space.class_key(c.genotype), "shortlist_source": c.source, "fitness": c.fitness,
            **{f"cost_{k}": v for k, v in c.costs.items()}, "val_acc": json.dumps(result.val_acc), "best_val_acc": result.best,
            "seconds": round(result.seconds, 3), "measured_by": result.source, "settings": digest}  # fmt: skip


def summary_of(problem: Any, measured: list[tuple[Candidate, RefineResult]], notes: list[str], done: dict[str, Any]) -> dict[str, Any]:
    space, cfg = problem.space, problem.cfg
    c, r = max(measured, key=lambda m: m[1].best)  # max keeps the first of equals: the earlier on the short list
    costs = [o.cost(c.genotype) for o in problem.objectives]
    trained = [m for m in measured if m[0].key not in done]
    return {
        "winner": {"genotype": space.to_json(c.genotype), "key": c.key, "description": space.describe(c.genotype), "val_acc": r.best,
                   "val_acc_per_epoch": r.val_acc, "shortlist_source": c.source, "fitness": c.fitness,
                   "costs": [o.describe(v) for o, v in zip(problem.objectives, costs, strict=True)], **space.benchmark_fields(c.genotype)},
        "shortlist": len(measured), "measured_by": r.source, "trainings_now": len(trained),
        "seconds": round(sum(m[1].seconds for m in measured), 3), "capacity": capacity_of(space, problem.objectives)[0],
        "notes": notes, "settings": asdict(cfg.refine), "csv": CSV,
    }  # fmt: skip
