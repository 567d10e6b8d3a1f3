"""A tiny finished search run (digits, NB201 at C4/N1, population 4 x 2 generations, 5 proxy steps,
a 1-epoch reference) for the fine-tuning, export and report tests: seconds on a CPU."""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from lightning_nas.config import RunConfig, parse_config

TINY = [
    "--search.population", "4",
    "--search.generations", "2",
    "--search.backend", "serial",  # the quick start's local workers are tested in test_backends.py
    "--proxy.steps", "5",
    "--space.C", "4",
    "--space.N", "1",
    "--space.full_C", "4",
    "--space.full_N", "1",
    "--probe.pool", "64",
    "--probe.batch_size", "16",
    "--reference.train_epochs", "1",
    "--cost.budget", "0.5",
]  # fmt: skip

FINETUNE_TINY = [
    "--finetune.epochs", "1",
    "--finetune.batch_size", "128",
    "--finetune.limit_train_batches", "3",
    "--finetune.limit_val_batches", "2",
    "--finetune.limit_test_batches", "2",
    "--finetune.progress_bar", "false",
]  # fmt: skip


def tiny_config(tmp: Path, *extra: str) -> RunConfig:
    cfg, _ = parse_config([
        *TINY,
        "--reference.cache_dir", str(tmp / "cache"),
        "--tb_logs", str(tmp / "tb"),
        "--run_dir", str(tmp / "run"),
        *extra,
    ])  # fmt: skip
    return cfg


def tiny_run(tmp: Path) -> Path:
    """Run the tiny search (no callbacks) and return its run directory."""
    from lightning_nas.search.engine import Search

    cfg = tiny_config(tmp)
    Search(cfg, callbacks=[]).run()
    return Path(cfg.run_dir)  # type: ignore[arg-type]


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """torch on one thread: on a shared 2-core machine two threads per process oversubscribe the cores
    and spin (a tiny search took 4x the CPU time with 2 threads under load)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def shared_tiny_run(factory: pytest.TempPathFactory, name: str) -> Path:
    """A private copy (named `name`) of one tiny run made once per test session and shared by the
    fine-tuning, export and report tests (their reference cache is shared too)."""
    base = factory.getbasetemp() / "shared_tiny_search"
    if not (base / "run" / "results.json").exists():
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir()
        with one_thread():
            tiny_run(base)
    dest = factory.mktemp(name) / "run"
    shutil.copytree(base / "run", dest)
    return dest


def results_of(run: Path) -> dict:
    """A finished run's results.json."""
    return json.loads((run / "results.json").read_text())


def rows_of(run: Path) -> list[dict]:
    """Every evaluation of a run, typed (the checkpoint holds them as JSON)."""
    return json.loads((run / "checkpoint.json").read_text())["rows"]
