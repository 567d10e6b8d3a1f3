"""The persistent evaluation cache: round trip, key separation, concurrent writers, corrupt files, and
a search that reuses a previous run's scores instead of training."""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import random
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from lightning_nas.config import ProxyConfig
from lightning_nas.rmi.cache import CacheCorruptError, EvalCache
from lightning_nas.rmi.evaluator import ProxyResult
from lightning_nas.rmi.score_key import score_hash
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

    def h(space=space, feats=feats, probe="probe1", proxy=None, seed=0, threads=1) -> str:
        return score_hash(space, feats, probe, proxy or ProxyConfig(), seed, threads=threads)

    base = h()
    assert base == h(space=NB201Space(C=4, N=1), feats=[f.clone() for f in feats])
    assert base == h(space=NB201Space(C=4, N=1, full_C=32))  # cost-only size
    assert base == h(proxy=ProxyConfig(accelerator="CPU"))
    changed = [
        h(space=NB201Space(C=8, N=1)),
        h(feats=[torch.ones(4, 3) * 2, torch.zeros(4, 2)]),
        h(probe="probe2"),
        h(proxy=ProxyConfig(steps=10)),
        h(proxy=ProxyConfig(beta=0.5)),
        h(proxy=ProxyConfig(score_bn_mode="eval")),
        h(seed=1),
        h(threads=2),  # the torch thread count per candidate is part of the key
        h(proxy=ProxyConfig(accelerator="cuda")),  # so is the accelerator
        h(proxy=ProxyConfig(accelerator="mps")),
    ]
    assert len({base, *changed}) == len(changed) + 1
    with pytest.raises(TypeError):
        score_hash(space, feats, "probe1", ProxyConfig(), 0)  # the thread count is never implicit


def test_accelerator_enters_the_key_as_the_device_it_resolves_to(monkeypatch: pytest.MonkeyPatch) -> None:
    space, feats = NB201Space(C=4, N=1), [torch.ones(4, 3)]

    def h(accelerator: str) -> str:
        return score_hash(space, feats, "p", ProxyConfig(accelerator=accelerator), 0, threads=1)

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert h("auto") == h("cpu")  # auto without a GPU trains on the CPU
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert h("auto") == h("gpu") == h("cuda") != h("cpu")


def test_a_proxy_key_added_later_only_counts_when_set() -> None:
    from dataclasses import dataclass

    @dataclass
    class Later(ProxyConfig):
        grad_clip: float = 0.0

    space, feats = NB201Space(C=4, N=1), [torch.ones(4, 3)]
    base = score_hash(space, feats, "p", ProxyConfig(), 0, threads=1)
    assert score_hash(space, feats, "p", Later(), 0, threads=1) == base
    assert score_hash(space, feats, "p", Later(grad_clip=1.0), 0, threads=1) != base
    # where candidates run is not what a score is: GPUs shared by 8 candidates give the same scores
    assert score_hash(space, feats, "p", ProxyConfig(candidates_per_gpu=8), 0, threads=1) == base


def test_ofa_score_hash_is_stable_across_network_builds() -> None:
    from lightning_nas.spaces.ofa_mbv3.space import OFAMobileNetV3Space

    space = OFAMobileNetV3Space(num_classes=10, resolution=32)
    feats = [torch.ones(4, 3)]
    before = score_hash(space, feats, "p", ProxyConfig(), 0, threads=1)
    space.to_module(space.sample(random.Random(0)), proxy=True)
    assert space._supernets, "to_module filled the space's private supernet cache"
    assert score_hash(space, feats, "p", ProxyConfig(), 0, threads=1) == before
    fresh = OFAMobileNetV3Space(num_classes=10, resolution=32)
    assert score_hash(fresh, feats, "p", ProxyConfig(), 0, threads=1) == before


def _fake_scorer(threads: int, accelerator: str = "cpu") -> SimpleNamespace:
    feats = [torch.ones(4, 3)]
    evaluator = SimpleNamespace(
        reference_features=feats, cfg=ProxyConfig(accelerator=accelerator), seed=0, threads=threads, heldout=None
    )
    probe = SimpleNamespace(digest=lambda: "probe")
    return SimpleNamespace(evaluator=evaluator, probe=probe, info={"reference": {"arch": "resnet20"}})


def test_run_cache_is_keyed_on_the_evaluators_threads_and_accelerator(tmp_path: Path) -> None:
    from lightning_nas.config import RunConfig
    from lightning_nas.rmi.cache import open_run_cache

    cfg = RunConfig()
    cfg.cache.path = str(tmp_path / "c.sqlite")
    space = NB201Space(C=4, N=1)
    one, two = open_run_cache(cfg, _fake_scorer(1), space), open_run_cache(cfg, _fake_scorer(2), space)
    gpu = open_run_cache(cfg, _fake_scorer(1, "cuda"), space)
    assert len({one.shash, two.shash, gpu.shash}) == 3
    assert one.shash == score_hash(
        space, [torch.ones(4, 3)], "probe", ProxyConfig(), 0, {"arch": "resnet20"}, threads=1
    )
    one.store("a", _result(1.0))
    assert two.lookup("a") is None and one.lookup("a") == _result(1.0)
    for run in (one, two, gpu):
        run.cache.close()


def test_torch_version_is_stored_and_a_mismatch_warns_but_returns_the_score(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "c.sqlite"
    with EvalCache(path) as cache:
        cache.torch_version = "1.0.0-old"  # as if written by another torch
        cache.put("nb201", "a", "h", _result(1.0))
        cache.torch_version = torch.__version__
        cache.put("nb201", "b", "h", _result(2.0))
    with EvalCache(path) as cache:
        versions = dict(cache.conn.execute("SELECT key, torch_version FROM scores"))
        assert versions == {"a": "1.0.0-old", "b": torch.__version__}
        with caplog.at_level(logging.WARNING, logger="lightning_nas.rmi.cache"):
            assert cache.get("nb201", "b", "h") == _result(2.0)
            assert not caplog.records  # same version: silent
            assert cache.get("nb201", "a", "h") == _result(1.0)  # other version: still a hit
        assert cache.hits == 2
        (record,) = caplog.records
        assert record.levelno == logging.WARNING
        assert "1.0.0-old" in record.getMessage() and torch.__version__ in record.getMessage()


def test_a_file_without_the_version_column_is_migrated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from lightning_nas.rmi.score_key import digest as _digest

    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE scores (space TEXT NOT NULL, key TEXT NOT NULL, score_hash TEXT NOT NULL, rmi REAL NOT NULL,"
        " cka TEXT NOT NULL, losses TEXT NOT NULL, seconds REAL NOT NULL, created REAL NOT NULL,"
        " checksum TEXT NOT NULL, PRIMARY KEY (space, key, score_hash))"
    )
    cka, losses = json.dumps([0.5, 0.25]), json.dumps({"loss": 0.5})
    old_checksum = _digest("nb201", "a", "h", repr(0.75), cka, losses, repr(1.5))[
        :16
    ]  # the old rows' formula
    conn.execute(
        "INSERT INTO scores VALUES ('nb201', 'a', 'h', 0.75, ?, ?, 1.5, 0.0, ?)", (cka, losses, old_checksum)
    )
    conn.commit()
    conn.close()
    with EvalCache(path) as cache, caplog.at_level(logging.WARNING, logger="lightning_nas.rmi.cache"):
        columns = [row[1] for row in cache.conn.execute("PRAGMA table_info(scores)")]
        assert columns[-2:] == ["torch_version", "rmi_at"]
        assert cache.get("nb201", "a", "h") == ProxyResult(0.75, [0.5, 0.25], {"loss": 0.5}, 1.5)
        assert "unknown" in caplog.text and torch.__version__ in caplog.text
        cache.put("nb201", "b", "h", _result(2.0))
    with EvalCache(path) as cache:  # a second open does not migrate again
        assert cache.get("nb201", "b", "h") == _result(2.0) and cache.count() == 2


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
        cache.put("nb201", "b", "h", _result(2.0))
    conn = sqlite3.connect(path)
    conn.execute("UPDATE scores SET rmi = 2.9 WHERE key = 'a'")
    conn.execute("UPDATE scores SET torch_version = '0.1' WHERE key = 'b'")  # the version is covered too
    conn.commit()
    conn.close()
    with EvalCache(path) as cache:
        assert cache.get("nb201", "a", "h") is None  # checksum mismatch: a miss, not a wrong score
        assert cache.get("nb201", "b", "h") is None
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
    off = Search(
        tiny_cfg("--cache.path", str(tmp_path / "off.sqlite"), "--cache.enabled", "false"), callbacks=[]
    ).run()
    assert off["persistent_cache_hits"] == 0 and not (tmp_path / "off.sqlite").exists()
