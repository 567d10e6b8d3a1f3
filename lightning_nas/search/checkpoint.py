"""Per-generation search checkpoints (`checkpoint.json`) and the append-only evaluation cache
(`evaluations.jsonl`, one line per trained candidate, written as soon as it is scored), so that a run
killed at any point resumes without retraining anything it had already scored."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from lightning_nas.errors import ConfigError
from lightning_nas.run_dir import write_json
from lightning_nas.search.ga import GAState
from lightning_nas.spaces.base import SearchSpace

VERSION = 1
CHECKPOINT = "checkpoint.json"
CACHE = "evaluations.jsonl"


def config_hash(config_yaml: str) -> str:
    return hashlib.sha256(config_yaml.encode()).hexdigest()[:16]


def save(
    run_dir: Path, space: SearchSpace, state: GAState, rows: list[dict[str, Any]], wall: float, cfg_hash: str
) -> None:
    enc = space.to_json
    write_json(
        run_dir / CHECKPOINT,
        {
            "version": VERSION,
            "config_hash": cfg_hash,
            "generation": state.generation,
            "population": [enc(g) for g in state.population],
            "rng_state": state.rng_state,
            "logbook": state.logbook,
            "hall_of_fame": [[enc(g), f] for g, f in state.hall_of_fame],
            "draws": state.draws,
            "evaluated": [[enc(g), f] for g, f in state.evaluated],
            "rows": rows,
            "wall_seconds": wall,
        },
    )


def load(run_dir: Path, space: SearchSpace, cfg_hash: str) -> tuple[GAState, list[dict[str, Any]], float]:
    path = run_dir / CHECKPOINT
    if not path.exists():
        raise ConfigError(
            f"no checkpoint in {run_dir}: {CHECKPOINT} is missing (was the first generation finished?)"
        )
    try:
        data = json.loads(path.read_text())
        if data.get("version") != VERSION:
            raise ConfigError(
                f"checkpoint {path} has version {data.get('version')!r}; this lightning_nas reads version {VERSION}"
            )
        if data.get("config_hash") != cfg_hash:
            raise ConfigError(
                f"checkpoint {path} was written for a different config than {run_dir / 'config.yaml'}"
            )
        dec = space.from_json
        state = GAState(
            generation=int(data["generation"]),
            population=[dec(g) for g in data["population"]],
            rng_state=data["rng_state"],
            logbook=data["logbook"],
            hall_of_fame=[(dec(g), float(f)) for g, f in data["hall_of_fame"]],
            draws=int(data["draws"]),
            evaluated=[(dec(g), float(f)) for g, f in data["evaluated"]],
        )
        return state, data["rows"], float(data["wall_seconds"])
    except ConfigError:
        raise
    except (ValueError, KeyError, TypeError) as err:
        raise ConfigError(f"corrupt checkpoint {path}: {type(err).__name__}: {err}") from None


def append_cache(run_dir: Path, entry: dict[str, Any]) -> None:
    with open(run_dir / CACHE, "a") as f:
        f.write(json.dumps(entry) + "\n")
        f.flush()
        os.fsync(f.fileno())


def load_cache(run_dir: Path) -> dict[str, dict[str, Any]]:
    """Entries by key; a torn last line (killed mid-write) is ignored."""
    path = run_dir / CACHE
    cache: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return cache
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        cache[entry["key"]] = entry
    return cache
