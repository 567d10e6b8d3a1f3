"""The `lightning-nas` console entry: installed with the package, lists every command, and each command is
exactly its `python -m lightning_nas.X` module (same options, same errors, same exit codes); a real
search runs through it, also with spawned local workers (the console script is then the main module)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import lightning_nas
from lightning_nas.cli import COMMANDS, ENTRY, prog
from tests.conftest import REPO, tiny_overrides

SCRIPT = Path(sys.executable).parent / ENTRY


def run(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *argv], cwd=REPO, capture_output=True, text=True, timeout=timeout)


def run_module(module: str, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *argv], cwd=REPO, capture_output=True, text=True, timeout=120)


def test_the_install_puts_the_command_beside_python():
    assert SCRIPT.exists(), f"{SCRIPT} missing: reinstall the package (pip install -e .)"
    assert [e.value for e in metadata.entry_points(group="console_scripts", name=ENTRY)] == ["lightning_nas.cli:entry"]


def test_help_lists_every_command_and_each_is_a_module_with_main():
    out = run("--help")
    assert out.returncode == 0, out.stderr
    listed = re.findall(r"^  (\w+)  ", out.stdout, re.M)
    assert listed == list(COMMANDS)
    assert set(COMMANDS) >= {"search", "score", "finetune", "report", "precompute", "export", "pick", "latency"}
    for name, command in COMMANDS.items():
        assert (REPO / Path(*command.module.split("."))).with_suffix(".py").exists() or (
            REPO / Path(*command.module.split(".")) / "__main__.py"
        ).exists(), f"{name}: no python -m {command.module}"


def test_version_is_the_one_written_in_the_package():
    out = run("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"{ENTRY} {lightning_nas.__version__}"
    assert metadata.version("lightning_nas") == lightning_nas.__version__


@pytest.mark.parametrize(
    "argv, needle",
    [([], "error: give a command; valid: search, score"), (["serach"], "error: unknown command 'serach'; valid: search, score")],
)
def test_a_missing_or_unknown_command_is_one_line_and_exit_2(argv, needle):
    out = run(*argv)
    assert out.returncode == 2 and out.stderr.strip().splitlines()[-1].startswith(needle), out.stderr
    assert "Traceback" not in out.stderr


def _options(help_text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])--[a-z][\w.-]*", help_text))


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_command_has_the_modules_options_under_its_own_name(name):
    via_entry, via_module = run(name, "--help"), run_module(COMMANDS[name].module, "--help")
    assert via_entry.returncode == via_module.returncode == 0, via_entry.stderr + via_module.stderr
    assert f"usage: {ENTRY} {name}" in via_entry.stdout
    assert f"usage: python -m {COMMANDS[name].module}" in via_module.stdout
    assert _options(via_entry.stdout) == _options(via_module.stdout) and len(_options(via_entry.stdout)) >= 2


def test_prog_names_the_entry_only_while_a_command_runs_through_it():
    assert prog("search") == "python -m lightning_nas.search"
    assert prog("latency") == "python -m lightning_nas.latency"


@pytest.mark.parametrize(
    "name, argv",
    [
        ("pick", ["/nonexistent/run", "--budget", "5"]),
        ("report", ["/nonexistent/run"]),
        ("latency", ["validate", "--lut", "/nonexistent/table.json"]),
    ],
)
def test_errors_and_exit_codes_are_the_modules(name, argv):
    via_entry, via_module = run(name, *argv), run_module(COMMANDS[name].module, *argv)
    assert via_entry.returncode == via_module.returncode == 2, via_entry.stderr
    last = via_entry.stderr.strip().splitlines()[-1]
    assert last == via_module.stderr.strip().splitlines()[-1] and last.startswith("error: ")


@pytest.mark.parametrize("backend", [["--search.backend", "serial"], ["--search.backend", "local", "--search.workers", "2"]])
def test_a_search_runs_through_the_entry(tmp_path, backend):
    run_dir = tmp_path / "run"
    out = run("search", *tiny_overrides(tmp_path), *backend, "--threads", "1", "--run_dir", str(run_dir), timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    results = json.loads((run_dir / "results.json").read_text())
    assert results["evaluations"] == 8 and results["best"]["rmi"] > 0
    assert "best:" in out.stdout
