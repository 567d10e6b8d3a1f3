"""Files a run reads back or writes on the side, damaged or unusable: the persistent SQLite cache (read-only,
uncreatable, a failed write mid-search), a garbage `--reference.checkpoint`, a damaged cached reference and a
garbage fine-tune `last.ckpt` or setup.json. Never a traceback: a run goes on with one warning where
nothing is lost but a cache, and stops with one `error:` line (exit 2) where the user named a bad file.

Root ignores file modes, so as root a read-only cache is an SQLite connection opened with `mode=ro` (what
SQLite falls back to for a file the user cannot write) and an uncreatable folder is one below a file."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
import torch

from lightning_nas.config import ReferenceConfig
from lightning_nas.data import build_datamodule
from lightning_nas.reference.loader import build_reference, cache_path
from lightning_nas.rmi.cache import EvalCache, RunCache
from lightning_nas.rmi.evaluator import ProxyResult
from tests.conftest import tiny_overrides
from tests.run_fixtures import FINETUNE_TINY, results_of, shared_tiny_run

pytestmark = pytest.mark.usefixtures("one_torch_thread")

KEPT = "will not be kept across runs"


def _search(argv: list[str]) -> int:
    from lightning_nas.search.cli import main

    return main([*argv, "--threads", "1"])


def _warnings(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger and r.levelno == logging.WARNING]


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def _read_only(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the SQLite file at `path` read-only for this process."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        return
    connect = sqlite3.connect

    def read_only(database: str | Path, *args: object, **kwargs: object) -> sqlite3.Connection:
        return connect(f"file:{Path(database)}?mode=ro", *args, uri=True, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sqlite3, "connect", read_only)


# ---- the persistent evaluation cache ------------------------------------------------------------
def test_read_only_cache_file_a_search_finishes_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """It crashed on the first new score (sqlite3.OperationalError: attempt to write a readonly database)."""
    path = tmp_path / "cache" / "evaluations.sqlite"
    EvalCache(path).close()
    _read_only(path, monkeypatch)
    with caplog.at_level(logging.WARNING):
        assert _search(tiny_overrides(tmp_path)) == 0
    (run,) = (tmp_path / "runs").iterdir()
    assert results_of(run)["best"]["genotype"]
    (warning,) = _warnings(caplog, "lightning_nas.rmi.cache")
    assert str(path) in warning and KEPT in warning and "readonly" in warning


def test_uncreatable_cache_folder_a_search_finishes_with_one_warning_per_cache(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A folder that cannot be created (a PermissionError traceback before): neither the trained reference
    nor the scores can be cached, the search runs all the same."""
    (tmp_path / "file").write_text("a file where a folder should be")
    cache_dir = tmp_path / "file" / "cache"
    argv = [*tiny_overrides(tmp_path), "--reference.cache_dir", str(cache_dir)]
    with caplog.at_level(logging.WARNING):
        assert _search(argv) == 0
    (run,) = (tmp_path / "runs").iterdir()
    assert results_of(run)["best"]["genotype"]
    (cache_warning,) = _warnings(caplog, "lightning_nas.rmi.cache")
    assert str(cache_dir / "evaluations.sqlite") in cache_warning and KEPT in cache_warning
    (reference_warning,) = _warnings(caplog, "lightning_nas.reference.loader")
    assert str(cache_dir) in reference_warning and "trained again next run" in reference_warning


@pytest.mark.parametrize("error", ["database or disk is full", "attempt to write a readonly database"])
def test_a_write_failing_mid_run_disables_writes_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, error: str
) -> None:
    path = tmp_path / "c.sqlite"
    cache = RunCache(EvalCache(path), "nb201", "h")
    score = ProxyResult(rmi=1.0, cka=[0.5], losses={"loss": 0.5}, seconds=1.0)
    cache.store("a", score)

    def fail(*_args: object) -> None:
        raise sqlite3.OperationalError(error)

    monkeypatch.setattr(cache.cache, "put", fail)
    with caplog.at_level(logging.WARNING):
        cache.store("b", score)
        cache.store("c", score)  # silent: writes are off
    (warning,) = _warnings(caplog, "lightning_nas.rmi.cache")
    assert str(path) in warning and error in warning and KEPT in warning
    assert cache.lookup("a") == score and cache.lookup("b") is None  # what was stored still reads


# ---- the reference checkpoint given by the user ------------------------------------------------
def _garbage(path: Path, kind: str) -> None:
    if kind == "random bytes":
        path.write_bytes(hashlib.sha256(b"x").digest() * 100)
    elif kind == "text":
        path.write_text("not a checkpoint\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        torch.save({"state_dict": {"w": torch.ones(100)}}, path)
        path.write_bytes(path.read_bytes()[:200])
    elif kind == "a pickled module":
        torch.save(torch.nn.Linear(2, 2), path)


GARBAGE = ["random bytes", "text", "empty", "truncated", "a pickled module"]


@pytest.mark.parametrize("kind", GARBAGE)
def test_garbage_reference_checkpoint_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    """torch's advice (weights_only=False, allowlisting globals, file a PyTorch issue) never reaches the user."""
    ckpt = tmp_path / "ref.pt"
    _garbage(ckpt, kind)
    with pytest.raises(SystemExit) as exit_info:
        _search([*tiny_overrides(tmp_path), "--reference.checkpoint", str(ckpt)])
    assert exit_info.value.code == 2
    line = _one_error_line(capsys)
    assert line.startswith(f"error: reference checkpoint {ckpt} is not a readable PyTorch checkpoint (")
    assert "weights_only" not in line and "issue" not in line and "safe_globals" not in line


# ---- the reference trained here and cached -----------------------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A cache folder holding the tiny reference (trained once) and the digest of its weights."""
    from tests.run_fixtures import one_thread

    cache_dir = tmp_path_factory.mktemp("reference-cache")
    with one_thread():
        model, info = build_reference(_ref_cfg(cache_dir), build_datamodule("digits", resolution=16), seed=0)
    assert not info["cached"]
    return cache_dir, _digest(model)


def _ref_cfg(cache_dir: Path) -> ReferenceConfig:
    return ReferenceConfig(train_epochs=1, cache_dir=str(cache_dir))


def _digest(model: torch.nn.Module) -> str:
    return hashlib.sha256(b"".join(t.contiguous().numpy().tobytes() for t in model.state_dict().values())).hexdigest()


def _damage(path: Path, kind: str) -> None:
    if kind in ("random bytes", "empty", "truncated"):
        path.write_bytes({"random bytes": os.urandom(5000), "empty": b"", "truncated": path.read_bytes()[:300]}[kind])
    elif kind == "another key":  # a readable file written for other inputs (a copied or renamed file)
        obj = torch.load(path, weights_only=True)
        torch.save({**obj, "key": {**obj["key"], "seed": 1}}, path)
    elif kind == "another arch":
        torch.save({**torch.load(path, weights_only=True), "state_dict": {"w": torch.ones(3)}}, path)
    elif kind == "no state_dict":
        torch.save([1, 2, 3], path)


@pytest.mark.parametrize("kind", ["random bytes", "empty", "truncated", "another key", "another arch", "no state_dict"])
def test_damaged_cached_reference_is_retrained_with_one_warning(
    trained: tuple[Path, str], tmp_path: Path, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    source, weights = trained
    cache_dir = tmp_path / "cache"
    shutil.copytree(source, cache_dir)
    dm = build_datamodule("digits", resolution=16)
    path = cache_path(_ref_cfg(cache_dir), dm, 0)
    assert path.exists()
    _damage(path, kind)
    with caplog.at_level(logging.WARNING):
        model, info = build_reference(_ref_cfg(cache_dir), dm, seed=0)
    (warning,) = _warnings(caplog, "lightning_nas.reference.loader")
    assert str(path) in warning and "training it again" in warning and "weights_only" not in warning
    assert not info["cached"] and _digest(model) == weights  # retrained: the same weights as the first time
    again, cached = build_reference(_ref_cfg(cache_dir), dm, seed=0)
    assert cached["cached"] and _digest(again) == weights  # and cached again


# ---- fine-tune checkpoints ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def finetuned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny run fine-tuned once (checkpoints/last.ckpt and setup.json written)."""
    from lightning_nas.finetune import main
    from tests.run_fixtures import one_thread

    run_dir = shared_tiny_run(tmp_path_factory, "garbage-finetune")
    with one_thread():
        assert main(_finetune_argv(run_dir)) == 0
    assert (run_dir / "finetune" / "checkpoints" / "last.ckpt").exists()
    return run_dir


def _finetune_argv(run_dir: Path) -> list[str]:
    tb = run_dir.parent / "tb"
    return ["--run_dir", str(run_dir), *FINETUNE_TINY, "--finetune.export", "false", "--tb_logs", str(tb), "--threads", "1"]


def test_garbage_last_ckpt_starts_the_finetune_from_scratch_with_one_warning(
    finetuned: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """It was an UnpicklingError traceback. A last.ckpt that cannot be read holds nothing to resume: it is
    kept aside (not deleted) and the fine-tune starts over."""
    from lightning_nas.finetune import main

    last = finetuned / "finetune" / "checkpoints" / "last.ckpt"
    last.write_bytes(b"\x80\x04garbage" * 50)
    with caplog.at_level(logging.WARNING):
        assert main(_finetune_argv(finetuned)) == 0
    (warning,) = _warnings(caplog, "lightning_nas.training.finetune")
    assert str(last) in warning and "from scratch" in warning and "weights_only" not in warning
    record = json.loads((finetuned / "finetune.json").read_text())
    assert record["resumed_from_epoch"] is None and record["complete"]
    assert last.exists() and torch.load(last, weights_only=True)["state_dict"]  # a fresh, readable one
    (aside,) = last.parent.glob("last.ckpt.unreadable-*")
    assert aside.read_bytes().startswith(b"\x80\x04garbage")


def test_garbage_finetune_setup_json_is_one_error_line(
    finetuned: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a readable setup.json nothing says what last.ckpt was trained for: refused, never overwritten."""
    from lightning_nas.finetune import main

    setup = finetuned / "finetune" / "setup.json"
    original = setup.read_bytes()
    setup.write_bytes(b"\xff\xfe{not json")
    try:
        with pytest.raises(SystemExit) as exit_info:
            main(_finetune_argv(finetuned))
        assert exit_info.value.code == 2
        line = _one_error_line(capsys)
        assert str(setup) in line and "finetune.resume=false" in line
    finally:
        setup.write_bytes(original)
