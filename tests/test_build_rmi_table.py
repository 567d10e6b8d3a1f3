"""benchmarks/build_rmi_table.py: the NB201 table of scores built in shards of isomorphism-class
representatives, resumable, merged into one row per architecture with its representative's score; and
shards join when their settings match, whichever machine built them (the committed tables' settings are
checked in tests/test_table_portability.py)."""

from __future__ import annotations

import csv
import gzip
import json
import sys
from pathlib import Path

import pytest

from lightning_nas.errors import ConfigError
from lightning_nas.machine import describe, machine
from lightning_nas.rmi.score_key import parts_hash, run_score_parts, settings_hash
from lightning_nas.spaces.nb201.isomorphism import classes
from lightning_nas.tables.rmi_table import provenance_path, read_table
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

import build_rmi_table as builder  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def build(tmp: Path, *extra: str) -> list[str]:
    argv = ["--profile", "tiny", "--shard_size", "3", "--limit", "6", "--tables", str(tmp), "--cache", str(tmp / "cache.sqlite"),
            "--reference.cache_dir", str(tmp / "ref"), "--threads", "1", "--search.backend", "serial", *extra]  # fmt: skip
    assert builder.main(argv) == 0
    return argv


def test_shards_then_merge_give_every_member_its_representatives_score(tmp_path, capsys):
    build(tmp_path, "--shard", "next", "--max_shards", "2", "--merge")
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("shards=2/2 rows=")
    reps = builder.representatives()[:6]
    shards = [read_table(builder.shard_path(tmp_path, "tiny", k)) for k in (0, 1)]
    assert [len(s.scores) for s in shards] == [3, 3]
    table = read_table(tmp_path / "rmi_nb201_tiny.csv.gz")
    members = {rep: m for m in classes(None, "nb201").values() if (rep := m[0]) in reps}
    assert table.provenance["rows"] == sum(len(m) for m in members.values()) == len(table.scores)
    assert table.provenance["classes_scored"] == 6 and table.provenance["complete"] is False
    with gzip.open(tmp_path / "rmi_nb201_tiny.csv.gz", "rt") as f:
        rows = {int(r["arch_index"]): r for r in csv.DictReader(f)}
    shard_scores = {k: r for s in shards for k, r in s.scores.items()}
    for rep, indices in members.items():
        rep_rmi = shard_scores[rows[rep]["key"]].rmi
        for index in indices:
            assert int(rows[index]["scored_as"]) == rep and float(rows[index]["rmi"]) == rep_rmi
            assert (float(rows[index]["seconds"]) > 0) == (index == rep)


def test_a_rerun_builds_nothing_and_a_foreign_shard_is_refused(tmp_path, capsys):
    build(tmp_path, "--shard", "next", "--max_shards", "2")
    capsys.readouterr()
    build(tmp_path, "--shard", "next", "--max_shards", "2")
    assert "shard 0:" not in capsys.readouterr().out  # both exist: nothing to do
    prov_path = provenance_path(builder.shard_path(tmp_path, "tiny", 1))
    prov = json.loads(prov_path.read_text())
    prov["parts"]["proxy"]["steps"] = prov["settings"]["proxy"]["steps"] = 4  # a shard of another proxy setting
    prov["score_hash"], prov["settings_hash"] = parts_hash(prov["parts"]), settings_hash(prov["settings"])
    prov_path.write_text(json.dumps(prov))
    with pytest.raises(ConfigError, match=r"computed under different settings: .*part-001.* in proxy\.steps \(recorded 3, now 4\)"):
        build(tmp_path, "--merge")


def test_a_shard_built_on_another_machine_joins_naming_its_cpu(tmp_path):
    """The same settings, other float bits (another CPU): the shards merge, each recording its CPU and hash."""
    build(tmp_path, "--shard", "next", "--max_shards", "2")
    prov_path = provenance_path(builder.shard_path(tmp_path, "tiny", 1))
    prov = json.loads(prov_path.read_text())
    prov["parts"]["reference_features"] = prov["numeric"]["reference_features"] = "0" * 24
    prov["numeric"] |= {"cpu": "Intel(R) Xeon(R) Processor", "cpu_capability": "AVX2"}
    prov["score_hash"] = parts_hash(prov["parts"])
    prov_path.write_text(json.dumps(prov))
    build(tmp_path, "--merge")
    shards = read_table(tmp_path / "rmi_nb201_tiny.csv.gz").provenance["shards"]
    assert [s["cpu"] for s in shards] == [describe(machine()), "Intel(R) Xeon(R) Processor (AVX2)"]
    assert shards[1]["score_hash"] == prov["score_hash"] != shards[0]["score_hash"]


def test_the_shard_hash_is_the_codes(tmp_path):
    build(tmp_path, "--shard", "0")
    prov = read_table(builder.shard_path(tmp_path, "tiny", 0)).provenance
    _assert_hash_of_the_code(prov, builder.profile_argv("tiny", None, ["--reference.cache_dir", str(tmp_path / "ref")]))


def _assert_hash_of_the_code(prov: dict, argv: list[str]) -> None:
    from lightning_nas.config import parse_config
    from lightning_nas.pipeline import build_problem, build_scorer

    cfg, _ = parse_config([*argv, "--threads", str(prov["parts"]["runtime"]["threads"])])
    problem = build_problem(cfg, check_budgets=False)
    assert parts_hash(run_score_parts(build_scorer(problem), problem.space)) == prov["score_hash"]


def test_bad_shard_number_is_one_line(tmp_path):
    with pytest.raises(SystemExit, match=r"--shard 5 out of range; valid: 0\.\.1"):
        build(tmp_path, "--shard", "5")


@pytest.mark.parametrize("table", sorted((REPO / "benchmarks" / "tables").glob("rmi_*.csv.gz")), ids=lambda p: p.name)
def test_a_committed_table_serves_a_paper_size_search_without_training(table, tmp_path):
    """The paper's GA (20 x 100) on a committed table with a FLOPs budget: nothing trains, the answer is
    feasible in NAS-Bench-201's FLOPs, and its RMI is the table's score of that arch."""
    from tests.conftest import shared_file

    shared_file("reference")
    from _table_search import table_base, table_search

    base = table_base(table, tmp_path, [])
    genotype, results = table_search(base, 0, "flops", 47.1, 20, 100, "penalty")
    best, feasible = results["best"], results["best_feasible"]
    assert results["trained"] == 0 and results["generations"] == 100 and feasible["cost"] <= 47.1
    assert best["cost"] < 1.1 * 47.1  # the penalty (47.1 - cost per MFLOP) keeps the best near the budget
    scores = read_table(table).scores
    assert best["rmi"] == scores[best["key"]].rmi and feasible["rmi"] == scores[feasible["key"]].rmi
    assert max(s.rmi for s in scores.values()) >= best["rmi"] >= feasible["rmi"]


def test_an_order_file_puts_its_classes_first_and_the_time_cap_stops_between_shards(tmp_path, capsys):
    reps = builder.representatives()
    order = tmp_path / "order.txt"
    members = classes(None, "nb201")
    later = [m for m in members.values() if len(m) > 1][-1]  # a class far down the index order, named by a non-representative
    order.write_text(f"# first\n{later[1]}\n{reps[100]}\n{reps[100]}\n")
    assert builder.ordered(reps, str(order))[:3] == [later[0], reps[100], reps[0]]
    assert sorted(builder.ordered(reps, str(order))) == reps  # every class once
    build(tmp_path, "--order", str(order), "--shard", "next", "--max_shards", "2", "--time_cap_s", "0.001", "--merge")
    out = capsys.readouterr().out
    assert "shard 0:" in out and "shard 1:" not in out and "time cap: 0.001 s reached before shard 1" in out
    shard = read_table(builder.shard_path(tmp_path, "tiny", 0))
    assert shard.provenance["order"]["file"] == "order.txt" and len(shard.provenance["order"]["sha256"]) == 64
    with gzip.open(tmp_path / "rmi_nb201_tiny.csv.gz", "rt") as f:
        assert {int(r["scored_as"]) for r in csv.DictReader(f)} == {later[0], reps[100], reps[0]}
    assert "coverage: 3 of 6466 classes" in out
    order.write_text("99999\n")
    with pytest.raises(SystemExit, match="99999 is not an NB201 index"):
        builder.ordered(reps, str(order))
