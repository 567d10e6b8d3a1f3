"""Committed shards of scores for studies that outlive a session: small CSV files, one per chunk of scored
archs, written as each chunk finishes (so `git add` can commit them while the study runs) and read back by
a later run, which then scores only what no shard holds. A local cache may not survive; the shards do.

A row: the setting's id (a digest of the config overrides and the probe seed), init seed, threads, the
arch's key, its RMI, per-layer CKA, the RMIs after earlier steps (`proxy.score_steps`), seconds, and the
CPU that computed it (a later run on another CPU says so: scores differ in the last bits across CPUs)."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

from lightning_nas.machine import cpu_model
from lightning_nas.rmi.evaluator import ProxyResult

FIELDS = ("setting_id", "init_seed", "threads", "key", "rmi", "cka", "rmi_at", "seconds", "cpu")


def setting_id(overrides: tuple[str, ...], seed: int) -> str:
    return hashlib.sha256(json.dumps([list(overrides), seed]).encode()).hexdigest()[:12]


class ShardStore:
    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.cpus: set[str] = set()

    def load(self, sid: str, init_seed: int, threads: int) -> dict[str, ProxyResult]:
        """Every stored result of this setting, init seed and thread count, by arch key."""
        out: dict[str, ProxyResult] = {}
        for path in sorted(self.folder.glob("*.csv")):
            with open(path, newline="") as f:
                for r in csv.DictReader(f):
                    if (r["setting_id"], int(r["init_seed"]), int(r["threads"])) == (sid, init_seed, threads):
                        at = {int(k): float(v) for k, v in json.loads(r["rmi_at"] or "{}").items()}
                        out[r["key"]] = ProxyResult(float(r["rmi"]), json.loads(r["cka"]), {}, float(r["seconds"]), at)
                        self.cpus.add(r["cpu"])
        return out

    def write(self, sid: str, init_seed: int, threads: int, results: dict[str, ProxyResult]) -> Path | None:
        """One shard with these results (None when there are none); named by its content, so writing the
        same results twice leaves one file."""
        if not results:
            return None
        cpu = cpu_model() or "unknown"
        rows = [{"setting_id": sid, "init_seed": init_seed, "threads": threads, "key": k, "rmi": repr(r.rmi),
                 "cka": json.dumps(r.cka), "rmi_at": json.dumps({str(s): v for s, v in sorted(r.rmi_at.items())}),
                 "seconds": f"{r.seconds:.3f}", "cpu": cpu} for k, r in sorted(results.items())]  # fmt: skip
        name = hashlib.sha256(json.dumps([sid, init_seed, threads, sorted(results)]).encode()).hexdigest()[:10]
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{sid}-s{init_seed}-t{threads}-{name}.csv"
        tmp = path.with_suffix(".partial")
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=FIELDS)
            writer.writeheader()
            writer.writerows(rows)
        tmp.replace(path)
        return path


def describe(store: Any) -> dict[str, Any]:
    return {"folder": store.folder.name, "cpus": sorted(store.cpus)} if store else {}
