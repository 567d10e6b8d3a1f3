"""Strategies and backends are plug-ins: no code branches on a strategy's or backend's name outside the
module that registers it and the registries themselves (the engine, the checks and the callbacks ask
the registered class instead)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lightning_nas.backends import BACKENDS
from lightning_nas.search.strategy import STRATEGIES

REPO = Path(__file__).resolve().parents[1]
ROOTS = ("lightning_nas", "callbacks")
REGISTRIES = ("lightning_nas/registry.py", "lightning_nas/search/strategy.py", "lightning_nas/backends/__init__.py")
SKIP = ("lightning_nas/callbacks",)  # a symlink to callbacks/ in some checkouts, scanned once as callbacks/
COMPARE = r"(?:==|!=|\bnot\s+in\b|\bin\b)"
CONFIG = r"\b(?:search|cfg|ga|self)\.(?:algorithm|backend)\b"  # the config's names (not e.g. a latency tool's)
ATTRIBUTE = re.compile(rf"{CONFIG}\s*{COMPARE}|{COMPARE}\s*(?:\w+\.)*{CONFIG}(?!\s*[.(\[])")


def owners() -> dict[str, str]:
    """Each registered strategy and backend name -> the module that registers (owns) it, as a path."""
    out = {}
    for registry in (STRATEGIES, BACKENDS):
        for name in registry.names():
            entry = registry.get(name)
            module = entry.module if hasattr(entry, "load") else entry.__module__
            out[name] = module.replace(".", "/") + ".py"
    return out


def name_branches(path: str, text: str, names: dict[str, str]) -> list[str]:
    """`path:line: code` for each comparison with a registered name (or with a config's `algorithm` /
    `backend`) and each hard-coded list of names in `text`, unless `path` is that name's own module or a
    registry."""
    if path in REGISTRIES:
        return []
    quoted = "|".join(re.escape(n) for n in names)
    literal = re.compile(rf"{COMPARE}\s*\(?\s*([\"'])({quoted})\1|([\"'])({quoted})\3\s*{COMPARE}")
    listed = re.compile(rf"[(\[]\s*([\"'])({quoted})\1\s*,\s*([\"'])({quoted})\3")  # a hard-coded list of names
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0]
        hits = [m.group(2) or m.group(4) for m in literal.finditer(code)]
        if any(names[n] != path for n in hits) or ATTRIBUTE.search(code) or listed.search(code):
            found.append(f"{path}:{number}: {line.strip()}")
    return found


def test_no_branch_on_a_strategy_or_backend_name():
    names = owners()
    found = []
    for root in ROOTS:
        for file in sorted((REPO / root).rglob("*.py")):
            path = file.relative_to(REPO).as_posix()
            if not path.startswith(SKIP):
                found += name_branches(path, file.read_text(), names)
    assert not found, "branch on a strategy or backend name; ask the registered class instead:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "snippet",
    [
        'if cfg.search.algorithm == "nsga2":',
        "fits = a if self.cfg.search.algorithm == 'ga' else b",
        'remote = cfg.search.backend == "ray" and bool(cfg.ray.address)',
        'if "serial" != backend_name:',
        'if name in ("local", "ray"):',
        "if cfg.search.backend in BACKENDS_WITH_WORKERS:",
        "return ga.algorithm != x",
        "if x in cfg.search.backend:",
        'check_choice("search.backend", self.backend, ("serial", "local", "ray"))',
    ],
)
def test_the_guard_sees_a_name_branch(snippet):
    assert name_branches("lightning_nas/search/engine.py", f"x = 1\n{snippet}\n", owners())


def test_the_guard_lets_the_owner_its_registries_and_plain_text_be():
    names = owners()
    assert names["ga"] == "lightning_nas/search/ga.py" and names["ray"] == "lightning_nas/backends/ray_backend.py"
    assert not name_branches("lightning_nas/search/nsga2.py", 'if mode == "nsga2":\n', names)
    assert not name_branches("lightning_nas/search/strategy.py", 'if cfg.algorithm == "ga":\n', names)
    ok = '"""search.algorithm nsga2 needs..."""\n_EVALUATORS["local"] = e\nray.init(address=a or "local")\n'
    ok += "for j, outcome in self.backend.map(batch):\n"
    assert not name_branches("lightning_nas/backends/worker.py", ok + '# if backend == "ray"\n', names)
    assert name_branches("lightning_nas/search/nsga2.py", 'if mode == "ga":\n', names)  # not its own name
