"""Every command answers `--help` without importing torch, Lightning or DEAP (parsing is cheap), and
each module is importable under one name only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lightning_nas.cli import COMMANDS as ENTRY_COMMANDS

REPO = Path(__file__).resolve().parents[1]

COMMANDS = [c.module.removeprefix("lightning_nas.") for c in ENTRY_COMMANDS.values()]
HEAVY = ("torch", "lightning", "deap", "torchvision")

_PROBE = """
import runpy, sys
sys.argv = ["{cmd}", "--help"]
try:
    runpy.run_module("{module}", run_name="__main__", alter_sys=True)
except SystemExit as e:
    assert e.code in (0, None), e.code
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
print("HEAVY:" + ",".join(heavy))
"""


@pytest.mark.parametrize("cmd", [*COMMANDS, "the lightning-nas entry"])
def test_help_is_cheap(cmd):
    module = "lightning_nas" if cmd.startswith("the") else f"lightning_nas.{cmd}"
    probe = _PROBE.format(cmd=cmd, module=module, heavy=HEAVY)
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "usage:" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "HEAVY:", out.stdout.strip().splitlines()[-1]


def test_callbacks_install_under_one_name():
    import lightning_nas.callbacks.progress as progress

    assert progress.__name__ == "lightning_nas.callbacks.progress"
    with pytest.raises(ImportError, match="lightning_nas.callbacks"):
        __import__("callbacks")
    assert "callbacks" not in sys.modules


def test_pyproject_lists_every_package():
    """setuptools installs only the packages pyproject names: a new subpackage missing from it would be
    absent from the wheel (an editable install hides that)."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    tree = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "lightning_nas").rglob("__init__.py")}
    assert listed == tree | {"lightning_nas.callbacks"}


def test_a_recorded_config_with_a_removed_key_still_reads(tmp_path, caplog):
    import yaml

    from lightning_nas.config import RunConfig, config_from_yaml, config_to_yaml

    data = yaml.safe_load(config_to_yaml(RunConfig(seed=7)))
    data["proxy"]["log_every_n_steps"] = 5  # written by versions before it was removed
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    cfg = config_from_yaml(path)
    assert cfg.seed == 7 and "log_every_n_steps" in caplog.text


def test_every_command_module_is_thin():
    """The commands' one convention: `main(argv)` in the command's module (`COMMANDS[name].cli`), which parses
    arguments and calls library code, defining nothing public besides `main` (helpers are `_private`; what
    other code needs lives in the library, e.g. `lightning_nas.rmi.precompute`, `reporting.run_reader`)."""
    import ast
    import importlib.util

    for name, command in ENTRY_COMMANDS.items():
        path = Path(importlib.util.find_spec(command.cli).origin)
        tree = ast.parse(path.read_text())
        public = [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef) and not n.name.startswith("_")]
        assert public == ["main"], f"{name}: {path.name} defines {public}"
