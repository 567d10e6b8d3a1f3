"""Units a newcomer reads in one sitting: no class over 150 lines and no function over 80 in the package
(`lightning_nas/`) and its callbacks (`callbacks/`). Split a unit that grows past them."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

MAX_CLASS, MAX_FUNCTION = 150, 80


def oversized(root: Path) -> list[str]:
    """`file:line name (n lines > limit)` for every class or function under `root` over its limit."""
    out = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                limit = MAX_CLASS if isinstance(node, ast.ClassDef) else MAX_FUNCTION
                if lines > limit:
                    out.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name} ({lines} lines > {limit})")
    return out


def test_no_unit_is_over_its_limit() -> None:
    assert oversized(REPO / "lightning_nas") + oversized(REPO / "callbacks") == []


def test_the_gate_sees_an_oversized_function_and_class(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "big.py").write_text("def f():\n" + "    x = 1\n" * 80 + "\n\nclass C:\n" + "    y = 1\n" * 150 + "\n\ndef g():\n    pass\n")
    assert oversized(pkg) == ["pkg/big.py:1 f (81 lines > 80)", "pkg/big.py:84 C (151 lines > 150)"]
