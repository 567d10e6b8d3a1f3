"""What `pip install` does to an environment that already has a working torch, and whether the project
works with the older torch this machine offers.

1. In this venv (torch 2.14.1 installed by `make install`): `pip install --dry-run --report` of the
   project, i.e. what pip would install or replace.
2. In a new venv with torch 2.13.0+cpu (the wheel in /opt/wheels), first alone, then with its
   torchvision 0.28.0: the same dry run with the pyproject of `--before` (exact pins `torch==2.14.1`,
   `torchvision==0.29.1`) and with the current one (ranges): which packages pip would replace.
3. In that venv: the real `pip install -e '.[test,export]'`. torchvision 0.28.0 on this machine's
   index is a CUDA build that does not load with the CPU torch 2.13 (`operator torchvision::nms does
   not exist`), so it is then uninstalled: the quick start (digits, NB201: no torchvision needed) runs
   under torch 2.13 with its own reference and score cache, then a set of test files that need no
   torchvision. The same quick start runs in this venv (torch 2.14.1) for comparison.

    python benchmarks/install_check.py --before ea5e060

Results in benchmarks/results/install_check/: summary.json (per step: the torch/torchvision pip would
install, whether torch is replaced, the quick start's answer, pytest's last line), the install list of each pip dry run (pip_*.json),
search.log, pytest.log, command.txt, versions.json. The last line is
`kept_2_14=<bool> kept_2_13=<bool> before_replaces_2_13=<bool> torch_only_kept=<bool> under=<torch> search_rc=<n>
same_answer=<bool> tests=<pytest summary>`."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REPO, out_dir, write_provenance

OLD_TORCH = "/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"
OLD_TORCHVISION = "torchvision==0.28.0"  # the release paired with torch 2.13
TESTS = [
    "tests/test_cka.py",
    "tests/test_nb201_space.py",
    "tests/test_proxy.py",
    "tests/test_ga.py",
    "tests/test_entry_point.py",
    "tests/test_export.py",
    "tests/test_eval_cache.py",
]


def sh(argv: list[str], log: Path | None = None, cwd: Path = REPO, timeout: float = 3600) -> subprocess.CompletedProcess:
    print("+", " ".join(map(str, argv)), flush=True)
    done = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if log is not None:
        log.write_text(done.stdout + done.stderr)
    return done


def compact(report: dict[str, Any]) -> list[dict[str, Any]]:
    """A pip --report's install list: name, version, whether it was asked for, where it comes from."""
    return [
        {"name": i["metadata"]["name"].lower(), "version": i["metadata"]["version"], "requested": i.get("requested", False),
         "from": i.get("download_info", {}).get("url", "")}  # fmt: skip
        for i in report["install"]
    ]


def dry_run(python: Path, project: Path, stored: Path) -> dict[str, Any]:
    """What `pip install PROJECT` would install into `python`'s environment (pip's --report, its install
    list stored in `stored`)."""
    report = Path(tempfile.mkdtemp()) / "report.json"
    done = sh([python, "-m", "pip", "install", "--dry-run", "--quiet", "--report", report, project])
    if done.returncode != 0:
        raise SystemExit(f"error: pip --dry-run failed: {done.stderr[-1000:]}")
    rows = compact(json.loads(report.read_text()))
    shutil.rmtree(report.parent)
    stored.write_text(json.dumps(rows, indent=1) + "\n")
    installs = {r["name"]: r["version"] for r in rows}
    return {
        "would_install": installs,
        "installs_torch": installs.get("torch"),
        "installs_torchvision": installs.get("torchvision"),
        "torch_kept": "torch" not in installs,
        "count": len(installs),
    }


def old_project(rev: str, where: Path) -> Path:
    """The repository at `rev` (its pyproject had the exact pins), unpacked into `where`."""
    where.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    return where


def torch_version(python: Path) -> str:
    code = "import importlib.metadata as m, torch\ntry:\n    v = m.version('torchvision')\nexcept m.PackageNotFoundError:\n    v = None\nprint(torch.__version__, v)"
    return sh([python, "-c", code]).stdout.strip()


def quick_start(python: Path, work: Path, log: Path) -> dict[str, Any]:
    """The quick start search with its own reference and score cache (everything computed here)."""
    runs = work / "runs"
    began = time.perf_counter()
    search = sh(
        [python, "-m", "lightning_nas.search", "--runs_root", runs, "--tb_logs", work / "tb", "--run_dir", runs / "quickstart",
         "--reference.cache_dir", work / "reference", "--cache.path", work / "scores.sqlite"],  # fmt: skip
        log=log,
    )
    out: dict[str, Any] = {"search_rc": search.returncode, "search_seconds": round(time.perf_counter() - began, 1)}
    if search.returncode == 0:
        results = json.loads((runs / "quickstart" / "results.json").read_text())
        out["search_best"] = {"arch": results["best"]["description"], "rmi": results["best"]["rmi"]}
    return out


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="a commit whose pyproject pinned torch exactly")
    parser.add_argument("--out", default=None)
    parser.add_argument("--keep", action="store_true", help="keep the torch 2.13 venv (printed)")
    a = parser.parse_args(argv)
    out = out_dir("install_check", "small", a.out)
    work = Path(tempfile.mkdtemp(prefix="install_check-"))
    summary: dict[str, Any] = {"before": a.before}
    try:
        summary["torch_2_14_env"] = {"installed": torch_version(Path(sys.executable))}
        summary["torch_2_14_env"].update(dry_run(Path(sys.executable), REPO, out / "pip_2_14_now.json"))

        venv = work / "venv213"
        sh([sys.executable, "-m", "venv", venv])
        py = venv / "bin" / "python"
        sh([py, "-m", "pip", "install", "-q", "--upgrade", "pip"])
        began = time.perf_counter()
        done = sh([py, "-m", "pip", "install", "-q", OLD_TORCH])
        if done.returncode != 0:
            raise SystemExit(f"error: could not install {OLD_TORCH}: {done.stderr[-500:]}")
        before = old_project(a.before, work / "before")
        summary["torch_2_13_only_env"] = {
            "before_pins": dry_run(py, before, out / "pip_2_13_only_before.json"),
            "now_ranges": dry_run(py, REPO, out / "pip_2_13_only_now.json"),
        }
        done = sh([py, "-m", "pip", "install", "-q", OLD_TORCHVISION])
        if done.returncode != 0:
            raise SystemExit(f"error: could not install {OLD_TORCHVISION}: {done.stderr[-500:]}")
        summary["torch_2_13_env"] = env = {
            "installed_before": torch_version(py),
            "before_pins": dry_run(py, before, out / "pip_2_13_before.json"),
            "now_ranges": dry_run(py, REPO, out / "pip_2_13_now.json"),
        }
        done = sh([py, "-m", "pip", "install", "-q", "-e", f"{REPO}[test,export]"], log=out / "install_2_13.log")
        env["torchvision_loads"] = sh([py, "-c", "import torchvision.ops; torchvision.ops.nms"]).returncode == 0
        if not env["torchvision_loads"]:
            sh([py, "-m", "pip", "uninstall", "-q", "-y", "torchvision"])
        env["install_rc"] = done.returncode
        env["install_seconds"] = round(time.perf_counter() - began, 1)
        env["installed"] = torch_version(py)
        env.update(quick_start(py, work / "torch213", out / "search.log"))
        summary["torch_2_14_env"].update(quick_start(Path(sys.executable), work / "torch214", out / "search_2_14.log"))
        summary["same_answer"] = env.get("search_best") == summary["torch_2_14_env"].get("search_best")
        began = time.perf_counter()
        deselect = ["-k", "not ofa"] if not env["torchvision_loads"] else []  # the OFA space needs torchvision
        tests = sh([py, "-m", "pytest", "-q", "-p", "no:cacheprovider", *deselect, *TESTS], log=out / "pytest.log")
        env["pytest_args"] = [*deselect, *TESTS]
        env["tests"] = TESTS
        env["tests_rc"], env["tests_seconds"] = tests.returncode, round(time.perf_counter() - began, 1)
        env["tests_summary"] = (tests.stdout.strip().splitlines() or [""])[-1]
    finally:
        if a.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    write_provenance(out, argv, {"old_torch": OLD_TORCH, "old_torchvision": OLD_TORCHVISION, "tests": TESTS, "before": a.before})
    env = summary["torch_2_13_env"]
    print(
        f"kept_2_14={summary['torch_2_14_env']['torch_kept']} kept_2_13={env['now_ranges']['torch_kept']} "
        f"before_replaces_2_13={not env['before_pins']['torch_kept']} "
        f"torch_only_kept={summary['torch_2_13_only_env']['now_ranges']['torch_kept']} "
        f"under={env['installed'].replace(' ', '/')} search_rc={env['search_rc']} same_answer={summary['same_answer']} "
        f"tests={env['tests_summary']}"
    )
    return 0 if env["search_rc"] == 0 and env["tests_rc"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
