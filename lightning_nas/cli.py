"""`lightning-nas COMMAND [options]`: the one console entry point (installed by pip with the package;
`python -m lightning_nas COMMAND` is the same). Each command is exactly its `python -m lightning_nas.X`
module: the dispatcher only picks the module and hands it the rest of the command line, so options,
errors and exit codes are the module's own. Nothing heavy is imported before a command is chosen:
`lightning-nas --help` and `--version` answer at once."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from typing import NoReturn

from lightning_nas import __version__
from lightning_nas.errors import EXIT_INTERRUPTED, EXIT_USAGE

ENTRY = "lightning-nas"


@dataclass(frozen=True)
class Command:
    module: str  # what `python -m` runs
    cli: str  # the module whose `main(argv)` implements it
    summary: str


COMMANDS: dict[str, Command] = {
    "search": Command("lightning_nas.search", "lightning_nas.search.cli", "run or resume a search (no options: the quick start)"),
    "score": Command("lightning_nas.score", "lightning_nas.score", "score one architecture with the RMI proxy"),
    "refine": Command("lightning_nas.refine", "lightning_nas.refine.cli", "train a finished search's short list briefly and pick the most accurate"),
    "finetune": Command("lightning_nas.finetune", "lightning_nas.finetune", "train a search's winner (or any architecture) from scratch and evaluate it"),
    "report": Command("lightning_nas.report", "lightning_nas.report", "write report.md and plots for finished runs"),
    "precompute": Command("lightning_nas.precompute", "lightning_nas.precompute", "score many architectures into the persistent cache"),
    "export": Command("lightning_nas.export", "lightning_nas.export.cli", "export a fine-tuned winner to ONNX, TorchScript and a state dict"),
    "pick": Command("lightning_nas.pick", "lightning_nas.pick", "pick an NSGA-II front member under a budget"),
    "latency": Command("lightning_nas.latency", "lightning_nas.latency.cli", "build, validate and calibrate latency tables of this machine"),
}  # fmt: skip

_invoked_as: str | None = None  # set while a command runs through this entry point


def prog(command: str) -> str:
    """The program name a command's help and errors show: `lightning-nas search` when run through the
    console entry, else `python -m lightning_nas.search`."""
    return f"{ENTRY} {command}" if _invoked_as == command else f"python -m {COMMANDS[command].module}"


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [
        f"usage: {ENTRY} [-h] [--version] COMMAND [options]",
        "",
        "Hardware-aware neural architecture search by representation similarity (HW-EvRSNAS).",
        "",
        "commands:",
        *(f"  {name:<{width}}  {c.summary}" for name, c in COMMANDS.items()),
        "",
        f"`{ENTRY} COMMAND --help` lists a command's options; each command is also `python -m lightning_nas.COMMAND`.",
        "options:",
        "  -h, --help  show this message and exit",
        "  --version   show the version and exit",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    global _invoked_as
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        print(usage(), file=sys.stderr)
        print(f"error: give a command; valid: {', '.join(COMMANDS)}", file=sys.stderr)
        return EXIT_USAGE
    first, rest = argv[0], argv[1:]
    if first in ("-h", "--help"):
        print(usage())
        return 0
    if first in ("-V", "--version"):
        print(f"{ENTRY} {__version__}")
        return 0
    if first not in COMMANDS:
        print(f"error: unknown command {first!r}; valid: {', '.join(COMMANDS)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        command = importlib.import_module(COMMANDS[first].cli)
    except KeyboardInterrupt:  # Ctrl-C while the command's module is still loading
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    _invoked_as = first
    try:
        return int(command.main(rest) or 0)
    finally:
        _invoked_as = None


def entry() -> NoReturn:
    """The console script `lightning-nas` (Ctrl-C handled as in `lightning_nas.interrupt.run_command`)."""
    from lightning_nas.interrupt import run_command

    run_command(main)
