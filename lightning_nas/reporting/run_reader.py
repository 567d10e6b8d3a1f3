"""Read a finished search run directory (config.yaml, results.json, evaluations.csv, ...), with a
one-line ConfigError for a missing, foreign or unfinished one."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lightning_nas.errors import ConfigError


@dataclass
class FinishedRun:
    path: Path
    results: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    versions: dict[str, Any] = field(default_factory=dict)
    finetune: dict[str, Any] | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # config.yaml as plain data
    device: dict[str, Any] = field(default_factory=dict)  # device.json (written by callbacks.report)

    @property
    def name(self) -> str:
        return self.path.name

    def setting(self, section: str, key: str, default: Any = None) -> Any:
        value = self.settings.get(section)
        return value.get(key, default) if isinstance(value, dict) else default

    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    def config(self) -> Any:
        """The run's RunConfig (as recorded)."""
        from lightning_nas.config import config_from_yaml

        return config_from_yaml(self.config_path)


def check_run_dir(path: str | Path) -> Path:
    """The run directory, or a ConfigError saying why it is not a finished one."""
    return finished_run(path)[0]


def finished_run(path: str | Path) -> tuple[Path, dict[str, Any]]:
    """The run directory and its results.json (read once), or a ConfigError saying why it is not a
    finished run."""
    run_dir = Path(path).expanduser()
    if not run_dir.is_dir():
        raise ConfigError(f"run directory not found: {run_dir}")
    if not (run_dir / "config.yaml").exists():
        raise ConfigError(f"not a run directory (no config.yaml): {run_dir}")
    if not (run_dir / "results.json").exists():
        raise ConfigError(
            f"unfinished run {run_dir}: no results.json ({_progress(run_dir)}); "
            f"finish it with python -m lightning_nas.search --resume {run_dir}"
        )
    return run_dir, read_results(run_dir)


RESULTS_KEYS = ("best", "cost_metric", "cost_unit", "wall_seconds")  # what every reader of results.json uses
WINNER_KEYS = ("genotype", "description", "rmi", "fitness", "cost", "costs", "feasible")


def read_results(run_dir: Path) -> dict[str, Any]:
    """results.json, or a one-line ConfigError naming it when it is damaged or lacks a key readers use."""
    results = _read_json(run_dir / "results.json")
    best = results.get("best")
    missing = [k for k in RESULTS_KEYS if k not in results]
    if not missing and isinstance(best, dict):
        missing = [f"best.{k}" for k in WINNER_KEYS if k not in best]
    elif not missing:
        missing = ["best (an object)"]
    if missing:
        raise ConfigError(f"corrupt results.json in {run_dir}: no {', '.join(missing)}; rerun the search to rewrite it")
    return results


def _progress(run_dir: Path) -> str:
    try:
        data = json.loads((run_dir / "checkpoint.json").read_text())
        return f"{data['generation']} generation(s) checkpointed"
    except (OSError, ValueError, KeyError, TypeError):
        return "no generation finished"


def load_run(path: str | Path) -> FinishedRun:
    run_dir, results = finished_run(path)
    rows = read_rows(run_dir)
    versions = _read_json(run_dir / "versions.json") if (run_dir / "versions.json").exists() else {}
    finetune = _read_json(run_dir / "finetune.json") if (run_dir / "finetune.json").exists() else None
    settings = _read_yaml(run_dir / "config.yaml")
    device = _read_json(run_dir / "device.json") if (run_dir / "device.json").exists() else {}
    return FinishedRun(run_dir, results, rows, versions, finetune, settings, device)


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise ConfigError(f"corrupt {path.name} in {path.parent}: {' '.join(str(err).split())}") from None
    return data if isinstance(data, dict) else {}


def _read_json(path: Path) -> dict[str, Any]:
    """A JSON object from `path`; a one-line ConfigError naming the file when it is unreadable or not one."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ConfigError(f"corrupt {path.name} in {path.parent}: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"corrupt {path.name} in {path.parent}: a JSON {type(data).__name__}, expected an object")
    return data


def read_rows(run_dir: Path) -> list[dict[str, Any]]:
    """Every evaluation of the run: checkpoint.json's rows (genotypes as JSON), else evaluations.csv."""
    checkpoint = run_dir / "checkpoint.json"
    if checkpoint.exists():
        rows = _read_json(checkpoint).get("rows")
        if isinstance(rows, list):
            return rows
    return _read_csv(run_dir / "evaluations.csv")


def _read_csv(path: Path) -> list[dict[str, Any]]:
    """evaluations.csv with numbers as floats, booleans as bools, empty cells as None."""
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return [{k: _value(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _value(text: str | None) -> Any:
    if text is None or text == "":
        return None
    if text in ("True", "False"):
        return text == "True"
    try:
        return float(text)
    except ValueError:
        return text


def front_of(results: dict[str, Any], run_dir: Path) -> list[dict[str, Any]]:
    """results.json's Pareto front, or a one-line ConfigError when the run has none."""
    front = results.get("pareto_front")
    if not isinstance(front, list) or not front:
        algorithm = results.get("algorithm", "ga")
        raise ConfigError(
            f"{run_dir} has no Pareto front (searched with search.algorithm {algorithm}); "
            "search with --search.algorithm nsga2 to pick budgets afterwards"
        )
    return front


def pick_from_run(run_dir: str | Path, budget_args: list[str]) -> dict[str, Any]:
    """The front member `--budget` values choose in a finished NSGA-II run."""
    from lightning_nas.search.pareto import member_costs, parse_budgets, pick

    path, results = finished_run(run_dir)
    front = front_of(results, path)
    budgets = parse_budgets(budget_args, list(member_costs(front[0])))
    return {**pick(front, budgets), "picked_under": budgets}
