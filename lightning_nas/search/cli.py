"""`python -m lightning_nas.search`: run (or resume) a search from the config and command line.

Without arguments it runs the embedded quick start (configs/quickstart.yaml: digits, a reduced NB201
proxy network, a FLOPs budget). Parsing needs no torch: `--help` and bad options answer at once."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from lightning_nas.cli import prog as cli_prog
from lightning_nas.config import RunConfig, apply_threads, parse_config
from lightning_nas.errors import ConfigError, cli_entry
from lightning_nas.search.resume import config_of_run, given_keys, with_overrides

DESCRIPTION = __doc__


def _resolve(argv: list[str] | None) -> RunConfig:
    """The run's config: from the command line, or, with --resume, the recorded one with the keys given
    on the command line applied (the search refuses those that would change its results)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    cfg, _ = parse_config(argv, prog=cli_prog("search"), description=DESCRIPTION)
    if not cfg.resume:
        return cfg
    run_dir = Path(cfg.resume)
    keys = [k for k in given_keys(argv) if k != "resume"]
    if "config" in keys:
        raise ConfigError("--config cannot be combined with --resume: a run continues with its recorded config; give changes as --key value")
    resumed = with_overrides(config_of_run(run_dir), cfg, keys)
    return replace(resumed, resume=str(run_dir), run_dir=None)


@cli_entry
def main(argv: list[str] | None = None) -> int:
    run_dir: Path | None = None  # the run a Ctrl-C leaves behind, once it is known
    try:
        cfg = _resolve(argv)
        run_dir = Path(cfg.resume) if cfg.resume else None
        apply_threads(cfg)
        from lightning_nas.callbacks.defaults import default_callbacks
        from lightning_nas.search.engine import Search

        search = Search(cfg, default_callbacks(cfg))
        run_dir = search.run_dir
        search.run()
    except KeyboardInterrupt:
        print(_interrupted_message(run_dir), file=sys.stderr)
        return 130
    return 0


def _interrupted_message(run_dir: Path | None) -> str:
    if run_dir is not None and (run_dir / "config.yaml").exists():
        return f"interrupted; continue with: python -m lightning_nas.search --resume {run_dir}"
    return "interrupted before the run directory was written; nothing to resume"
