"""Rank agreement between two scorings of the same architectures (a proxy against accuracy, a table
against a rescoring)."""

from __future__ import annotations

import numpy as np
from scipy import stats


def rank_agreement(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(Kendall tau-b, Spearman rho) of `x` against `y`; NaN for both with fewer than 3 values or a
    constant `x` (no ranking to compare)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) != len(y):
        raise ValueError(f"rank_agreement needs two scorings of the same archs, got {len(x)} and {len(y)} values")
    if len(x) < 3 or np.ptp(x) == 0:
        return float("nan"), float("nan")
    return float(stats.kendalltau(x, y).statistic), float(stats.spearmanr(x, y).statistic)
