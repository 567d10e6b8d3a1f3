"""A table of scores built on one CPU serves every CPU (issue 23): tables are matched on the settings
identity (what the scores mean), never on float bits; a table from another machine is served with one line
naming both machines; a real settings change is refused in one line naming it; older tables are matched on
what they record; shards join across machines; a resume on another CPU warns; every record names its CPU."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lightning_nas.config import parse_config
from lightning_nas.errors import ConfigError
from lightning_nas.machine import describe, machine
from lightning_nas.pipeline import build_problem, build_scorer
from lightning_nas.rmi.score_key import parts_hash, run_score_parts, settings_hash
from lightning_nas.tables.rmi_table import check_table, provenance_path, read_table, sha256_file
from lightning_nas.tables.score_match import recorded_settings, settings_differences
from tests.conftest import REPO, shared_file
from tests.score_tables import export_tiny_table

pytestmark = pytest.mark.usefixtures("one_torch_thread")
FAST_TABLE = REPO / "benchmarks" / "tables" / "rmi_nb201_fast.csv.gz"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, list[str]]:
    """A 6-arch table exported on this machine, and the overrides it was computed under."""
    return export_tiny_table(tmp_path_factory.mktemp("portable"))


def identities(argv: list[str]) -> tuple[object, dict, dict]:
    """(space, exact identity, settings identity) of the scores a run with `argv` computes here."""
    cfg, _ = parse_config(argv)
    problem = build_problem(cfg, check_budgets=False)
    scorer = build_scorer(problem)
    return problem.space, run_score_parts(scorer, problem.space), scorer.info["settings"]


def copy_table(path: Path, where: Path, edit=None) -> Path:
    """A copy of a table whose provenance `edit(prov)` may change."""
    where.mkdir(parents=True, exist_ok=True)
    copy = where / path.name
    shutil.copyfile(path, copy)
    prov = json.loads(provenance_path(path).read_text())
    if edit:
        edit(prov)
    provenance_path(copy).write_text(json.dumps(prov))
    return copy


def test_a_table_records_both_identities_and_the_machine(tiny):
    path, argv = tiny
    prov = read_table(path).provenance
    settings, numeric = prov["settings"], prov["numeric"]
    assert prov["settings_hash"] == settings_hash(settings)
    assert numeric["cpu"] == machine()["cpu"] and numeric["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert numeric["reference_features"] == prov["parts"]["reference_features"] and numeric["threads"] == 1
    assert settings["probe"]["indices"] == sorted(settings["probe"]["indices"]) and len(settings["probe"]["indices"]) == 16
    assert settings["probe"] | {"indices": None} == {"pool": 64, "batch_size": 16, "augment": True, "indices": None}
    assert settings["data"]["name"] == "digits" and len(settings["data"]["digest"]) == 24 and "root" not in settings["data"]
    reference = prov["reference"]["checkpoint"]  # the reference trained here: its file's sha256
    assert settings["reference"]["checkpoint_sha256"] == sha256_file(reference) is not None
    assert prov["versions"]["cpu"] == machine()["cpu"] and "git_dirty" in prov["versions"]


def test_the_same_machine_is_served_silently(tiny):
    path, argv = tiny
    space, parts, settings = identities(argv)
    match = check_table(read_table(path), space, parts, settings)
    assert match.exact and match.notice is None and match.not_compared == []


def test_another_cpu_is_served_with_one_line_naming_both_and_the_agreement(tiny, tmp_path):
    path, argv = tiny
    space, parts, settings = identities(argv)

    def elsewhere(prov: dict) -> None:  # the same settings, computed on another CPU: other float bits
        prov["parts"]["reference_features"] = "0" * 24
        prov["score_hash"] = parts_hash(prov["parts"])
        prov["numeric"] |= {"cpu": "Intel(R) Xeon(R) Processor", "cpu_capability": "AVX2", "reference_features": "0" * 24}

    match = check_table(read_table(copy_table(path, tmp_path / "a", elsewhere)), space, parts, settings)
    assert not match.exact and "\n" not in match.notice
    assert f"on Intel(R) Xeon(R) Processor (AVX2), this run on {describe(machine())}" in match.notice
    assert "the agreement across machines was not measured for this table" in match.notice

    def measured(tau: float):
        def edit(prov: dict) -> None:
            elsewhere(prov)
            prov["cross_machine"] = [{"between": "X and Y", "archs": 300, "median_abs_delta": 1e-6, "max_abs_delta": 2e-3, "kendall_tau": tau}]
        return edit

    close = check_table(read_table(copy_table(path, tmp_path / "b", measured(0.999))), space, parts, settings).notice
    assert "X and Y, 300 archs): median |dRMI| 1e-06, max 0.002, Kendall tau 0.9990" in close and "noticeably" not in close
    far = check_table(read_table(copy_table(path, tmp_path / "c", measured(0.9))), space, parts, settings).notice
    assert "rankings differ noticeably across machines" in far


def test_another_thread_count_is_served_with_the_same_kind_of_line(tiny, tmp_path, caplog):
    from lightning_nas.search.engine import Search
    from tests.score_tables import full_table

    path, argv = tiny
    full = full_table(path, tmp_path, lambda i: 1.0 + i / 15625)
    cfg, _ = parse_config([*argv, "--run_dir", str(tmp_path / "run"), "--proxy.table", str(full), "--threads", "2"])
    with caplog.at_level(logging.WARNING):
        results = Search(cfg, callbacks=[]).run()
    assert results["trained"] == 0
    lines = [r.getMessage() for r in caplog.records if "table of scores" in r.getMessage()]
    assert len(lines) == 1 and "threads 1, this run 2" in lines[0] and "served as it is" in lines[0]


def _other_checkpoint(table: Path, where: Path) -> str:
    """A checkpoint with other weights than the table's reference (trained here)."""
    from lightning_nas.reference.loader import read_checkpoint

    cached = read_table(table).provenance["reference"]["checkpoint"]
    state = {k: (v * 1.01 if v.is_floating_point() else v) for k, v in read_checkpoint(Path(cached))["state_dict"].items()}
    torch.save({"state_dict": state}, where / "other.pt")
    return str(where / "other.pt")


@pytest.mark.parametrize("change, named", [("seed", r"seed \(recorded 0, now 1\)"), ("lr", r"proxy\.lr \(recorded 0\.1, now 0\.5\)"),
                                           ("checkpoint", r"reference\.checkpoint_sha256 \(recorded '[0-9a-f]{64}', now '[0-9a-f]{64}'\)")])  # fmt: skip
def test_a_real_settings_change_is_refused_in_one_line_naming_it(tiny, tmp_path, change, named):
    path, argv = tiny
    extra = {"seed": ["--seed", "1"], "lr": ["--proxy.lr", "0.5"]}.get(change) or ["--reference.checkpoint", _other_checkpoint(path, tmp_path)]
    space, parts, settings = identities([*argv, *extra])
    with pytest.raises(ConfigError, match=f"computed under other settings: .*{named}") as err:
        check_table(read_table(path), space, parts, settings)
    assert "\n" not in str(err.value)


def test_an_older_table_is_matched_on_what_it_records_never_on_the_data_root(tiny, tmp_path):
    path, argv = tiny
    space, parts, settings = identities(argv)

    def older(prov: dict) -> None:  # what a table exported before the settings identity records
        for key in ("settings", "settings_hash", "numeric"):
            prov.pop(key)
        prov["config"]["data"]["root"] = "/somewhere/else"

    match = check_table(read_table(copy_table(path, tmp_path / "old", older)), space, parts, settings)
    assert not match.exact and match.not_compared == ["data.digest", "data.normalisation", "probe.indices"]
    assert "on an unrecorded CPU" in match.notice
    assert match.notice.endswith("not recorded by this older table, so not compared: data.digest, data.normalisation, probe.indices")

    def older_other_lr(prov: dict) -> None:
        older(prov)
        prov["parts"]["proxy"]["lr"] = 0.5
        prov["score_hash"] = parts_hash(prov["parts"])

    with pytest.raises(ConfigError, match=r"other settings: proxy\.lr \(recorded 0\.5, now 0\.1\)$"):
        check_table(read_table(copy_table(path, tmp_path / "old2", older_other_lr)), space, parts, settings)


def test_settings_that_disagree_with_the_score_parts_are_refused(tiny, tmp_path):
    path, argv = tiny
    space, parts, settings = identities(argv)

    def edited(prov: dict) -> None:
        prov["settings"]["proxy"]["lr"] = 0.5
        prov["settings_hash"] = settings_hash(prov["settings"])

    with pytest.raises(ConfigError, match=r"its settings do not agree with its settings hash or score parts"):
        check_table(read_table(copy_table(path, tmp_path / "e", edited)), space, parts, settings)


def test_differences_name_index_sets_by_count():
    a = {"probe": {"indices": list(range(64)), "pool": 512}}
    b = {"probe": {"indices": [*range(60), 100, 101, 102, 103], "pool": 512}}
    assert settings_differences(a, b) == ["probe.indices (4 of the 64 recorded are not among the 64 now)"]
    assert settings_differences(a, b, ["probe.indices"]) == []


def _image_tree(root: Path) -> Path:
    from PIL import Image

    for split in ("train", "test"):
        for label, colour in (("cat", 40), ("dog", 200)):
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in range(3):
                Image.new("RGB", (8, 8), (colour + i, 0, 0)).save(folder / f"{i}.png")
    return root


def test_the_data_identity_follows_the_files_not_where_they_lie(tmp_path):
    from lightning_nas.data import build_datamodule

    def identity(root: Path) -> dict:
        return build_datamodule("imagefolder", root=str(root), resolution=8, val_fraction=0.0).content_identity()

    here = _image_tree(tmp_path / "a")
    moved = shutil.copytree(here, tmp_path / "b")
    assert identity(here) == identity(moved)
    assert identity(here)["normalisation"] == {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    (moved / "train" / "cat" / "0.png").write_bytes((moved / "train" / "cat" / "1.png").read_bytes() + b"\0")
    assert identity(here)["digest"] != identity(moved)["digest"]


def test_a_resume_on_another_cpu_warns_in_one_line(tmp_path, tiny_cfg, caplog):
    from lightning_nas.search.engine import Search
    from lightning_nas.search.resume import machine_change

    run = tmp_path / "run"
    Search(tiny_cfg("--run_dir", str(run), "--search.generations", "1"), callbacks=[]).run()
    assert machine_change(run) is None
    recorded = json.loads((run / "versions.json").read_text())
    (run / "versions.json").write_text(json.dumps({**recorded, "cpu": "Intel(R) Xeon(R) Processor", "cpu_capability": "AVX2"}))
    with caplog.at_level(logging.WARNING):
        Search(tiny_cfg("--resume", str(run), "--search.generations", "2"), callbacks=[]).run()
    lines = [r.getMessage() for r in caplog.records if "another CPU" in r.getMessage()]
    assert lines == [
        f"resuming {run} on another CPU than it started on (Intel(R) Xeon(R) Processor (AVX2) -> {describe(machine())}): its "
        "recorded scores are kept, new scores may differ in floating-point rounding from an uninterrupted run's"
    ]


# ---- the committed fast table on any x86 CPU (needs ../shared: the CIFAR-10 JPEGs, the ResNet-20) ----------------
@pytest.fixture(scope="module")
def fast(tmp_path_factory) -> tuple[list[str], object, dict, dict]:
    shared_file("reference")
    sys.path.insert(0, str(REPO / "benchmarks"))
    import build_rmi_table

    argv = build_rmi_table.profile_argv("fast", None, ["--threads", "1"])
    return (argv, *identities(argv))


def test_the_committed_table_matches_the_settings_of_the_code(fast):
    _, space, parts, settings = fast
    table = read_table(FAST_TABLE)
    assert table.provenance["score_hash"] == parts_hash(table.provenance["parts"])
    match = check_table(table, space, parts, settings)  # refused (ConfigError) if the settings differed
    assert match.not_compared == ["data.digest", "data.normalisation", "probe.indices"]  # an older table
    assert settings_differences(recorded_settings(table.provenance)[0], settings, match.not_compared) == []


@pytest.mark.parametrize("isa", [{"ATEN_CPU_CAPABILITY": "default"}, {"ONEDNN_MAX_CPU_ISA": "SSE41"}], ids=lambda e: "+".join(e))
def test_kernels_of_another_instruction_set_are_served_the_committed_table(fast, tmp_path, isa):
    """Another instruction set changes the float bits of the reference features (and the probe's order)
    as another CPU does: the same probe images are chosen, the table is served with the notice, nothing trains."""
    argv, _, _, settings = fast
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "lightning_nas.search", *argv, "--proxy.table", str(FAST_TABLE), "--search.population", "4",
           "--search.generations", "2", "--cost.metric", "flops", "--cost.budget", "47.1", "--search.backend", "serial",
           "--run_dir", str(run), "--tb_logs", str(tmp_path / "tb"), "--finetune.enabled", "false"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **isa}, cwd=REPO, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    setup = json.loads((run / "setup.json").read_text())
    assert setup["settings"]["probe"]["indices"] == settings["probe"]["indices"]
    notices = [line for line in done.stderr.splitlines() if "rmi_nb201_fast.csv.gz: computed under this run's settings" in line]
    assert len(notices) == 1 and "served as it is" in notices[0] and "measured across machines" in notices[0]
    assert json.loads((run / "results.json").read_text())["trained"] == 0
