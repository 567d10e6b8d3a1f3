"""The report's matplotlib figures, one function per figure, each taking one or several finished runs
(several: the same plot overlaid, one colour per run). Drawn with the object-oriented API on an Agg
canvas: no pyplot state, no display needed."""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from lightning_nas.reporting.data import (
    cost_metrics,
    evaluated_points,
    final_population,
    generation_stats,
    nb201_accuracy,
    op_fractions,
    run_space,
    top10,
    unique_candidates,
)
from lightning_nas.reporting.format import number
from lightning_nas.reporting.run_reader import FinishedRun
from lightning_nas.spaces.base import SearchSpace

DPI = 110


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    if fig.get_layout_engine() is None:  # a constrained-layout figure (with a colour bar) lays itself out
        fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    return path


def _colour(i: int) -> str:
    return f"C{i % 10}"


def _unit(run: FinishedRun) -> str:
    return f"{run.results['cost_metric']} ({run.results['cost_unit']})"


def plot_generations(runs: list[FinishedRun], path: Path) -> Path:
    """Fitness, RMI and cost per generation: best (solid) and mean (dashed); the budget on the cost panel."""
    fig = Figure(figsize=(13, 4))
    axes = fig.subplots(1, 3)
    for i, run in enumerate(runs):
        s = generation_stats(run)
        gen = [g + 1 for g in s.generation]
        label = run.name if len(runs) > 1 else None
        for ax, best, mean in zip(axes, (s.best_fitness, s.best_rmi, s.best_cost), (s.mean_fitness, s.mean_rmi, s.mean_cost), strict=True):
            ax.plot(gen, best, "-o", color=_colour(i), ms=3, label=f"{label} best" if label else "best")
            ax.plot(gen, mean, "--", color=_colour(i), alpha=0.7, label=f"{label} mean" if label else "mean")
        budget = number(run.results.get("budget"))
        if budget is not None:
            axes[2].axhline(budget, color=_colour(i), ls=":", lw=1, label=f"budget {budget:g}")
    for ax, title in zip(axes, ("fitness", "RMI score", f"cost: {_unit(runs[0])}"), strict=True):
        ax.set_title(title)
        ax.set_xlabel("generation")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[2].set_title(f"cost of the best individual: {_unit(runs[0])}", fontsize=10)
    return _save(fig, path)


def plot_rmi_vs_cost(runs: list[FinishedRun], path: Path) -> Path:
    """Every evaluated candidate (RMI vs cost), the budget line and the winner (star)."""
    fig = Figure(figsize=(6.5, 5))
    ax = fig.subplots()
    for i, run in enumerate(runs):
        points = unique_candidates(run)
        prefix = f"{run.name}: " if len(runs) > 1 else ""
        if points:
            ax.scatter([c for c, _ in points], [r for _, r in points], s=14, alpha=0.5, color=_colour(i),
                       label=f"{prefix}{len(points)} evaluated candidates")
        budget = number(run.results.get("budget"))
        if budget is not None:
            ax.axvline(budget, color=_colour(i), ls="--", lw=1, label=f"{prefix}budget {budget:g}")
        best = run.results["best"]
        cost, rmi = number(best.get("cost")), number(best.get("rmi"))
        if cost is not None and rmi is not None:  # a winner without a cost value or RMI has no point
            ax.scatter([cost], [rmi], marker="*", s=220, color=_colour(i), edgecolor="black",
                       zorder=5, label=f"{prefix}winner")
    ax.set_xlabel(_unit(runs[0]))
    ax.set_ylabel("RMI score (sum of CKA)")
    ax.set_title("RMI vs cost of every evaluated candidate")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, path)


def _bars(ax: object, groups: dict[str, dict[str, float]], order: list[str]) -> None:
    width = 0.8 / max(1, len(groups))
    for j, (name, fractions) in enumerate(groups.items()):
        xs = [k + (j - (len(groups) - 1) / 2) * width for k in range(len(order))]
        ax.bar(xs, [100 * fractions.get(lbl, 0.0) for lbl in order], width, label=name, color=_colour(j))  # type: ignore[attr-defined]
    ax.set_xticks(range(len(order)))  # type: ignore[attr-defined]
    ax.set_xticklabels(order, rotation=30, ha="right", fontsize=8)  # type: ignore[attr-defined]
    ax.set_ylabel("share of genes (%)")  # type: ignore[attr-defined]
    ax.grid(axis="y", alpha=0.3)  # type: ignore[attr-defined]
    ax.legend(fontsize=7)  # type: ignore[attr-defined]


def op_groups(space: SearchSpace, runs: list[FinishedRun]) -> dict[str, dict[str, float]]:
    """Operation shares: final population and top 10 for one run; the final populations for several."""
    if len(runs) == 1:
        run = runs[0]
        return {
            f"final population ({len(final_population(run))})": op_fractions(space, final_population(run)),
            f"top {len(top10(run))}": op_fractions(space, [c["genotype"] for c in top10(run)]),
        }
    return {run.name: op_fractions(space, final_population(run)) for run in runs}


def op_distribution_figure(space: SearchSpace, groups: dict[str, dict[str, float]], title: str) -> Figure:
    """Share of each gene value (NB201: operation; OFA: `ks=`, `e=`, `d=` choices) per group of genotypes."""
    order = space.label_order({k for g in groups.values() for k in g})
    fig = Figure(figsize=(max(6.5, 0.5 * len(order) + 2), 4.5))
    ax = fig.subplots()
    _bars(ax, groups, order)
    ax.set_title(title)
    return fig


def plot_op_distribution(runs: list[FinishedRun], path: Path) -> Path:
    title = "operations in the final population" + (" and the top 10" if len(runs) == 1 else ", per run")
    space = run_space(runs[0])
    return _save(op_distribution_figure(space, op_groups(space, runs), title), path)


def plot_pareto_front(run: FinishedRun, path: Path) -> Path:
    """An NSGA-II run: RMI against each cost objective (one panel each), every evaluated candidate in grey,
    the front highlighted (coloured by NB201 accuracy when the run names an NB201 table), budgets dashed."""
    metrics = cost_metrics(run)
    front = run.results.get("pareto_front", [])
    accuracy = nb201_accuracy(run)
    fig = Figure(figsize=(5.5 * len(metrics) + (1.2 if accuracy else 0), 4.5), layout="constrained")
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    points = list(evaluated_points(run).values())
    for ax, (metric, unit) in zip(axes, metrics, strict=True):
        ax.scatter([p[f"cost_{metric}"] for p in points], [p["rmi"] for p in points], s=10, color="0.7",
                   label=f"{len(points)} evaluated")  # fmt: skip
        xs = [next(c["value"] for c in m["costs"] if c["metric"] == metric) for m in front]
        ys = [m["rmi"] for m in front]
        if len(metrics) == 1 and front:
            order = sorted(range(len(xs)), key=lambda i: xs[i])
            ax.step([xs[i] for i in order], [ys[i] for i in order], where="post", color="C3", lw=1, zorder=3)
        colour = {"c": [accuracy(m["key"]) for m in front], "cmap": "viridis"} if accuracy else {"color": "C3"}
        dots = ax.scatter(xs, ys, s=36, edgecolor="black", zorder=4, label=f"front ({len(front)})", **colour)
        budget = next((c["budget"] for c in run.results["best"]["costs"] if c["metric"] == metric), None)
        if number(budget) is not None:
            ax.axvline(budget, color="C0", ls="--", lw=1, label=f"budget {budget:g}")
        ax.set_xlabel(f"{metric} ({unit})")
        ax.set_ylabel("RMI score (sum of CKA)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if accuracy and front:
        fig.colorbar(dots, ax=list(axes), label="NB201 accuracy (%)")
    fig.suptitle(f"Pareto front of {run.name}")
    return _save(fig, path)
