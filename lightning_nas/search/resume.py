"""What may change when a run is resumed. A resumed run must give the same results as one that was
never stopped, so only keys that cannot change a score, a cost or the GA's choices may differ from the
recorded config: how candidates are executed (backend, workers, Ray), where TensorBoard writes, the
persistent cache, fine-tuning (it runs after the search), how often it checkpoints and
`search.generations` (a run stopped or finished at generation g continues exactly as a longer run would). The thread count per candidate
must stay the same: scores depend on it.

`identity(cfg)` is everything else, flattened to dotted keys; the checkpoint stores it, and a resume
whose identity differs is refused naming the keys."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import fields, is_dataclass, replace
from pathlib import Path
from typing import Any

from lightning_nas.backends import threads_per_candidate
from lightning_nas.config import RunConfig, config_from_yaml
from lightning_nas.errors import ConfigError, first_of

SAFE_ON_RESUME = (
    "search.generations",
    "search.checkpoint_every",
    "search.backend",
    "search.workers",
    "search.threads_per_worker",
    "threads",
    "proxy.candidates_per_gpu",
    "ray",
    "cache",
    "refine",
    "finetune",
    "tb_logs",
)
NOT_RECORDED = ("run_dir", "resume")  # where the run lives and whether it resumed
THREADS_KEY = "threads per candidate"  # derived: `threads` (serial backend) or search.threads_per_worker
SCORE_PACKAGES = ("torch", "lightning_nas")  # a score can differ across their versions

log = logging.getLogger(__name__)


def is_safe(key: str) -> bool:
    return any(key == s or key.startswith(s + ".") for s in SAFE_ON_RESUME)


def flatten(cfg: Any, prefix: str = "") -> dict[str, Any]:
    """A config dataclass as {dotted key: value} (lists and dicts are values)."""
    out: dict[str, Any] = {}
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        key = f"{prefix}{f.name}"
        if is_dataclass(value):
            out.update(flatten(value, key + "."))
        else:
            out[key] = [_plain(v) for v in value] if isinstance(value, list) else value
    return out


def _plain(value: Any) -> Any:
    return {k: getattr(value, k) for k in (f.name for f in fields(value))} if is_dataclass(value) else value


def identity(cfg: RunConfig) -> dict[str, Any]:
    """The keys that decide a run's results (everything but the keys safe on resume)."""
    flat = {k: v for k, v in flatten(cfg).items() if not is_safe(k) and k not in NOT_RECORDED}
    flat[THREADS_KEY] = threads_per_candidate(cfg)
    return flat


def identity_hash(ident: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:16]


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def describe_differences(recorded: dict[str, Any], now: dict[str, Any], limit: int = 6) -> str:
    """`seed (recorded 0, now 5), proxy.steps (recorded 100, now 10)`, at most `limit` keys."""
    items = [f"{k} (recorded {recorded.get(k)!r}, now {now.get(k)!r})" for k in differences(recorded, now)]
    return first_of(items, limit, ", ")


def config_of_run(run_dir: Path) -> RunConfig:
    """The config a run directory recorded; a one-line ConfigError when it is not a run directory."""
    if not (run_dir / "config.yaml").exists():
        raise ConfigError(f"cannot resume: {run_dir} is not a run directory (no config.yaml)")
    return config_from_yaml(run_dir / "config.yaml")


def check_same_run(recorded: RunConfig, cfg: RunConfig, where: str) -> None:
    """Refuse to continue the run recorded in `where` with a config that would change its results."""
    old, new = identity(recorded), identity(cfg)
    if old == new:
        return
    hint = f"; only {', '.join(SAFE_ON_RESUME)} may change on resume"
    if differences(old, new) == [THREADS_KEY]:
        hint = (
            f"; scores depend on the thread count per candidate (`threads` with the serial backend, "
            f"search.threads_per_worker otherwise): keep it at {old[THREADS_KEY]}"
        )
    raise ConfigError(f"cannot resume {where} with a different {describe_differences(old, new)}{hint}")


def version_changes(run_dir: Path) -> list[str]:
    """`torch 2.13.0 -> 2.14.1` for each package in SCORE_PACKAGES whose installed version differs from
    the one the run started with (its versions.json); nothing when the file is missing or unreadable."""
    from importlib import metadata

    try:
        recorded = json.loads((run_dir / "versions.json").read_text())
    except (OSError, ValueError):
        return []
    changes = []
    for pkg in SCORE_PACKAGES:
        try:
            now = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            now = None
        if isinstance(recorded, dict) and recorded.get(pkg, now) != now:
            changes.append(f"{pkg} {recorded.get(pkg)} -> {now}")
    return changes


def machine_change(run_dir: Path) -> str | None:
    """`AMD EPYC (AVX512) -> Intel(R) Xeon(R) Processor (AVX2)` when this machine's CPU or torch's CPU
    capability differs from the one the run started on (its versions.json); None when they are the same or
    the run did not record its CPU."""
    from lightning_nas.machine import describe, machine

    try:
        recorded = json.loads((run_dir / "versions.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(recorded, dict) or not recorded.get("cpu"):
        return None
    then, now = describe(recorded), describe(machine())
    return None if then == now else f"{then} -> {now}"


def warn_version_changes(run_dir: Path) -> None:
    """Log a warning (one line each) when the run is resumed under other versions, or on another CPU, than
    it started with: the scores it has are kept, the new ones may differ slightly from what an
    uninterrupted run would have computed."""
    changes = version_changes(run_dir)
    if changes:
        log.warning(
            "resuming %s under other versions than it started with (%s): its recorded scores are kept, new "
            "scores may differ slightly from an uninterrupted run's",
            run_dir,
            ", ".join(changes),
        )
    moved = machine_change(run_dir)
    if moved:
        log.warning(
            "resuming %s on another CPU than it started on (%s): its recorded scores are kept, new scores may "
            "differ in floating-point rounding from an uninterrupted run's",
            run_dir,
            moved,
        )


def given_keys(argv: list[str]) -> list[str]:
    """The dotted keys given as `--key value` / `--key=value` on a command line."""
    return [a[2:].split("=", 1)[0] for a in argv if a.startswith("--") and len(a) > 2]


def get_key(cfg: Any, key: str) -> Any:
    for part in key.split("."):
        cfg = getattr(cfg, part)
    return cfg


def with_overrides(recorded: RunConfig, parsed: RunConfig, keys: list[str]) -> RunConfig:
    """`recorded` with the value of each given key taken from `parsed` (the command line)."""

    def set_key(obj: Any, parts: list[str], value: Any) -> Any:
        if len(parts) == 1:
            return replace(obj, **{parts[0]: value})
        return replace(obj, **{parts[0]: set_key(getattr(obj, parts[0]), parts[1:], value)})

    out = recorded
    for key in keys:
        out = set_key(out, key.split("."), get_key(parsed, key))
    return out
