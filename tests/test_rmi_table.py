"""Tables of precomputed scores (lightning_nas.tables.rmi_table): `precompute --export_table` writes the
cached scores with their provenance, a search with `proxy.table` serves every score from the table and
trains nothing, and a table computed under other settings, for another space, partial or damaged is a
one-line error naming the problem."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
from pathlib import Path

import pytest

from lightning_nas.errors import ConfigError
from lightning_nas.precompute import main as precompute
from lightning_nas.rmi.cache import EvalCache
from lightning_nas.rmi.score_key import parts_hash
from lightning_nas.search.engine import Search
from lightning_nas.spaces.nb201.space import NB201Space
from lightning_nas.tables.rmi_table import provenance_path, read_table
from tests.conftest import tiny_overrides
from tests.score_tables import export_tiny_table, full_table

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, list[str]]:
    """A 6-arch table exported from a precompute run, and the overrides it was computed under."""
    return export_tiny_table(tmp_path_factory.mktemp("table"))


def test_export_holds_the_cached_scores_and_the_score_hash_of_the_code(exported):
    path, _ = exported
    table = read_table(path)
    prov = table.provenance
    assert prov["rows"] == 6 and prov["space_size"] == 15625 and prov["complete"] is False
    assert prov["score_hash"] == parts_hash(prov["parts"])
    assert prov["parts"]["proxy"]["steps"] == 3 and prov["parts"]["runtime"] == {"threads": 1, "accelerator": "cpu"}
    with EvalCache(path.parent / "cache.sqlite") as cache:
        assert cache.keys("nb201", prov["score_hash"]) == set(table.scores)  # the code's hash is the cache's key
        for key, result in table.scores.items():
            assert cache.get("nb201", key, prov["score_hash"]).rmi == result.rmi
    with gzip.open(path, "rt") as f:
        rows = list(csv.DictReader(f))
    space = NB201Space()
    for row in rows:
        genotype = space.parse(row["arch_str"])
        assert row["key"] == space.key(genotype) and int(row["arch_index"]) == space.benchmark_fields(genotype)["nb201_index"]


def _full_table(exported: tuple[Path, list[str]], where: Path) -> Path:
    """Every NB201 arch, RMI made up from its index, with the exported table's provenance."""
    return full_table(exported[0], where, lambda i: 1.0 + (i * 7919 % 15625) / 15625)


def test_a_search_serves_every_score_from_the_table(exported, tmp_path):
    full = _full_table(exported, tmp_path)
    results = _search(exported[1], tmp_path, "--proxy.table", str(full))
    assert results["trained"] == 0 and results["evaluations"] == 8
    table = read_table(full)
    with open(tmp_path / "run" / "evaluations.csv") as f:
        for row in csv.DictReader(f):
            assert float(row["rmi"]) == pytest.approx(table.scores[row["key"]].rmi, abs=0)


def _search(argv: list[str], tmp_path: Path, *extra: str) -> dict:
    from lightning_nas.config import parse_config

    cfg, _ = parse_config([*argv, "--run_dir", str(tmp_path / "run"), *extra])
    return Search(cfg, callbacks=[]).run()


def test_a_table_from_other_settings_is_refused_naming_them(exported, tmp_path):
    full = _full_table(exported, tmp_path)
    _, argv = exported
    with pytest.raises(ConfigError, match=r"computed under other settings: proxy\.steps \(recorded 3, now 4\)$"):
        _search(argv, tmp_path, "--proxy.table", str(full), "--proxy.steps", "4")
    with pytest.raises(ConfigError, match=r"proxy_network\.C \(recorded 4, now 8\)"):
        _search(argv, tmp_path, "--proxy.table", str(full), "--space.C", "8", "--run_dir", str(tmp_path / "run2"))


def test_a_partial_table_names_the_missing_architecture(exported, tmp_path):
    path, argv = exported
    with pytest.raises(ConfigError, match=r"is not in the table of scores .* \(6 of 15625 architectures\)"):
        _search(argv, tmp_path, "--proxy.table", str(path))


def test_threads_are_no_setting_a_table_of_another_count_serves(exported, tmp_path):
    full = _full_table(exported, tmp_path)
    _, argv = exported
    _search(argv, tmp_path, "--proxy.table", str(full), "--threads", "2")  # the table was computed at 1 thread
    assert json.loads((tmp_path / "run" / "results.json").read_text())["trained"] == 0


@pytest.mark.parametrize(
    "damage, message",
    [
        ("truncate", "is unreadable"),
        ("no_json", "not found (the table and its .json belong together)"),
        ("edited_parts", "do not give its score hash"),
        ("rows", "has 6 rows, its provenance says 7"),
    ],
)
def test_a_damaged_table_is_one_line(exported, tmp_path, damage, message):
    path, argv = exported
    copy = tmp_path / path.name
    copy.write_bytes(path.read_bytes())
    prov = json.loads(provenance_path(path).read_text())
    if damage == "truncate":
        copy.write_bytes(path.read_bytes()[:40])
    if damage == "edited_parts":
        prov["parts"]["seed"] = 5
    if damage == "rows":
        prov["rows"] = 7
    if damage != "no_json":
        provenance_path(copy).write_text(json.dumps(prov))
    with pytest.raises(ConfigError, match=re.escape(message)):
        _search(argv, tmp_path, "--proxy.table", str(copy))


def test_the_clis_answer_bad_tables_in_one_line(tmp_path, capsys):
    from lightning_nas.search.cli import main as search

    with pytest.raises(SystemExit) as stop:
        search([*tiny_overrides(tmp_path), "--proxy.table", str(tmp_path / "none.csv.gz")])
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip() == f"error: proxy.table (a table of scores) not found: {tmp_path / 'none.csv.gz'}"
    with pytest.raises(SystemExit) as stop:
        precompute([*tiny_overrides(tmp_path), "--export_table", str(tmp_path / "t.parquet")])
    assert stop.value.code == 2 and "a table of scores is a .csv.gz or .csv file" in capsys.readouterr().err


def test_a_table_is_read_once_per_version_of_its_files(exported, tmp_path):
    path, _ = exported
    copy = tmp_path / path.name
    copy.write_bytes(path.read_bytes())
    provenance_path(copy).write_text(provenance_path(path).read_text())
    first = read_table(copy)
    assert read_table(copy) is first  # cached
    prov = json.loads(provenance_path(copy).read_text())
    provenance_path(copy).write_text(json.dumps({**prov, "note": "rewritten"}))
    assert read_table(copy).provenance.get("note") == "rewritten"  # a new version of the file is read again


def test_the_same_scores_give_the_same_table_bytes(exported, tmp_path):
    """No time or file name in the gzip header: a table rebuilt from the same scores is byte-identical
    (its sha256, recorded by the benchmarks that read it, stays valid)."""
    import time

    from lightning_nas.tables.rmi_table import write_table

    table = read_table(exported[0])
    space = NB201Space()
    genotypes = [space.parse(k) for k in table.scores]
    digests = []
    for name in ("a.csv.gz", "b.csv.gz"):
        write_table(tmp_path / name, space, genotypes, list(table.scores.values()), table.provenance["parts"], {})
        digests.append(hashlib.sha256((tmp_path / name).read_bytes()).hexdigest())
        time.sleep(1.1)  # a gzip header time would differ
    assert digests[0] == digests[1]
