"""Figures of a search in progress, drawn from its rows (`RunRecords.rows`: one per candidate per
generation) at the end of a generation, for TensorBoard:

- `rmi_cost_figure`: RMI against each cost objective (one panel each): every candidate evaluated so far
  in grey, the current population highlighted, the best so far starred, the budget dashed where the
  objective has one (NSGA-II may have none);
- `population_op_figure`: the share of each gene value (NB201: operation over the 6 edges; OFA MobileNetV3:
  `ks=`, `e=`, `d=` choices) in the current population and in the best so far, drawn by the report's
  `plots.op_distribution_figure`.

Object-oriented matplotlib on an Agg canvas (no pyplot state, no display)."""

from __future__ import annotations

import math
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from lightning_nas.reporting.data import op_fractions
from lightning_nas.reporting.plots import op_distribution_figure
from lightning_nas.spaces.base import SearchSpace


def _value(v: Any) -> float:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else math.nan


def distinct_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first row of each distinct genotype key, in evaluation order."""
    first: dict[str, dict[str, Any]] = {}
    for r in rows:
        first.setdefault(r["key"], r)
    return list(first.values())


def best_so_far(rows: list[dict[str, Any]], k: int | None = None) -> list[dict[str, Any]]:
    """The `k` (None: all) distinct genotypes of highest fitness (RMI + penalty), best first (ties: evaluated
    first), each as its first row."""
    def rank(r: dict[str, Any]) -> float:
        fit = _value(r["fitness"])
        return -fit if math.isfinite(fit) else math.inf

    return sorted(distinct_rows(rows), key=rank)[:k]


def rmi_cost_figure(
    rows: list[dict[str, Any]], population: list[dict[str, Any]], objectives: list[Any], generation: int
) -> Figure:
    """`objectives`: each with `.name`, `.unit` and `.budget` (None: no budget line); the rows carry
    `cost_<name>` for each."""
    seen = distinct_rows(rows)
    current = distinct_rows(population)
    best = best_so_far(rows, 1)
    fig = Figure(figsize=(5.0 * len(objectives), 4.2), dpi=90, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(objectives), squeeze=False)[0]
    for ax, o in zip(axes, objectives, strict=True):
        column = f"cost_{o.name}"
        for group, style in (
            (seen, {"s": 12, "color": "0.7", "label": f"evaluated so far ({len(seen)})"}),
            (current, {"s": 36, "color": "C3", "edgecolor": "black", "zorder": 4,
                       "label": f"generation {generation} population ({len(current)})"}),
            (best, {"s": 220, "marker": "*", "color": "gold", "edgecolor": "black", "zorder": 5,
                    "label": "best so far"}),
        ):  # fmt: skip
            points = [(_value(r[column]), _value(r["rmi"])) for r in group]
            points = [(c, m) for c, m in points if math.isfinite(c) and math.isfinite(m)]
            ax.scatter([c for c, _ in points], [m for _, m in points], **style)
        if o.budget is not None and math.isfinite(_value(o.budget)):
            ax.axvline(o.budget, color="C0", ls="--", lw=1, label=f"budget {o.budget:g}")
        ax.set_xlabel(f"{o.name} ({o.unit})")
        ax.set_ylabel("RMI score (sum of CKA)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"RMI vs cost after generation {generation}")
    return fig


def population_op_figure(
    space: SearchSpace, population: list[dict[str, Any]], rows: list[dict[str, Any]], k: int, generation: int
) -> Figure:
    """Gene-value shares of the population (`rows` of one generation) and of the best `k` so far."""
    top = best_so_far(rows, k)
    groups = {
        f"generation {generation} population ({len(population)})": op_fractions(
            space, [r["genotype"] for r in population]
        ),
        f"best {len(top)} so far": op_fractions(space, [r["genotype"] for r in top]),
    }
    fig = op_distribution_figure(space, groups, f"gene values after generation {generation}")
    fig.set_dpi(90)
    FigureCanvasAgg(fig)
    fig.set_layout_engine("constrained")
    return fig
