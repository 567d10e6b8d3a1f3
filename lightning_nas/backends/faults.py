"""Fault injection for the fault-isolation tests: with LIGHTNING_NAS_FAULTS set to a JSON file
{"<genotype key>": {"fault": "raise" | "nan" | "kill", "times": N}}, scoring that genotype fails the
first N times (default: always) in whatever process scores it: `raise` raises, `nan` makes the score
non-finite, `kill` kills the process with SIGKILL (a segfault or an OOM kill, as a worker sees it).
Attempts are counted in files beside the JSON, so they survive the process that died. Unset, nothing
happens (one environment look-up per candidate)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
from pathlib import Path

ENV = "LIGHTNING_NAS_FAULTS"


class InjectedFault(RuntimeError):
    pass


def maybe_inject(key: str) -> bool:
    """Inject the fault configured for `key`, if any; True means "make this score NaN"."""
    path = os.environ.get(ENV)
    if not path:
        return False
    spec = json.loads(Path(path).read_text()).get(key)
    if spec is None:
        return False
    counter = Path(f"{path}.{hashlib.sha256(key.encode()).hexdigest()[:12]}.count")
    done = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(done + 1))
    if spec.get("times") is not None and done >= int(spec["times"]):
        return False
    if spec["fault"] == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if spec["fault"] == "nan":
        return True
    raise InjectedFault(f"injected fault for {key} (attempt {done + 1})")
