"""How numbers that may be missing are printed (report.md, the console summary, the plots' labels):
a None or non-finite value (a winner without a cost value has NaN cost, RMI None and fitness -inf)
prints as `n/a`, never as a format error."""

from __future__ import annotations

import math
from typing import Any

MISSING = "n/a"


def number(value: Any) -> float | None:
    """`value` as a finite float, or None when it is missing, not a number or not finite."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def fmt(value: Any, digits: int = 4) -> str:
    """Numbers with `digits` decimals (`n/a` for missing or non-finite values; booleans as yes/no)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or isinstance(value, int | float):
        x = number(value)
        return MISSING if x is None else f"{x:.{digits}f}"
    return str(value)


def fmt_cost(value: Any, spec: str = ".5g") -> str:
    """Costs with 5 significant digits (MFLOPs, ms, mJ span orders of magnitude); `n/a` when missing."""
    x = number(value)
    return MISSING if x is None else format(x, spec)


def fmt_budget(value: Any) -> str:
    """A budget as `%g`; `none` when the objective has no limit."""
    x = number(value)
    return "none" if x is None else f"{x:g}"
