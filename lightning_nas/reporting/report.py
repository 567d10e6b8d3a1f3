"""report.md and its plots for finished runs, behind `python -m lightning_nas.report` (`lightning_nas/report.py`
documents the command and the energy assumptions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning_nas.reporting.format import fmt, fmt_budget, fmt_cost
from lightning_nas.reporting.plots import (
    plot_generations,
    plot_op_distribution,
    plot_pareto_front,
    plot_rmi_vs_cost,
)
from lightning_nas.reporting.run_reader import FinishedRun, load_run
from lightning_nas.reporting.search_cost import ComputeCost, EnergyAssumptions, compute_cost

REPORT = "report.md"
PLOTS = {"generations": "generations.png", "rmi_vs_cost": "rmi_vs_cost.png", "op_distribution": "op_distribution.png"}


def code(text: str) -> str:
    """Inline code that survives inside a Markdown table (NB201 arch strings are full of `|`)."""
    return "`" + str(text).replace("|", "\\|") + "`"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


# ---- search cost --------------------------------------------------------------------------------
def search_device_type(run: FinishedRun) -> str:
    """Where the proxy trained candidates: device.json (written by callbacks.report while searching),
    else the run's proxy.accelerator (cpu by default)."""
    if run.device.get("device_type"):
        return str(run.device["device_type"])
    accelerator = run.setting("proxy", "accelerator", "cpu")
    return "cuda" if accelerator in ("gpu", "cuda") else "cpu" if accelerator in ("cpu", None) else str(accelerator)


def search_device(run: FinishedRun) -> str:
    """The device's name from device.json, else what versions.json says about the machine."""
    v = {**run.versions, **run.device}
    name = v.get("device") or search_device_type(run).upper()
    cores = f", {v['cpus']} logical cores" if v.get("cpus") else ""
    host = f" ({v['platform']})" if v.get("platform") else ""
    return f"{name}{cores}{host}"


def search_cost(run: FinishedRun, assumptions: EnergyAssumptions, device: str | None = None) -> ComputeCost:
    wall = float(run.results["wall_seconds"])
    return compute_cost(wall, search_device_type(run), device or search_device(run), assumptions)


def finetune_cost(run: FinishedRun, assumptions: EnergyAssumptions) -> ComputeCost | None:
    ft = run.finetune
    if not ft:
        return None
    return compute_cost(float(ft["wall_seconds"]), ft.get("device_type", "cpu"), ft.get("device", "?"), assumptions)


def cost_lines(title: str, cost: ComputeCost) -> list[str]:
    return [f"### {title}", ""] + _table(
        ["wall-clock (s)", "device type", "device", "device-hours", "power (W)", "PUE", "energy (kWh)", "carbon (g CO2e/kWh)", "CO2e (kg)"],
        [[fmt(cost.wall_seconds, 1), cost.device_type, cost.device, fmt(cost.device_hours), fmt(cost.power_w, 0), fmt(cost.pue, 2),
          fmt(cost.energy_kwh, 6), fmt(cost.carbon_g_per_kwh, 0), fmt(cost.co2e_kg, 6)]],
    ) + [""]


# ---- sections -----------------------------------------------------------------------------------
def settings_lines(run: FinishedRun) -> list[str]:
    r = run.results
    cons = "; ".join(f"{c['metric']} <= {fmt_budget(c['budget'])} {c['unit']}" for c in r.get("constraints", []))
    return [
        f"- space: {run.setting('space', 'name')} (proxy C{run.setting('space', 'C')}/N{run.setting('space', 'N')}, "
        f"costed at C{run.setting('space', 'full_C')}/N{run.setting('space', 'full_N')}), dataset: {run.setting('data', 'name')}",
        f"- constraint(s): {cons}; constraint handling: {r.get('constraint_handling')} ({r.get('penalty')} penalty)",
        f"- GA: population {run.setting('search', 'population')} x {r.get('generations')} generations; proxy "
        f"{run.setting('proxy', 'steps')} steps, beta {run.setting('proxy', 'beta')}; seed {r.get('seed')}",
        f"- evaluations: {r.get('evaluations')} ({r.get('unique_evaluations')} trained, {r.get('cache_hits')} cache hits, "
        f"{r.get('samples_drawn')} samples drawn)",
        "",
    ]


def winner_lines(run: FinishedRun) -> list[str]:
    b = run.results["best"]
    rows = [["architecture", code(b["description"])]]
    if "nb201_index" in b:
        rows.append(["NB201 index", b["nb201_index"]])
    rows += [["RMI", fmt(b["rmi"])], ["fitness", fmt(b["fitness"])]]
    rows += [[f"{c['metric']} ({c['unit']})", f"{fmt_cost(c['value'])} (budget {fmt_budget(c['budget'])})"] for c in b["costs"]]
    rows.append(["feasible", fmt(b["feasible"])])
    lines = ["## Winner", ""] + _table(["quantity", "value"], rows) + [""]
    if run.results.get("best_feasible"):
        bf = run.results["best_feasible"]
        lines += [f"Over budget; the best feasible candidate was {code(bf['description'])} (RMI {fmt(bf['rmi'])}, "
                  f"cost {fmt_cost(bf['cost'])}).", ""]
    return lines


def refine_lines(run: FinishedRun) -> list[str]:
    """The refine stage's winner beside the proxy's (nothing when the run was not refined)."""
    r = run.results.get("refined")
    if not r:
        return []
    w = r["winner"]
    how = "looked up in a table" if r["measured_by"] == "table" else "trained briefly"
    rows = [["architecture", code(w["description"])], ["validation accuracy (%)", fmt(w["val_acc"], 2)],
            ["from the short list's", w["shortlist_source"]], ["short list", f"{r['shortlist']} candidates, {how}"],
            ["seconds", fmt(r["seconds"], 1)]]  # fmt: skip
    rows += [[f"{c['metric']} ({c['unit']})", f"{fmt_cost(c['value'])} (budget {fmt_budget(c['budget'])})"] for c in w["costs"]]
    return ["## Refined winner (fine-tuned in its place)", ""] + _table(["quantity", "value"], rows) + [f"Rows: `{r['csv']}`.", ""]


def finetune_lines(run: FinishedRun) -> list[str]:
    ft = run.finetune
    if not ft:
        return ["## Fine-tuning", "", "Not run (`python -m lightning_nas.finetune --run_dir RUN_DIR`).", ""]
    bench = ft.get("benchmark_test_acc")
    rows = [
        ["architecture", f"{code(ft['arch'])} ({ft['source']})"],
        ["test top-1 (%)", fmt(ft["test_top1"], 2)],
        ["test top-5 (%)", fmt(ft["test_top5"], 2)],
    ]
    if bench:
        rows.append([f"NAS-Bench-201 {bench['dataset']} {bench['field']} (%)", fmt(bench["value"], 2) + (f" ({bench['note']})" if bench.get("note") else "")])
    rows += [
        ["best validation accuracy (%)", fmt(ft["best_val_acc"], 2)],
        ["epochs", f"{ft['epochs_completed']}/{ft['epochs']}"],
        ["wall-clock (s)", fmt(ft["wall_seconds"], 1)],
        ["parameters (M)", fmt(ft["params_M"])],
        ["FLOPs (M)", fmt_cost(ft["flops_M"])],
    ]
    rows += [[f"{c['metric']} ({c['unit']})", f"{fmt_cost(c['value'])} (budget {fmt_budget(c['budget'])})"] for c in ft["costs"]]
    rows.append(["checkpoint", code(ft["checkpoint"])])
    return ["## Fine-tuning", ""] + _table(["quantity", "value"], rows) + [""]


def export_lines(run: FinishedRun) -> list[str]:
    ex = (run.finetune or {}).get("export")
    if not ex:
        return []
    checks = ", ".join(f"{c['format']} {'ok' if c['ok'] else 'MISMATCH'}" for c in ex["checks"])
    files = ", ".join(f"`{Path(p).name}`" for p in ex["files"].values())
    return ["## Export", "", f"{files} in `{Path(ex['files']['onnx']).parent}`; ONNX opset {ex['onnx_opset']}; checks: {checks}.", ""]


def top10_lines(run: FinishedRun) -> list[str]:
    hof = run.results.get("hall_of_fame", [])[:10]
    rows = [[i + 1, code(c["description"]), fmt(c["rmi"]), fmt_cost(c["cost"]), fmt(c["fitness"]), fmt(c["feasible"])] for i, c in enumerate(hof)]
    return ["## Top 10 (hall of fame)", ""] + _table(["#", "architecture", "RMI", f"cost ({run.results['cost_unit']})", "fitness", "feasible"], rows) + [""]


def front_lines(run: FinishedRun) -> list[str]:
    """An NSGA-II run's front (highest RMI first), its hypervolume and how to pick from it."""
    front = run.results.get("pareto_front")
    if not front:
        return []
    metrics = [(c["metric"], c["unit"]) for c in front[0]["costs"]]
    rows = [
        [i + 1, code(m["description"]), fmt(m["rmi"]), *(fmt_cost(c["value"]) for c in m["costs"]), fmt(m["feasible"])]
        for i, m in enumerate(front)
    ]
    header = ["#", "architecture", "RMI", *(f"{m} ({u})" for m, u in metrics), "feasible"]
    ref = ", ".join(fmt_cost(v) for v in run.results.get("hv_reference") or [])
    return [
        f"## Pareto front ({len(front)} architectures)", "",
        f"Hypervolume {fmt(run.results.get('hypervolume'))} (reference point RMI, costs: {ref}). "
        f"Pick one under a budget: `python -m lightning_nas.pick {run.path} --budget VALUE`.", "",
    ] + _table(header, rows) + [""]  # fmt: skip


def plot_lines(names: dict[str, str]) -> list[str]:
    return ["## Plots", ""] + [f"![{k}]({v})" for k, v in names.items()] + [""]


# ---- writers ------------------------------------------------------------------------------------
def write_plots(runs: list[FinishedRun], out_dir: Path, prefix: str = "") -> dict[str, str]:
    names = {k: prefix + v for k, v in PLOTS.items()}
    plot_generations(runs, out_dir / names["generations"])
    plot_rmi_vs_cost(runs, out_dir / names["rmi_vs_cost"])
    plot_op_distribution(runs, out_dir / names["op_distribution"])
    if len(runs) == 1 and runs[0].results.get("pareto_front"):
        names["pareto_front"] = prefix + "pareto_front.png"
        plot_pareto_front(runs[0], out_dir / names["pareto_front"])
    return names


def report_markdown(run: FinishedRun, assumptions: EnergyAssumptions, device: str | None, plots: dict[str, str]) -> str:
    lines = [f"# Search report: {run.name}", ""] + settings_lines(run) + winner_lines(run) + refine_lines(run)
    lines += ["## Compute cost", "", assumptions_line(assumptions), ""]
    lines += cost_lines("Search", search_cost(run, assumptions, device))
    ft_cost = finetune_cost(run, assumptions)
    if ft_cost is not None:
        lines += cost_lines("Fine-tuning", ft_cost)
    lines += finetune_lines(run) + export_lines(run) + (front_lines(run) or top10_lines(run)) + plot_lines(plots)
    return "\n".join(lines)


def assumptions_line(a: EnergyAssumptions) -> str:
    power = f"{a.power_w:g} W" if a.power_w is not None else "65 W per CPU / 300 W per GPU (defaults)"
    return (f"Energy = power x device-hours x PUE, CO2e = energy x carbon intensity; assumed power {power}, "
            f"PUE {a.pue:g}, carbon intensity {a.carbon_g_per_kwh:g} g CO2e/kWh. Estimates, not measurements.")


def write_report(run_dir: str | Path, assumptions: EnergyAssumptions | None = None, device: str | None = None) -> Path:
    """report.md and the plots of one finished run, in its directory; returns report.md's path."""
    assumptions = assumptions or EnergyAssumptions()
    assumptions.check()
    run = load_run(run_dir)
    plots = write_plots([run], run.path)
    path = run.path / REPORT
    path.write_text(report_markdown(run, assumptions, device, plots))
    return path


def comparison_markdown(runs: list[FinishedRun], assumptions: EnergyAssumptions, plots: dict[str, str]) -> str:
    rows = []
    for run in runs:
        b, cost = run.results["best"], search_cost(run, assumptions)
        top1 = fmt(run.finetune["test_top1"], 2) if run.finetune else "n/a"
        rows.append([run.name, code(b["description"]), fmt(b["rmi"]), f"{fmt_cost(b['cost'])} / {fmt_budget(run.results.get('budget'))} {run.results['cost_unit']}",
                     fmt(b["feasible"]), fmt(cost.wall_seconds, 1), fmt(cost.device_hours), fmt(cost.co2e_kg, 6), top1])
    header = ["run", "winner", "RMI", "cost / budget", "feasible", "wall (s)", "device-hours", "CO2e (kg)", "test top-1 (%)"]
    lines = [f"# Comparison of {len(runs)} runs", "", assumptions_line(assumptions), ""] + _table(header, rows) + [""]
    return "\n".join(lines + plot_lines(plots))


def write_comparison(run_dirs: list[str | Path], out_dir: Path, assumptions: EnergyAssumptions | None = None) -> Path:
    assumptions = assumptions or EnergyAssumptions()
    runs = [load_run(d) for d in run_dirs]
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = write_plots(runs, out_dir, prefix="compare_")
    path = out_dir / "compare.md"
    path.write_text(comparison_markdown(runs, assumptions, plots))
    return path
