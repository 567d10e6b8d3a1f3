"""No code outside a space's own package branches on a space's name: the tools ask the space object
(`lightning_nas.spaces.base.SearchSpace`) instead. Registrations (`SPACES.register("nb201")`) and config
defaults are no comparisons and pass."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("lightning_nas", "callbacks")
ALLOWED = ("lightning_nas/spaces/",)  # a space's own package may name itself


def space_names() -> set[str]:
    from lightning_nas.spaces import SPACES

    return set(SPACES.names())


def _literals(node: ast.AST) -> list[str]:
    """String constants of `node`, or of the tuple, list or set literal it is."""
    items = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
    return [n.value for n in items if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def name_branches(source: str, names: set[str]) -> list[int]:
    """Lines that compare with a space name (`== "nb201"`, `in ("nb201", ...)`) or index a dict literal
    keyed by one (`{"nb201": ...}[space.name]`)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(value in names for operand in operands for value in _literals(operand)):
                lines.append(node.lineno)
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Dict):
            if any(value in names for key in node.value.keys if key is not None for value in _literals(key)):
                lines.append(node.lineno)
    return lines


def scanned_files() -> list[Path]:
    """The Python files of `SCANNED` (symbolic links not followed: `lightning_nas/callbacks` may be one)."""
    files = []
    for top in SCANNED:
        for folder, dirs, names in os.walk(ROOT / top):
            dirs[:] = [d for d in dirs if not (Path(folder) / d).is_symlink()]
            files += [Path(folder) / n for n in names if n.endswith(".py")]
    return sorted(f for f in files if not f.relative_to(ROOT).as_posix().startswith(ALLOWED))


@pytest.mark.parametrize(
    "snippet",
    [
        'if space.name == "nb201":\n    pass\n',
        'if ctx.space.name != "ofa_mbv3":\n    pass\n',
        'ok = "nb201" == lut.space\n',
        'ok = args.space in ("nb201", "ofa_mbv3")\n',
        'ok = name not in ["ofa_mbv3"]\n',
        'x = {"nb201": 1, "ofa_mbv3": 2}[space.name]\n',
    ],
)
def test_detects_a_name_branch(snippet: str) -> None:
    assert name_branches(snippet, {"nb201", "ofa_mbv3"}) == [1]


@pytest.mark.parametrize(
    "snippet",
    [
        '@SPACES.register("nb201")\ndef f(): ...\n',
        'name: str = "nb201"\n',
        'ok = data.name == "cifar10"\n',
        'PRESETS = {"nb201": {"epochs": 200}}\nx = PRESETS[cfg.preset]\n',
    ],
)
def test_allows_registrations_defaults_and_other_names(snippet: str) -> None:
    assert name_branches(snippet, {"nb201", "ofa_mbv3"}) == []


def test_no_space_name_branch_outside_the_spaces() -> None:
    names = space_names()
    assert names >= {"nb201", "ofa_mbv3"}
    files = scanned_files()
    assert any(f.name == "engine.py" for f in files) and any(f.parent.name == "callbacks" for f in files)
    found = [f"{f.relative_to(ROOT)}:{line}" for f in files for line in name_branches(f.read_text(), names)]
    assert not found, "branch on a space name (ask the space instead): " + ", ".join(found)
