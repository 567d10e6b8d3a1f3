"""Per-generation search checkpoints (`checkpoint.json`) and the append-only evaluation cache
(`evaluations.jsonl`, one line per scored candidate, written as soon as it is scored), so that a run
killed at any point resumes without retraining anything it had already scored. The checkpoint only
saves time: without it (killed in generation 0, damaged, older version) the search replays its GA from
the seed with the scores in evaluations.jsonl; without those, the checkpoint's rows restore them."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from lightning_nas.errors import ConfigError
from lightning_nas.run_dir import write_json
from lightning_nas.search.evolution import GAState
from lightning_nas.search.resume import describe_differences, identity_hash
from lightning_nas.spaces.base import SearchSpace

VERSION = 2  # 2: the config identity (lightning_nas.search.resume) instead of a hash of config.yaml
CHECKPOINT = "checkpoint.json"
CACHE = "evaluations.jsonl"
log = logging.getLogger(__name__)


class CheckpointUnusable(Exception):
    """checkpoint.json is missing, unreadable or from another version: the run replays from its scores."""


def save(
    run_dir: Path,
    space: SearchSpace,
    state: GAState,
    rows: list[dict[str, Any]],
    wall: float,
    identity: dict[str, Any],
) -> None:
    enc = space.to_json
    write_json(
        run_dir / CHECKPOINT,
        {
            "version": VERSION,
            "config_hash": identity_hash(identity),
            "config": identity,
            "generation": state.generation,
            "population": [enc(g) for g in state.population],
            "rng_state": state.rng_state,
            "logbook": state.logbook,
            "hall_of_fame": [[enc(g), f] for g, f in state.hall_of_fame],
            "draws": state.draws,
            "evaluated": [[enc(g), f] for g, f in state.evaluated],
            "hv_reference": state.hv_reference,
            "rows": rows,
            "wall_seconds": wall,
        },
    )


def load(
    run_dir: Path, space: SearchSpace, identity: dict[str, Any]
) -> tuple[GAState, list[dict[str, Any]], float]:
    """The state saved after the last finished generation. CheckpointUnusable when there is none or it
    cannot be read; ConfigError when it belongs to another config (config.yaml was edited)."""
    path = run_dir / CHECKPOINT
    if not path.exists():
        raise CheckpointUnusable(f"{CHECKPOINT} is missing (stopped before the first generation ended)")
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError) as err:  # ValueError: not JSON, not UTF-8
        raise CheckpointUnusable(f"{path} is unreadable ({type(err).__name__})") from None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        found = data.get("version") if isinstance(data, dict) else type(data).__name__
        raise CheckpointUnusable(f"{path} is not a version-{VERSION} checkpoint (found {found!r})")
    if data.get("config_hash") != identity_hash(identity):
        recorded = data.get("config") if isinstance(data.get("config"), dict) else {}
        raise ConfigError(
            f"checkpoint {path} was written for a different config than {run_dir / 'config.yaml'}: "
            f"{describe_differences(recorded, identity)}"
        )
    try:
        dec = space.from_json
        state = GAState(
            generation=int(data["generation"]),
            population=[dec(g) for g in data["population"]],
            rng_state=data["rng_state"],
            logbook=list(data["logbook"]),
            hall_of_fame=[(dec(g), _fitness(f)) for g, f in data["hall_of_fame"]],
            draws=int(data["draws"]),
            evaluated=[(dec(g), _fitness(f)) for g, f in data["evaluated"]],
            hv_reference=_reference(data.get("hv_reference")),
        )
        rows = [r for r in data["rows"] if isinstance(r, dict)]
        if len(rows) != len(data["rows"]) or any(not isinstance(r.get("key"), str) for r in rows):
            raise ValueError("a row is not an evaluation record")
        return state, rows, float(data["wall_seconds"])
    except (ValueError, KeyError, TypeError, ConfigError) as err:
        raise CheckpointUnusable(f"{path} is damaged ({type(err).__name__}: {err})") from None


def _fitness(value: Any) -> float | tuple[float, ...]:
    """A GA fitness (a number) or an NSGA-II point (a list of numbers) as saved."""
    if isinstance(value, list):
        return tuple(float(v) for v in value)
    return float(value)


def _reference(value: Any) -> list[float] | None:
    return None if value is None else [float(v) for v in value]


def append_cache(run_dir: Path, entry: dict[str, Any]) -> None:
    with open(run_dir / CACHE, "a") as f:
        f.write(json.dumps(entry) + "\n")
        f.flush()
        os.fsync(f.fileno())


def load_cache(run_dir: Path, space: SearchSpace) -> dict[str, dict[str, Any]]:
    """Entries by key. A line that cannot be read (torn by a kill mid-write, not UTF-8, not an entry, or
    whose genotype does not give its key) is skipped with one warning: its candidate is scored again."""
    path = run_dir / CACHE
    cache: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return cache
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):  # a line torn by a kill: end it, so the next entry starts afresh
        with open(path, "ab") as f:
            f.write(b"\n")
    bad = 0
    for line in data.splitlines():
        if not line.strip():
            continue
        entry = _entry(line, space)
        if entry is None:
            bad += 1
        else:
            cache[entry["key"]] = entry
    if bad:
        log.warning("%s: skipped %d unreadable line(s); those candidates are scored again", path, bad)
    return cache


def _entry(line: bytes, space: SearchSpace) -> dict[str, Any] | None:
    try:
        entry = json.loads(line.decode("utf-8"))
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
            return None
        if not _score_like(entry.get("rmi")) or not (entry.get("cka") is None or isinstance(entry["cka"], list)):
            return None
        if space.key(space.from_json(entry["genotype"])) != entry["key"]:
            return None
    except (ValueError, KeyError, TypeError, IndexError, ConfigError):
        return None
    return entry


def _score_like(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def entry_from_row(row: dict[str, Any]) -> dict[str, Any]:
    """An evaluation entry rebuilt from a checkpoint row (when evaluations.jsonl lost it)."""
    cka = [row[k] for k in sorted((k for k in row if k.startswith("cka_")), key=lambda k: int(k[4:]))]
    entry = {
        "key": row["key"],
        "genotype": row["genotype"],
        "rmi": row.get("rmi"),
        "cka": cka if row.get("rmi") is not None else None,
        "seconds": 0.0,
        "losses": {},
        "trained": False,
        "persistent_hit": False,
        "restored_from_checkpoint": True,
    }
    if row.get("error"):
        entry["error"] = row["error"]
    return entry
