"""A run's start-up files and the continuation of a stopped run: config.yaml, versions.json and
setup.json (each resume appended), and the state, records and clock a resume starts from."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from lightning_nas.config import RunConfig
from lightning_nas.errors import ConfigError
from lightning_nas.run_dir import Stopwatch, versions, write_json, write_text
from lightning_nas.search import checkpoint
from lightning_nas.search.evolution import GAState
from lightning_nas.search.records import RunRecords
from lightning_nas.search.resume import check_same_run, config_of_run, identity, warn_version_changes
from lightning_nas.spaces.base import SearchSpace

log = logging.getLogger(__name__)


def restore_run(
    cfg: RunConfig, run_dir: Path, space: SearchSpace
) -> tuple[GAState | None, RunRecords, Stopwatch | None]:
    """The state to continue from, with every score the run recorded, and the run's clock. Without a
    usable checkpoint (stopped in generation 0, file damaged) state and clock are None: the search starts
    again from its seed and replays, taking the candidates it had scored from evaluations.jsonl, so
    nothing scored is trained again."""
    check_same_run(config_of_run(run_dir), cfg, str(run_dir))
    warn_version_changes(run_dir)
    entries = checkpoint.load_cache(run_dir, space)
    try:
        state, rows, wall = checkpoint.load(run_dir, space, identity(cfg))
    except checkpoint.CheckpointUnusable as why:
        log.warning("%s; replaying the search from its %d recorded score(s)", why, len(entries))
        return None, RunRecords(run_dir, entries), None
    if state.generation > cfg.search.generations:
        raise ConfigError(
            f"search.generations {cfg.search.generations} is below the {state.generation} generations "
            f"{run_dir} has finished; give at least {state.generation}"
        )
    records = RunRecords(run_dir, entries, rows)
    records.restore_missing_entries()
    return state, records, Stopwatch(offset=wall)


def write_run_files(where: Path, config_yaml: str, setup: dict[str, Any], resumed_from: int | None) -> None:
    """config.yaml (as resolved now), versions.json (of the first start) and setup.json (a resume, from
    generation `resumed_from`, appended to it with its versions)."""
    write_text(where / "config.yaml", config_yaml)
    resumes = _previous_resumes(where / "setup.json")
    if resumed_from is not None:
        at = datetime.now().isoformat(timespec="seconds")
        resumes.append({"at": at, "from_generation": resumed_from, "versions": versions()})
    if not (where / "versions.json").exists():
        write_json(where / "versions.json", versions())
    write_json(where / "setup.json", {**setup, "resumes": resumes})


def _previous_resumes(setup_file: Path) -> list[dict[str, Any]]:
    try:
        resumes = json.loads(setup_file.read_text()).get("resumes", [])
        return resumes if isinstance(resumes, list) else []
    except (OSError, ValueError, AttributeError):
        return []


def recorded_config(cfg: RunConfig) -> RunConfig:
    """The config as recorded: where the run lives and whether it resumed do not change its result."""
    return replace(cfg, run_dir=None, resume=None)
