"""`python -m lightning_nas.refine --run_dir RUN [--refine.* ...]`: the refine stage over a finished search
(see `lightning_nas.refine`): its short list trained briefly (or looked up in `--refine.table`) and ranked on
validation; writes RUN/refine.csv and results.json's `refined`, which fine-tuning then uses. Rerunning it
trains only what refine.csv lacks. Only refine.*, finetune.*, threads and where the data lies may differ
from the search's recorded config."""

from __future__ import annotations

import argparse
import json
import sys

from lightning_nas.cli import prog as cli_prog
from lightning_nas.config import apply_threads, parse_config
from lightning_nas.errors import ConfigError, cli_entry

DESCRIPTION = __doc__
MAY_DIFFER = ("refine", "finetune", "threads", "data.root", "data.download", "data.num_workers", "reference.cache_dir", "cache")


def _check_keys(argv: list[str]) -> None:
    from lightning_nas.search.resume import given_keys

    bad = [k for k in given_keys(argv) if k not in ("run_dir", "help", "print_config") and not any(k == m or k.startswith(m + ".") for m in MAY_DIFFER)]
    if bad:
        raise ConfigError(f"--{bad[0]} cannot differ from the search it refines; only {', '.join(MAY_DIFFER)} may be given")


@cli_entry
def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    peek = argparse.ArgumentParser(add_help=False)
    peek.add_argument("--run_dir", default=None)
    known, _ = peek.parse_known_args(argv)
    if known.run_dir is None and not any(a in ("-h", "--help") for a in argv):
        raise ConfigError("give --run_dir RUN_DIR (a finished search)")
    from lightning_nas.reporting.run_reader import check_run_dir, read_rows

    _check_keys(argv)
    if known.run_dir is None:  # --help
        parse_config(argv, prog=cli_prog("refine"), description=DESCRIPTION)
        return 0
    run_dir = check_run_dir(known.run_dir)
    cfg, _ = parse_config(["--config", str(run_dir / "config.yaml"), *argv], prog=cli_prog("refine"), description=DESCRIPTION,
                          default_config=None)  # fmt: skip (--run_dir: the run's own key)
    apply_threads(cfg)
    from lightning_nas.pipeline import build_problem
    from lightning_nas.refine.stage import run_refine

    problem = build_problem(cfg, check_budgets=False)
    results = json.loads((run_dir / "results.json").read_text())
    run_refine(problem, run_dir, read_rows(run_dir), results)
    print(f"results in {run_dir / 'results.json'} (refined) and {run_dir / 'refine.csv'}")
    return 0


if __name__ == "__main__":
    from lightning_nas.interrupt import run_command

    run_command(main)
