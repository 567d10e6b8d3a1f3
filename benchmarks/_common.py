"""Shared by the benchmark scripts: where the ../shared data is, the small-profile config overrides,
the scorer/cache for a seed, and writing a results folder (CSV + Markdown + command/config/versions)."""

from __future__ import annotations

import csv
import json
import os
import shlex
import sys
import tarfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python benchmarks/x.py` from anywhere
    sys.path.insert(0, str(REPO))

# ../shared/data beside the repo; $LNAS_SHARED_DATA names another (a device machine: .device-data, carried along)
SHARED = Path(os.environ.get("LNAS_SHARED_DATA") or REPO.parent / "shared" / "data")
RESULTS = REPO / "benchmarks" / "results"
CONFIG = REPO / "benchmarks" / "configs" / "nb201_cifar10_small.yaml"
CIFAR_DIR = Path("/tmp/cifar10-jpg")
ACC_TABLE = SHARED / "nas-bench-201" / "nb201_accuracy_cost.csv.gz"
HW_TABLE = SHARED / "hw-nas-bench" / "nb201_hw_metrics.csv.gz"
REFERENCE = SHARED / "reference" / "resnet20-12fca82f.th"
NB201_DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
DEVICES = ("edgegpu_latency", "raspi4_latency", "edgetpu_latency", "pixel3_latency", "eyeriss_latency", "fpga_latency")


def require_shared() -> None:
    if not SHARED.exists():
        raise SystemExit(f"error: benchmark data not found at {SHARED} (the ../shared folder beside the repo)")


def cifar_root(root: Path = CIFAR_DIR) -> Path:
    """The CIFAR-10 JPEG tree, unpacked once from ../shared (atomically: a half-unpacked tree is never used)."""
    if (root / "train").is_dir() and (root / "test").is_dir():
        return root
    tmp = root.with_name(root.name + ".partial")
    tmp.mkdir(parents=True, exist_ok=True)
    with tarfile.open(SHARED / "cifar10" / "cifar10-jpg.tar.gz") as tar:
        tar.extractall(tmp, filter="data")
    tmp.replace(root)
    return root


def base_overrides(seed: int, cache_path: str | None, extra: list[str] | None = None) -> list[str]:
    argv = [
        "--config", str(CONFIG),
        "--data.root", str(cifar_root()),
        "--reference.checkpoint", str(REFERENCE),
        "--seed", str(seed),
        "--cost.table", str(HW_TABLE),
        "--cost.dataset", "cifar10",
    ]  # fmt: skip
    if cache_path:
        argv += ["--cache.path", cache_path]
    return argv + list(extra or [])


def out_dir(name: str, profile: str, override: str | None = None) -> Path:
    path = Path(override) if override else RESULTS / name if profile == "small" else RESULTS / f"{name}-{profile}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    fields = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def md_table(rows: list[dict[str, Any]], fmt: str = "{:.3f}") -> str:
    if not rows:
        return "(no rows)\n"
    fields = list(dict.fromkeys(k for r in rows for k in r))

    def cell(v: Any) -> str:  # `|` (in NB201 arch strings) would end the cell: escape it
        return fmt.format(v) if isinstance(v, float) else str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(fields) + " |", "|" + "---|" * len(fields)]
    lines += ["| " + " | ".join(cell(r.get(k, "")) for k in fields) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write_provenance(path: Path, argv: list[str], config: dict[str, Any], at_start: dict[str, Any] | None = None) -> None:
    """command.txt, config.json and versions.json; `at_start`: `versions()` taken before the script wrote
    anything (its git_dirty then says whether the code was committed, not whether results were written)."""
    from lightning_nas.run_dir import versions

    (path / "command.txt").write_text("python " + shlex.join([sys.argv[0], *argv]) + "\n")  # quoted: an empty argument survives
    (path / "config.json").write_text(json.dumps(config, indent=2, default=str) + "\n")
    (path / "versions.json").write_text(json.dumps(at_start or versions(), indent=2, default=str) + "\n")
