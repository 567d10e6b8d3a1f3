"""`python -m lightning_nas.precompute`: scores a seeded sample into the persistent cache, resumably."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightning_nas.errors import ConfigError
from lightning_nas.precompute import main
from lightning_nas.rmi.cache import EvalCache
from lightning_nas.rmi.precompute import sample_genotypes
from lightning_nas.spaces.nb201.space import NB201Space
from tests.conftest import tiny_overrides

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_sample_is_seeded_and_prefix_stable() -> None:
    space = NB201Space()
    ten = sample_genotypes(space, 10, 3)
    assert sample_genotypes(space, 4, 3) == ten[:4]
    assert sample_genotypes(space, 10, 4) != ten
    everything = sample_genotypes(space, None, 0)
    assert len(everything) == 5**6 == len(set(everything))
    with pytest.raises(ConfigError, match="--limit must be >= 1"):
        sample_genotypes(space, 0, 0)
    assert everything != list(space.enumerate())  # a shuffled order, not the enumeration's


def test_precompute_is_resumable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "evals.sqlite"
    argv = [*tiny_overrides(tmp_path), "--cache.path", str(db), "--sample_seed", "1"]
    assert main([*argv, "--limit", "3"]) == 0
    assert "3 scored, 0 already cached, 3 in all" in capsys.readouterr().out
    assert main([*argv, "--limit", "5"]) == 0  # the first 3 of the same order are look-ups
    assert "2 scored, 3 already cached, 5 in all" in capsys.readouterr().out
    with EvalCache(db) as cache:
        assert cache.count() == 5
    keys = {NB201Space().key(g) for g in sample_genotypes(NB201Space(), 5, 1)}
    with EvalCache(db) as cache:
        (shash,) = {r[0] for r in cache.conn.execute("SELECT score_hash FROM scores")}
        assert cache.keys("nb201", shash) == keys


def test_precompute_refuses_a_disabled_cache(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*tiny_overrides(tmp_path), "--cache.enabled", "false", "--limit", "1"])
    assert exit_info.value.code == 2
    assert "cache.enabled is false" in capsys.readouterr().err
