"""What a user installing the package gets: version ranges in pyproject (an environment's working torch is
kept), the exact tested versions in constraints.txt (used by `make install` and CI), one version
number, a LICENSE in the distribution, a changelog, and a warning when a run is resumed under other
versions than it started with (scores can differ across torch versions)."""

from __future__ import annotations

import json
import logging
import re
from importlib import metadata
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.version import Version

import lightning_nas
from lightning_nas.search.resume import version_changes, warn_version_changes
from tests.conftest import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def requirements() -> list[Requirement]:
    extras = [r for group in PYPROJECT["optional-dependencies"].values() for r in group]
    return [Requirement(r) for r in PYPROJECT["dependencies"] + extras]


def pins() -> dict[str, Version]:
    out = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin"
            out[_norm(name)] = Version(version)
    return out


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_torch_and_torchvision_are_ranges_not_pins():
    reqs = {_norm(r.name): r for r in requirements()}
    for name in ("torch", "torchvision"):
        spec = reqs[name].specifier
        assert spec and all(s.operator in (">=", ">", "<", "<=", "!=") for s in spec), f"{name}: {spec}"
    assert Version("2.13.0") in reqs["torch"].specifier and Version("2.14.1") in reqs["torch"].specifier


def test_every_requirement_is_pinned_in_constraints_within_its_range():
    pinned = pins()
    for req in requirements():
        name = _norm(req.name)
        assert name in pinned, f"{req.name} is not in constraints.txt (run make lock)"
        assert pinned[name] in req.specifier, f"constraints.txt pins {req.name}=={pinned[name]}, outside {req.specifier}"


def test_constraints_are_what_this_environment_has():
    """The venv the tests run in was installed with constraints.txt: every pin is the installed version."""
    wrong = {}
    for name, version in pins().items():
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            continue  # a platform-specific package (e.g. a CUDA library) absent here
        if installed != version:
            wrong[name] = f"pinned {version}, installed {installed}"
    assert not wrong, wrong


def test_make_install_and_ci_use_the_constraints():
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"pip install .*-c constraints\.txt .*-e '\.\[test,export,ray\]'", makefile)
    assert "constraints.txt" in makefile.split("$(VENV)/.installed:")[1].splitlines()[0]  # a change reinstalls
    assert "make test" in (REPO / ".ci" / "run").read_text()


def test_one_version_number():
    assert PYPROJECT["dynamic"] == ["version"] and "version" not in PYPROJECT
    tool = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["dynamic"]
    assert tool["version"] == {"attr": "lightning_nas.__version__"}
    assert metadata.version("lightning_nas") == lightning_nas.__version__
    assert Version(lightning_nas.__version__)  # a valid PEP 440 version


def test_license_ships_and_the_changelog_starts():
    assert PYPROJECT["license"] == "MIT" and PYPROJECT["license-files"] == ["LICENSE"]
    assert (REPO / "LICENSE").read_text().startswith("MIT License")
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog and f"## [{lightning_nas.__version__}]" in changelog


def _run_with_versions(tmp_path: Path, **recorded: str) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    now = {"torch": metadata.version("torch"), "lightning_nas": lightning_nas.__version__}
    (run / "versions.json").write_text(json.dumps({**now, **recorded, "python": "3.11.0"}))
    return run


def test_a_resume_under_another_torch_warns_naming_both_versions(tmp_path, caplog):
    run = _run_with_versions(tmp_path, torch="2.5.0")
    assert version_changes(run) == [f"torch 2.5.0 -> {metadata.version('torch')}"]
    with caplog.at_level(logging.WARNING):
        warn_version_changes(run)
    assert f"torch 2.5.0 -> {metadata.version('torch')}" in caplog.text and str(run) in caplog.text


def test_same_versions_or_no_record_say_nothing(tmp_path, caplog):
    run = _run_with_versions(tmp_path)
    assert version_changes(run) == []
    (run / "versions.json").write_text("{not json")
    assert version_changes(run) == []
    assert version_changes(tmp_path / "missing") == []
    with caplog.at_level(logging.WARNING):
        warn_version_changes(run)
    assert caplog.text == ""


def test_resuming_a_search_started_under_another_torch_warns(tmp_path, tiny_cfg, caplog):
    from lightning_nas.search.engine import Search

    run = tmp_path / "run"
    first = Search(tiny_cfg("--run_dir", str(run), "--search.generations", "1"), callbacks=[]).run()
    recorded = json.loads((run / "versions.json").read_text())
    (run / "versions.json").write_text(json.dumps({**recorded, "torch": "2.5.0"}))
    with caplog.at_level(logging.WARNING):
        resumed = Search(tiny_cfg("--resume", str(run), "--search.generations", "2"), callbacks=[]).run()
    assert f"torch 2.5.0 -> {metadata.version('torch')}" in caplog.text
    assert resumed["evaluations"] == 2 * first["evaluations"]
    assert json.loads((run / "versions.json").read_text())["torch"] == "2.5.0"  # the first start's record stays
