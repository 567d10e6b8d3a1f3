"""`python -m lightning_nas.report RUN_DIR [RUN_DIR ...]`: report.md and PNG plots for finished runs.

For each run, in its directory: `report.md` (settings, winner, search cost with device-hours, energy and
CO2e estimates, fine-tuning and export results when present, top 10) and `generations.png` (fitness /
RMI / cost per generation, best and mean), `rmi_vs_cost.png` (every evaluated candidate, the budget, the
winner; cost is the main constraint's metric), `op_distribution.png` (operations of the final population
and the top 10). For several runs
also `compare.md` and the same plots overlaid (`compare_*.png`) in `--out` (default: `comparison/` next
to the first run). Energy = power x device-hours x PUE; CO2e = energy x carbon intensity; defaults: 65 W
per CPU, 300 W per GPU, PUE 1.0, 475 g CO2e/kWh (see lightning_nas.search_cost)."""

from __future__ import annotations

import argparse
from pathlib import Path

from lightning_nas.cli import prog as cli_prog
from lightning_nas.errors import ConfigError, cli_entry
from lightning_nas.reporting.args import OneLineArgumentParser

DESCRIPTION = __doc__


def _parser() -> argparse.ArgumentParser:
    p = OneLineArgumentParser(
        prog=cli_prog("report"),
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_dirs", nargs="+", help="finished run directories")
    p.add_argument(
        "--out",
        default=None,
        help="where the comparison of several runs goes (default: comparison/ next to the first run)",
    )
    p.add_argument(
        "--power_w", type=float, default=None, help="power draw in W (default 65 per CPU, 300 per GPU)"
    )
    p.add_argument(
        "--carbon_g_per_kwh", type=float, default=475.0, help="carbon intensity, g CO2e/kWh (default 475)"
    )
    p.add_argument(
        "--pue", type=float, default=1.0, help="datacentre power usage effectiveness (default 1.0)"
    )
    return p


@cli_entry
def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from lightning_nas.reporting.report import write_comparison, write_report
    from lightning_nas.reporting.search_cost import EnergyAssumptions

    assumptions = EnergyAssumptions(args.power_w, args.carbon_g_per_kwh, args.pue)
    assumptions.check()
    out = Path(args.out) if args.out else Path(args.run_dirs[0]).expanduser().parent / "comparison"
    if len(args.run_dirs) > 1 and out.resolve() in {Path(d).expanduser().resolve() for d in args.run_dirs}:
        raise ConfigError(f"--out {out} is one of the run directories; choose another folder")
    for d in args.run_dirs:
        print(f"wrote {write_report(d, assumptions)}")
    if len(args.run_dirs) > 1:
        print(f"wrote {write_comparison(args.run_dirs, out, assumptions)}")
    return 0


if __name__ == "__main__":
    from lightning_nas.interrupt import run_command

    run_command(main)
