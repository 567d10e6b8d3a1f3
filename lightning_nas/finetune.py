"""`python -m lightning_nas.finetune --run_dir RUN_DIR [overrides]`: train the winner of a search from
scratch and evaluate it.

Builds the full-size network of the run's best genotype (or `--arch ARCH`, an NB201 arch string or a
genotype JSON) and trains it with a Lightning Trainer on the run's dataset (`--data.*` overrides it):
NAS-Bench-201's recipe by default (SGD Nesterov momentum 0.9, lr 0.1 cosine to 0, weight decay 5e-4,
batch 256, 200 epochs); `--finetune.preset quick` for a CPU; every setting a `--finetune.*` key.
ModelCheckpoint (best and last) under RUN_DIR/finetune/checkpoints, LearningRateMonitor, TensorBoard
under tb_logs/<run>/finetune, resumable from last.ckpt. Writes RUN_DIR/finetune.json (test top-1/top-5,
best validation accuracy, epochs, wall time, params, FLOPs, costs under the search's cost models, the
checkpoint, and for NB201 the benchmark's 200-epoch accuracy when `finetune.nb201_table` is given) and
the exports (RUN_DIR/export, see `python -m lightning_nas.export`)."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from lightning_nas.cli import prog as cli_prog
from lightning_nas.config import QUICKSTART, RunConfig, apply_threads, parse_config
from lightning_nas.errors import ConfigError, cli_entry
from lightning_nas.reporting.run_reader import check_run_dir
from lightning_nas.run_dir import new_run_dir

DESCRIPTION = __doc__


def _add_arch(parser: Any) -> None:
    parser.add_argument(
        "--arch",
        type=str | None,
        default=None,
        help="fine-tune this architecture (arch string or genotype JSON)",
    )
    parser.add_argument(
        "--budget",
        action="append",
        type=str,
        default=None,
        help="with an NSGA-II run: fine-tune the highest-RMI member of its front under this budget "
        "([METRIC=]VALUE, repeatable; see python -m lightning_nas.pick)",
    )


def _peek(argv: list[str]) -> argparse.Namespace:
    peek = argparse.ArgumentParser(add_help=False)
    peek.add_argument("--run_dir", default=None)
    peek.add_argument("--arch", default=None)
    peek.add_argument("--budget", action="append", default=None)
    known, _ = peek.parse_known_args(argv)
    return known


def _resolve(argv: list[str] | None) -> tuple[RunConfig, Path, str | None, str]:
    """(config, run directory, arch, where the arch comes from) from the command line; the run's
    config.yaml is the base config. With `--budget`, arch is the genotype JSON of the front member
    `lightning_nas.pick` chooses."""
    argv = list(sys.argv[1:] if argv is None else argv)
    peek = _peek(argv)
    prog = cli_prog("finetune")
    if peek.budget is not None and (peek.run_dir is None or peek.arch is not None):
        raise ConfigError("--budget picks from the front of --run_dir RUN_DIR (an nsga2 search); give --run_dir, not --arch")
    if peek.run_dir is None:
        if peek.arch is None and not any(a in ("-h", "--help") for a in argv):
            raise ConfigError(
                "give --run_dir RUN_DIR (a finished search) or --arch ARCH (an architecture to train)"
            )
        cfg, ns = parse_config(
            argv, prog=prog, description=DESCRIPTION, extra=_add_arch, default_config=QUICKSTART
        )
        return (
            cfg,
            Path(cfg.finetune.out_dir or new_run_dir(cfg.runs_root, f"{cfg.name}-finetune")),
            ns["arch"],
            "--arch",
        )
    run_dir = Path(peek.run_dir).expanduser()
    if peek.arch is None:
        check_run_dir(run_dir)
    elif not (run_dir / "config.yaml").exists():
        raise ConfigError(f"not a run directory (no config.yaml): {run_dir}")
    cfg, ns = parse_config(
        ["--config", str(run_dir / "config.yaml"), *argv],
        prog=prog,
        description=DESCRIPTION,
        extra=_add_arch,
        default_config=None,
    )
    if ns["budget"]:
        from lightning_nas.reporting.run_reader import pick_from_run

        member = pick_from_run(run_dir, ns["budget"])
        return cfg, run_dir, json.dumps(member["genotype"]), f"pareto_front under --budget {' '.join(ns['budget'])}"
    return cfg, run_dir, ns["arch"], "--arch"


@cli_entry
def main(argv: list[str] | None = None) -> int:
    cfg, run_dir, arch, source = _resolve(argv)
    apply_threads(cfg)
    from lightning_nas.training.finetune import FINETUNE_JSON, finetune_run_dir, summary_line

    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        record = finetune_run_dir(run_dir, cfg, arch, source)
    except ConfigError:
        if created:  # bad input found before training: leave nothing behind
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    print(summary_line(record))
    print(f"results in {run_dir / FINETUNE_JSON}")
    return 0


if __name__ == "__main__":
    from lightning_nas.interrupt import run_command

    run_command(main)
