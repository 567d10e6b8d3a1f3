"""Choices under a budget over a whole space (arrays indexed by architecture, e.g. by NB201 index): the
best feasible architecture by a score, the trivial pickers every search result stands beside (the most
FLOPs under the budget, a random feasible one), and the search fitness's capacity term over an array."""

from __future__ import annotations

from typing import Any

import numpy as np

from lightning_nas.tables.oracle import feasible_mask


def best_feasible(score: np.ndarray, cost: np.ndarray, budget: float) -> int:
    """Index of the feasible arch (cost <= budget, a NaN cost never) with the highest finite score; ties go
    to the lowest index; -1 when none is feasible."""
    mask = feasible_mask(cost, budget) & np.isfinite(score)
    if not mask.any():
        return -1
    idx = np.flatnonzero(mask)
    return int(idx[np.lexsort((idx, -score[idx]))[0]])


def trivial_picks(oracle: Any, flops: np.ndarray, budget: float) -> dict[str, float]:
    """Accuracy (on `oracle`'s dataset) of the trivial pickers under `budget`: the feasible arch with the most
    FLOPs (ties: lowest index), and a random feasible arch in expectation (the mean over the feasible set)."""
    mask = feasible_mask(oracle.cost, budget) & ~np.isnan(oracle.accuracy)
    idx = np.flatnonzero(mask)
    if not len(idx):
        raise ValueError(f"no architecture is feasible under the budget {budget:g}")
    most = idx[np.lexsort((idx, -flops[idx]))[0]]
    return {"max_flops_acc": float(oracle.accuracy[most]), "random_feasible_acc": float(np.mean(oracle.accuracy[idx]))}


def capacity_scores(score: np.ndarray, mflops: np.ndarray, weight: float) -> np.ndarray:
    """score + `weight` * log10(MFLOPs) for every arch: the fitness the search maximises with
    `search.capacity_weight` (`lightning_nas.search.fitness.capacity_term`; -inf where MFLOPs <= 0)."""
    score = np.asarray(score, dtype=float)
    if not weight:
        return score.copy()
    mflops = np.asarray(mflops, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(mflops > 0, weight * np.log10(np.where(mflops > 0, mflops, 1.0)), -np.inf)
    return score + term
