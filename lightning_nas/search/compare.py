"""What "the same results" means, once, for every test and benchmark that compares two runs (a rerun,
a resumed run, a run with more workers):

- the same best genotype, the same hall of fame (genotypes in order, fitness), the same Pareto front
  (NSGA-II), the same logbook
  (every generation's statistics and draw counts), and
- every evaluation (evaluations.csv's rows: generation, individual, key, RMI, per-layer CKA, costs,
  fitness, feasibility) the same, numbers to within `TOL` (absolute).

Counters that depend on where a score came from or how long it took (cache hits, persistent-cache
hits, trained counts, seconds, wall time, run directory) are not compared.

Scores themselves are reproducible only under the same score key: see `lightning_nas.rmi.cache`
(thread count per candidate and accelerator are part of it; the torch version is recorded)."""

from __future__ import annotations

import math
from typing import Any

TOL = 1e-6
IGNORED_ROW_FIELDS = frozenset({"seconds", "cache_hit"})


def _same_value(a: Any, b: Any, tol: float) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        if math.isinf(a) or math.isinf(b):
            return a == b
        return abs(a - b) <= tol
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same_value(x, y, tol) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_value(a[k], b[k], tol) for k in a)
    return a == b


def _candidate(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": c["key"],
        "rmi": c["rmi"],
        "cka": c["cka"],
        "fitness": c["fitness"],
        "feasible": c["feasible"],
    }


def result_differences(a: dict[str, Any], b: dict[str, Any], tol: float = TOL) -> list[str]:
    """Where two results.json differ under the rule above (empty: the same)."""
    out = []
    if not _same_value(_candidate(a["best"]), _candidate(b["best"]), tol):
        out.append(
            f"best: {a['best']['key']} (rmi {a['best']['rmi']}) vs {b['best']['key']} (rmi {b['best']['rmi']})"
        )
    hof_a, hof_b = [_candidate(c) for c in a["hall_of_fame"]], [_candidate(c) for c in b["hall_of_fame"]]
    if not _same_value(hof_a, hof_b, tol):
        out.append("hall_of_fame differs")
    if not _same_value(a["logbook"], b["logbook"], tol):
        out.append("logbook differs")
    front_a, front_b = ([_candidate(c) for c in r.get("pareto_front") or []] for r in (a, b))
    if not _same_value(front_a, front_b, tol):
        out.append("pareto_front differs")
    return out


def row_differences(
    rows_a: list[dict[str, Any]], rows_b: list[dict[str, Any]], tol: float = TOL
) -> list[str]:
    """Where two runs' evaluation rows differ (fields in IGNORED_ROW_FIELDS excepted)."""
    if len(rows_a) != len(rows_b):
        return [f"{len(rows_a)} evaluations vs {len(rows_b)}"]
    out = []
    for ra, rb in zip(rows_a, rows_b, strict=True):
        fa = {k: v for k, v in ra.items() if k not in IGNORED_ROW_FIELDS}
        fb = {k: v for k, v in rb.items() if k not in IGNORED_ROW_FIELDS}
        if not _same_value(fa, fb, tol):
            diff = sorted(k for k in fa.keys() | fb.keys() if not _same_value(fa.get(k), fb.get(k), tol))
            out.append(
                f"generation {ra.get('generation')} individual {ra.get('individual')}: {', '.join(diff)}"
            )
    return out


def same_results(
    a: dict[str, Any],
    b: dict[str, Any],
    rows_a: list[dict[str, Any]] | None = None,
    rows_b: list[dict[str, Any]] | None = None,
    tol: float = TOL,
) -> bool:
    return not result_differences(a, b, tol) and (
        rows_a is None or not row_differences(rows_a, rows_b or [], tol)
    )
