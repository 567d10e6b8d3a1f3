"""`python -m lightning_nas.pick RUN_DIR --budget 5.3`: the highest-RMI architecture of an NSGA-II run's
front (search.algorithm nsga2) under a budget chosen after the search.

`--budget VALUE` when the front has one cost objective, else `--budget METRIC=VALUE`, repeatable (one per
metric, e.g. `--budget edgegpu_latency=5.3 --budget edgegpu_energy=20`): every budget given must hold.
Prints the chosen front member as JSON, the same entry results.json holds for a search's answer (its
`genotype` is what `--arch` of the fine-tune CLI takes); `--out FILE` also writes it there. The
fine-tune CLI picks the same way: `python -m lightning_nas.finetune --run_dir RUN_DIR --budget 5.3`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from lightning_nas.cli import prog as cli_prog
from lightning_nas.errors import cli_entry
from lightning_nas.reporting.args import OneLineArgumentParser
from lightning_nas.reporting.format import fmt, fmt_cost
from lightning_nas.reporting.run_reader import pick_from_run
from lightning_nas.run_dir import write_json

DESCRIPTION = __doc__


def _parser() -> argparse.ArgumentParser:
    p = OneLineArgumentParser(
        prog=cli_prog("pick"), description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("run_dir", help="a finished search run with search.algorithm nsga2")
    p.add_argument(
        "--budget", action="append", default=[], required=True, metavar="[METRIC=]VALUE",
        help="a hard budget in the metric's unit (repeat for several metrics)",
    )  # fmt: skip
    p.add_argument("--out", default=None, help="also write the chosen entry to this JSON file")
    return p


def _describe(member: dict[str, Any]) -> str:
    costs = ", ".join(f"{c['metric']} {fmt_cost(c['value'], '.4g')} {c['unit']}" for c in member["costs"])
    return f"{member['description']}: RMI {fmt(member['rmi'])}, {costs}"


@cli_entry
def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    member = pick_from_run(args.run_dir, args.budget)
    print(f"picked {_describe(member)}", file=sys.stderr)
    print(json.dumps(member, indent=2))
    if args.out:
        write_json(Path(args.out), member)
    return 0


if __name__ == "__main__":
    from lightning_nas.interrupt import run_command

    run_command(main)
