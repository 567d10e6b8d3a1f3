"""The persistent evaluation cache: RMI proxy scores kept across runs in one SQLite file.

When two scores are the same (the score key rule, `lightning_nas.rmi.score_key`): a row is keyed by
(space, genotype key, score hash), and the score hash covers everything that changes a score: the reference's features on the probe batch,
the probe batch, the proxy settings, the seed, the proxy network's size (the space's proxy signature),
the torch CPU thread count per candidate and the accelerator it trains on (100 SGD steps amplify
floating-point differences: another thread count moved RMI by up to 0.087). The torch version is not
part of the key: it is recorded with every stored score, and reading a score stored under another
version (or an unknown one, rows written before it was recorded) logs a warning naming both versions
and still returns the score.

WAL journal and a busy timeout let several processes on one machine read and write at once. Every row
carries a checksum of its own content: a row that does not match it is treated as missing (and
dropped), and a file SQLite cannot read is moved aside and rebuilt, never trusted. A cache that cannot be
opened or created (a read-only file, an uncreatable folder), or that fails a write or read mid-run (read-only,
disk full), never stops a search: the run goes on without it after one warning naming the file."""

from __future__ import annotations

import json
import logging
import math
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import torch

from lightning_nas.errors import ConfigError, one_line_reason
from lightning_nas.rmi.evaluator import ProxyResult
from lightning_nas.rmi.score_key import digest as _digest
from lightning_nas.rmi.score_key import parts_hash, run_score_parts

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 60.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    space TEXT NOT NULL,
    key TEXT NOT NULL,
    score_hash TEXT NOT NULL,
    rmi REAL NOT NULL,
    cka TEXT NOT NULL,
    losses TEXT NOT NULL,
    seconds REAL NOT NULL,
    created REAL NOT NULL,
    checksum TEXT NOT NULL,
    torch_version TEXT,
    rmi_at TEXT,
    PRIMARY KEY (space, key, score_hash)
)"""
_COLUMNS = "space, key, score_hash, rmi, cka, losses, seconds, created, checksum, torch_version, rmi_at"


class CacheCorruptError(RuntimeError):
    """The cache file cannot be used (and was not rebuilt)."""


class CacheUnavailableError(ConfigError):
    """The cache file cannot be opened, created or written (permissions, a folder in its place, locked, disk
    full): not corrupt, so it is left as it is."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(
            f"cannot use the evaluation cache {path}: {reason}; set cache.path elsewhere or cache.enabled false"
        )


def default_cache_path(reference_cache_dir: str = "~/.cache/lightning_nas") -> Path:
    return Path(reference_cache_dir).expanduser() / "evaluations.sqlite"


def resolve_cache_path(path: str | None, reference_cache_dir: str) -> Path:
    return Path(path).expanduser() if path else default_cache_path(reference_cache_dir)


def _checksum(
    space: str, key: str, shash: str, rmi: float, cka: str, losses: str, seconds: float, version: str | None,
    rmi_at: str | None = None,
) -> str:
    parts = [space, key, shash, repr(float(rmi)), cka, losses, repr(float(seconds))]
    if version is not None:  # rows written before the version was recorded keep their checksum
        parts.append(version)
    if rmi_at:  # only scores with intermediate RMIs (proxy.score_steps) hash them: older rows keep their checksum
        parts.append(rmi_at)
    return _digest(*parts)[:16]


class EvalCache:
    """One SQLite file; open one `EvalCache` per process (connections are not shared across forks)."""

    def __init__(self, path: str | Path, rebuild_corrupt: bool = True) -> None:
        self.path = Path(path).expanduser()
        self.hits = 0
        self.stores = 0
        self.torch_version = torch.__version__
        self._warned_versions: set[str | None] = set()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = self._open()
        except (sqlite3.OperationalError, OSError) as err:  # locked, read-only, cannot open: keep the file
            raise CacheUnavailableError(self.path, one_line_reason(err)) from None
        except sqlite3.DatabaseError as err:  # not a database / malformed / failed quick_check
            if not rebuild_corrupt:
                raise CacheCorruptError(
                    f"evaluation cache {self.path} is not a usable SQLite file: {err}"
                ) from None
            self.conn = self._rebuild(err)

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(_SCHEMA)
            _migrate(conn)
            status = conn.execute("PRAGMA quick_check").fetchone()[0]
            if status != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {status}")
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def _rebuild(self, err: Exception) -> sqlite3.Connection:
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}-{os.getpid()}")
        log.warning(
            "evaluation cache %s is corrupt (%s): moved to %s, starting an empty one", self.path, err, aside
        )
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(self.path) + suffix)
            if src.exists():
                src.replace(Path(str(aside) + suffix))
        return self._open()

    def get(self, space: str, key: str, shash: str) -> ProxyResult | None:
        """The stored score, or None. A score stored under another torch version (or an unknown one) is
        returned all the same, with a warning naming both versions (once per version and cache)."""
        where = "space=? AND key=? AND score_hash=?"
        row = self.conn.execute(
            f"SELECT rmi, cka, losses, seconds, checksum, torch_version, rmi_at FROM scores WHERE {where}",
            (space, key, shash),
        ).fetchone()
        if row is None:
            return None
        rmi, cka, losses, seconds, checksum, version, rmi_at = row
        if _checksum(space, key, shash, rmi, cka, losses, seconds, version, rmi_at) != checksum:
            log.warning(
                "evaluation cache row (%s, %s) fails its checksum: dropped, will re-score", space, key
            )
            try:
                self.conn.execute(f"DELETE FROM scores WHERE {where}", (space, key, shash))
            except sqlite3.Error:  # a read-only file: the row stays, still never returned
                pass
            return None
        if version != self.torch_version and version not in self._warned_versions:
            self._warned_versions.add(version)
            log.warning(
                "evaluation cache %s: score (%s, %s) was stored under torch %s, this is torch %s; using it "
                "(a score can differ across torch versions; set cache.path elsewhere to re-score)",
                self.path,
                space,
                key,
                version or "unknown (not recorded)",
                self.torch_version,
            )
        self.hits += 1
        at = {int(step): float(v) for step, v in json.loads(rmi_at).items()} if rmi_at else {}
        return ProxyResult(float(rmi), json.loads(cka), json.loads(losses), float(seconds), at)

    def put(self, space: str, key: str, shash: str, score: ProxyResult) -> None:
        if not math.isfinite(score.rmi):
            return  # never store what cannot be read back as the same number
        cka, losses = json.dumps([float(c) for c in score.cka]), json.dumps(score.losses, sort_keys=True)
        version = self.torch_version
        rmi_at = json.dumps({str(k): float(v) for k, v in sorted(score.rmi_at.items())}) if score.rmi_at else None
        checksum = _checksum(space, key, shash, score.rmi, cka, losses, score.seconds, version, rmi_at)
        row = (
            space,
            key,
            shash,
            float(score.rmi),
            cka,
            losses,
            float(score.seconds),
            time.time(),
            checksum,
            version,
            rmi_at,
        )
        self.conn.execute(
            f"INSERT OR REPLACE INTO scores ({_COLUMNS}) VALUES ({', '.join('?' * len(row))})", row
        )
        self.stores += 1

    def keys(self, space: str, shash: str) -> set[str]:
        rows = self.conn.execute("SELECT key FROM scores WHERE space=? AND score_hash=?", (space, shash))
        return {r[0] for r in rows}

    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0])

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> EvalCache:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class RunCache:
    """The cache bound to one run's space and score hash: `lookup(key)` / `store(key, result)`.

    A write that fails (read-only file, disk full) stops further writes and a read that fails stops the
    cache altogether, each after one warning: the search goes on, its scores are only not kept across runs.
    With `required` (a command whose whole point is the cache) a failure is a ConfigError instead."""

    def __init__(self, cache: EvalCache, space: str, shash: str, required: bool = False) -> None:
        self.cache, self.space, self.shash, self.required = cache, space, shash, required
        self.readable = True
        self.writable = True

    def lookup(self, key: str) -> ProxyResult | None:
        if not self.readable:
            return None
        try:
            return self.cache.get(self.space, key, self.shash)
        except sqlite3.Error as err:
            self.readable = self.writable = False
            self._fail("a read", err)
            return None

    def store(self, key: str, result: ProxyResult) -> None:
        if not self.writable:
            return
        try:
            self.cache.put(self.space, key, self.shash, result)
        except sqlite3.Error as err:
            self.writable = False
            self._fail("a write", err)

    def _fail(self, what: str, err: Exception) -> None:
        reason = f"{what} failed: {one_line_reason(err)}"
        if self.required:
            raise CacheUnavailableError(self.cache.path, reason) from None
        log.warning(
            "evaluation cache %s unusable (%s): going on without it, new scores will not be kept across runs",
            self.cache.path,
            reason,
        )

    @property
    def hits(self) -> int:
        return self.cache.hits


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring a file written by an older version to the current schema (columns are only ever added)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(scores)")}
    if "torch_version" not in columns:  # older rows keep NULL: stored under an unknown torch version
        conn.execute("ALTER TABLE scores ADD COLUMN torch_version TEXT")
    if "rmi_at" not in columns:  # older rows keep NULL: no intermediate scores
        conn.execute("ALTER TABLE scores ADD COLUMN rmi_at TEXT")


def open_run_cache(cfg: Any, scorer: Any, space: Any, required: bool = False) -> RunCache | None:
    """The persistent cache for a run (`cfg.cache`), or None when disabled. The score key takes the thread
    count and accelerator the run's evaluator trains candidates with (`RMIEvaluator.threads`, `.cfg`).

    A cache that cannot be opened or created is None too, after one warning (the run goes on without it),
    unless `required` (then the CacheUnavailableError, a one-line ConfigError, is raised). A search takes
    its scores from a table instead when `proxy.table` is set: `lightning_nas.rmi.score_source`."""
    if not cfg.cache.enabled:
        return None
    path = resolve_cache_path(cfg.cache.path, cfg.reference.cache_dir)
    shash = parts_hash(run_score_parts(scorer, space))
    try:
        cache = EvalCache(path)
    except CacheUnavailableError as err:
        if required:
            raise
        log.warning(
            "evaluation cache %s unusable (%s): going on without it, scores will not be kept across runs",
            err.path,
            err.reason,
        )
        return None
    return RunCache(cache, space.name, shash, required)
