"""Damaged run files: each file a resumed search reads back (checkpoint.json, evaluations.jsonl,
setup.json, config.yaml) truncated, emptied, holding the wrong JSON type, not UTF-8, or deleted. The
run's own record files only cost time when damaged: the search replays or restores what it lost and
gives the same results as the uninterrupted run. config.yaml is the user's config and cannot be guessed:
a damaged one is one line naming it, exit 2, and nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reliability.runs import assert_same_results, copy_run, one_error_line, run_main

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _replace_lines(path: Path, new: list[bytes]) -> None:
    lines = path.read_bytes().splitlines()
    path.write_bytes(b"\n".join(new + lines[len(new) :]) + b"\n")


DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "empty": lambda p: p.write_bytes(b""),
    "wrong type": lambda p: p.write_text("[1, 2, 3]\n"),
    "not utf-8": lambda p: p.write_bytes(b"\xff\xfe\xfa" + p.read_bytes()[3:]),
    "deleted": lambda p: p.unlink(),
}
JSONL_DAMAGE: dict[str, Callable[[Path], None]] = {
    **DAMAGE,
    "lines of the wrong type": lambda p: _replace_lines(p, [b"{}", b"[1]", b'{"key": 3}']),
    "a line not utf-8": lambda p: _replace_lines(p, [b"\xff\xfe{garbage"]),
}


RECORD_DAMAGE = [
    *((name, damage) for name in ("checkpoint.json", "setup.json") for damage in DAMAGE),
    *(("evaluations.jsonl", damage) for damage in JSONL_DAMAGE),
]


@pytest.mark.parametrize(("name", "damage"), RECORD_DAMAGE)
def test_a_damaged_record_file_is_rebuilt_and_the_run_finishes_the_same(root, tmp_path, name, damage, capfd):
    run = copy_run(root / "short", tmp_path / "short")
    JSONL_DAMAGE[damage](run / name)
    assert run_main("--resume", str(run), "--search.generations", "3") == 0
    assert_same_results(run, root / "full")
    assert "Traceback" not in capfd.readouterr().err


def test_both_record_files_lost_rescore_and_finish_the_same(root, tmp_path):
    run = copy_run(root / "short", tmp_path / "short")
    (run / "checkpoint.json").unlink()
    (run / "evaluations.jsonl").unlink()
    assert run_main("--resume", str(run), "--search.generations", "3") == 0
    assert_same_results(run, root / "full")


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_config_yaml_is_one_line_naming_it(root, tmp_path, capsys, damage):
    run = copy_run(root / "short", tmp_path / "short")
    DAMAGE[damage](run / "config.yaml")
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    assert run_main("--resume", str(run)) == 2
    one_error_line(capsys.readouterr().err, "config.yaml")
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_a_damaged_run_without_any_generation_still_resumes(root, tmp_path):
    """Stopped in generation 0 and then damaged: nothing to restore from, everything is scored again."""
    run = copy_run(root / "short", tmp_path / "short")
    (run / "checkpoint.json").unlink()
    JSONL_DAMAGE["truncated"](run / "evaluations.jsonl")
    assert run_main("--resume", str(run), "--search.generations", "3") == 0
    assert_same_results(run, root / "full")


def test_a_null_where_a_recorded_config_never_holds_one_names_the_file(tmp_path):
    """Cut anywhere, a config.yaml can leave a key null that a recorded config never holds (a cut inside
    `search:` leaves constraint_handling empty): the error names the file, not the key alone."""
    from lightning_nas.config import RunConfig, config_from_yaml, config_to_yaml
    from lightning_nas.errors import ConfigError

    path = tmp_path / "config.yaml"
    path.write_text(config_to_yaml(RunConfig()).replace("constraint_handling: penalty", "constraint_handling:"))
    with pytest.raises(ConfigError, match=r"config.yaml: search.constraint_handling is empty \(null\).*damaged"):
        config_from_yaml(path)
    path.write_text(config_to_yaml(RunConfig()))
    assert config_from_yaml(path).search.constraint_handling == "penalty"  # nullable keys (run_dir, proxy.table, ...) stay null
