"""The competitive set of the paper-setting study (issue 26): for each of the 18 latency settings of Fig. 2
(6 HW-NAS-Bench devices x the 25/50/75th percentile of the device's latency over the space), the NB201
isomorphism classes that decide the top of that budget, one representative per class (the arch the fast
table scored for the class: its `scored_as` column), each feasible on its own latency:

- the 10 most accurate (NB201 200-epoch CIFAR-10 test accuracy);
- the 10 with the most FLOPs;
- the 10 best by the fast table's RMI;
- 10 drawn at random (seeded per setting), so that archs a proxy wrongly ranks high can show up.

`top_end` then asks, for each setting and scorer, how good the scorer's best-scored member is: its
accuracy regret against the set's most accurate member and its accuracy rank in the set. Archs outside
the set are not scored, so this regret is a lower bound on the regret over the whole budget."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path
from typing import Any

import numpy as np

PERCENTILES = (25, 50, 75)
PER_LIST = 10
LISTS = ("accuracy", "flops", "fast_rmi", "random")


def read_fast_table(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(RMI by NB201 index, representative index by NB201 index) of a whole-space table of scores."""
    with gzip.open(path, "rt", newline="") as f:
        rows = [(int(r["arch_index"]), float(r["rmi"]), int(r["scored_as"])) for r in csv.DictReader(f)]
    rmi, rep = np.full(len(rows), np.nan), np.zeros(len(rows), dtype=int)
    for i, value, scored_as in rows:
        rmi[i], rep[i] = value, scored_as
    return rmi, rep


def settings_of(hw: Any, devices: tuple[str, ...]) -> list[tuple[str, int, float]]:
    """(device, percentile, budget) of each latency setting, device by device."""
    out = []
    for device in devices:
        cost = hw.get("cifar10", device)
        out += [(device, p, float(np.nanpercentile(cost, p))) for p in PERCENTILES]
    return out


def lists_of(cost: np.ndarray, budget: float, acc: np.ndarray, flops: np.ndarray, fast: np.ndarray, reps: np.ndarray,
             rng: np.random.Generator) -> dict[str, list[int]]:  # fmt: skip
    """The four lists of one setting (NB201 indices of representatives, best first; ties by index)."""
    ok = reps[np.isfinite(cost[reps]) & (cost[reps] <= budget) & np.isfinite(acc[reps])]

    def top(values: np.ndarray) -> list[int]:
        return [int(i) for i in ok[np.lexsort((ok, -values[ok]))][:PER_LIST]]

    return {"accuracy": top(acc), "flops": top(flops), "fast_rmi": top(fast),
            "random": [int(i) for i in rng.choice(ok, size=min(PER_LIST, len(ok)), replace=False)]}  # fmt: skip


def competitive_set(hw: Any, acc: np.ndarray, flops: np.ndarray, fast: np.ndarray, rep: np.ndarray, devices: tuple[str, ...],
                    seed: int = 0) -> tuple[list[int], list[dict[str, Any]]]:  # fmt: skip
    """The set's members in scoring order (setting by setting, so a partial scoring completes whole settings)
    and one row per (setting, list, member)."""
    reps = np.unique(rep)
    order: dict[int, None] = {}
    rows: list[dict[str, Any]] = []
    for k, (device, pct, budget) in enumerate(settings_of(hw, devices)):
        rng = np.random.default_rng([seed, k])
        for name, members in lists_of(hw.get("cifar10", device), budget, acc, flops, fast, reps, rng).items():
            for rank, i in enumerate(members):
                order.setdefault(i)
                rows.append({"device": device, "percentile": pct, "budget": budget, "list": name, "rank": rank + 1, "index": i})
    return list(order), rows


def _rank(values: np.ndarray, i: int) -> int:
    """1 + how many members beat member i (ties share the best rank)."""
    return 1 + int(np.sum(values > values[i]))


def top_end(rows: list[dict[str, Any]], acc: np.ndarray, scorers: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Per setting and scorer (arrays by NB201 index, NaN where not scored): the best-scored member's
    accuracy, regret to the set's best accuracy and accuracy rank in the set, over the members every scorer
    scored (n_scored of n_members; a setting is complete when they are equal)."""
    out = []
    settings = dict.fromkeys((r["device"], r["percentile"], r["budget"]) for r in rows)
    for device, pct, budget in settings:
        members = np.array(sorted({r["index"] for r in rows if (r["device"], r["percentile"]) == (device, pct)}))
        scored = members[np.all([np.isfinite(s[members]) for s in scorers.values()], axis=0)]
        row: dict[str, Any] = {"device": device, "percentile": pct, "budget": budget, "n_members": len(members), "n_scored": len(scored)}
        if len(scored):
            a = acc[scored]
            row["best_acc"] = float(a.max())
            for name, s in scorers.items():
                j = int(np.lexsort((scored, -s[scored]))[0])
                row[f"{name}_acc"], row[f"{name}_regret"], row[f"{name}_rank"] = float(a[j]), float(a.max() - a[j]), _rank(a, j)
        out.append(row)
    return out
