"""The persistent evaluation cache: round trip, key separation, concurrent writers, corrupt files, and
a search that reuses a previous run's scores instead of training."""

from __future__ import annotations

import json
import multiprocessing as mp
import sqlite3
from pathlib import Path

import pytest
import torch

from lightning_nas.config import ProxyConfig
from lightning_nas.rmi.cache import CacheCorruptError, EvalCache, score_hash
from lightning_nas.rmi.evaluator import ProxyResult
from lightning_nas.spaces.nb201.space import NB201Space

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _result(rmi: float) -> ProxyResult:
    return ProxyResult(rmi=rmi, cka=[rmi / 3] * 3, losses={"loss": 0.5}, seconds=1.25)


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with EvalCache(path) as cache:
        assert cache.get("nb201", "a", "h1") is None
        cache.put("nb201", "a", "h1", _result(2.5))
    with EvalCache(path) as cache:  # persists across opens
        got = cache.get("nb201", "a", "h1")
        assert got == _result(2.5)
        assert cache.hits == 1 and cache.count() == 1


def test_keys_are_separated_by_space_key_and_hash(tmp_path: Path) -> None:
    with EvalCache(tmp_path / "c.sqlite") as cache:
        cache.put("nb201", "a", "h1", _result(1.0))
        cache.put("nb201", "a", "h2", _result(2.0))
        cache.put("ofa", "a", "h1", _result(3.0))
        assert cache.get("nb201", "a", "h1").rmi == 1.0
        assert cache.get("nb201", "a", "h2").rmi == 2.0
        assert cache.get("ofa", "a", "h1").rmi == 3.0
        assert cache.get("nb201", "b", "h1") is None
        assert cache.keys("nb201", "h1") == {"a"}


def test_non_finite_scores_are_not_stored(tmp_path: Path) -> None:
    with EvalCache(tmp_path / "c.sqlite") as cache:
        cache.put("nb201", "a", "h", ProxyResult(rmi=float("nan"), cka=[]))
        assert cache.get("nb201", "a", "h") is None


def test_score_hash_covers_what_changes_a_score() -> None:
    space = NB201Space(C=4, N=1)
    feats = [torch.ones(4, 3), torch.zeros(4, 2)]
    base = score_hash(space, feats, "probe1", ProxyConfig(), 0)
    assert base == score_hash(NB201Space(C=4, N=1), [f.clone() for f in feats], "probe1", ProxyConfig(), 0)
    assert base == score_hash(NB201Space(C=4, N=1, full_C=32), feats, "probe1", ProxyConfig(), 0)  # cost-only size
    changed = [
        score_hash(NB201Space(C=8, N=1), feats, "probe1", ProxyConfig(), 0),
        score_hash(space, [torch.ones(4, 3) * 2, torch.zeros(4, 2)], "probe1", ProxyConfig(), 0),
        score_hash(space, feats, "probe2", ProxyConfig(), 0),
        score_hash(space, feats, "probe1", ProxyConfig(steps=10), 0),
        score_hash(space, feats, "probe1", ProxyConfig(beta=0.5), 0),
        score_hash(space, feats, "probe1", ProxyConfig(), 1),
    ]
    assert len({base, *changed}) == len(changed) + 1


def test_a_proxy_key_added_later_only_counts_when_set() -> None:
    from dataclasses import dataclass

    @dataclass
    class Later(ProxyConfig):
        accelerator: str = "cpu"

    space, feats = NB201Space(C=4, N=1), [torch.ones(4, 3)]
    assert score_hash(space, feats, "p", Later(), 0) == score_hash(space, feats, "p", ProxyConfig(), 0)
    assert score_hash(space, feats, "p", Later(accelerator="gpu"), 0) != score_hash(space, feats, "p", ProxyConfig(), 0)


def _writer(path: str, worker: int, n: int) -> None:
    with EvalCache(path) as cache:
        for i in range(n):
            cache.put("nb201", f"w{worker}-{i}", "h", _result(worker + i / 1000))
            cache.put("nb201", f"shared-{i}", "h", _result(i / 1000))  # every worker writes these too


def test_concurrent_writers_from_several_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "c.sqlite")
    EvalCache(path).close()
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(path, w, 40)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    with EvalCache(path) as cache:
        assert cache.count() == 4 * 40 + 40
        for w in range(4):
            for i in range(40):
                assert cache.get("nb201", f"w{w}-{i}", "h").rmi == w + i / 1000
        assert cache.get("nb201", "shared-7", "h").rmi == 0.007
        assert cache.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_corrupt_file_is_moved_aside_and_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CacheCorruptError, match="not a usable SQLite file"):
        EvalCache(path, rebuild_corrupt=False)
    with EvalCache(path) as cache:
        assert cache.count() == 0
        cache.put("nb201", "a", "h", _result(1.0))
        assert cache.get("nb201", "a", "h").rmi == 1.0
    assert list(tmp_path.glob("c.sqlite.corrupt-*")), "the corrupt file is kept aside for inspection"


def test_unopenable_path_is_a_clear_error_and_not_rebuilt(tmp_path: Path) -> None:
    from lightning_nas.errors import ConfigError

    (tmp_path / "dir.sqlite").mkdir()  # a folder where the file should be: cannot open, not corrupt
    with pytest.raises(ConfigError, match="cannot use the evaluation cache"):
        EvalCache(tmp_path / "dir.sqlite")
    assert (tmp_path / "dir.sqlite").is_dir() and not list(tmp_path.glob("*.corrupt-*"))


def test_tampered_row_is_never_returned(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with EvalCache(path) as cache:
        cache.put("nb201", "a", "h", _result(1.0))
    conn = sqlite3.connect(path)
    conn.execute("UPDATE scores SET rmi = 2.9")
    conn.commit()
    conn.close()
    with EvalCache(path) as cache:
        assert cache.get("nb201", "a", "h") is None  # checksum mismatch: a miss, not a wrong score
        assert cache.count() == 0


def _entries(results: dict) -> list[dict]:
    """The run's own per-run cache file (evaluations.jsonl), one entry per distinct genotype."""
    lines = (Path(results["run_dir"]) / "evaluations.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def _trained(results: dict) -> int:
    return sum(bool(e["trained"]) for e in _entries(results))


def test_search_reuses_scores_across_runs(tiny_cfg, tmp_path: Path) -> None:
    from lightning_nas.search.engine import Search

    db = str(tmp_path / "evals.sqlite")
    first = Search(tiny_cfg("--cache.path", db), callbacks=[]).run()
    assert first["persistent_cache_hits"] == 0 and _trained(first) > 0
    second = Search(tiny_cfg("--cache.path", db), callbacks=[]).run()
    assert _trained(second) == 0, "every score came from the persistent cache"
    assert second["persistent_cache_hits"] == _trained(first)
    assert second["best"]["rmi"] == first["best"]["rmi"] and second["best"]["key"] == first["best"]["key"]
    assert all(e["persistent_hit"] for e in _entries(second))  # the per-run record stays
    steps = Search(tiny_cfg("--cache.path", db, "--proxy.steps", "2"), callbacks=[]).run()
    assert steps["persistent_cache_hits"] == 0  # other proxy settings are other scores
    off = Search(tiny_cfg("--cache.path", str(tmp_path / "off.sqlite"), "--cache.enabled", "false"), callbacks=[]).run()
    assert off["persistent_cache_hits"] == 0 and not (tmp_path / "off.sqlite").exists()
