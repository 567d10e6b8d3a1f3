"""`python -m lightning_nas.search`: run (or resume) a search from the config and command line.

Without arguments it runs the embedded quick start (configs/quickstart.yaml: digits, a reduced NB201
proxy network, a FLOPs budget). Parsing needs no torch: `--help` and bad options answer at once."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from lightning_nas.config import RunConfig, apply_threads, config_from_yaml, parse_config
from lightning_nas.errors import ConfigError, cli_entry

if TYPE_CHECKING:
    from lightning_nas.search.hooks import SearchHooks

DESCRIPTION = __doc__


def default_callbacks(cfg: RunConfig) -> list[SearchHooks]:
    from lightning_nas.callbacks.finetune import FinetuneWinner
    from lightning_nas.callbacks.progress import ConsoleProgress
    from lightning_nas.callbacks.report import SearchReport
    from lightning_nas.callbacks.tensorboard import TensorBoardSearchLogger

    cbs: list[SearchHooks] = [ConsoleProgress(), TensorBoardSearchLogger()]
    if cfg.finetune.enabled:
        cbs.append(FinetuneWinner())
    cbs.append(SearchReport())  # last: the report includes the fine-tuning results
    return cbs


def resolve(argv: list[str] | None) -> RunConfig:
    cfg, _ = parse_config(argv, prog="python -m lightning_nas.search", description=DESCRIPTION)
    if cfg.resume:
        run_dir = Path(cfg.resume)
        if not (run_dir / "config.yaml").exists():
            raise ConfigError(f"cannot resume: {run_dir} is not a run directory (no config.yaml)")
        resumed = config_from_yaml(run_dir / "config.yaml")
        resumed.resume = str(run_dir)
        resumed.tb_logs = cfg.tb_logs
        return resumed
    return cfg


@cli_entry
def main(argv: list[str] | None = None) -> int:
    cfg = resolve(argv)
    apply_threads(cfg)
    from lightning_nas.search.engine import Search

    search = Search(cfg, default_callbacks(cfg))
    try:
        search.run()
    except KeyboardInterrupt:
        print(
            f"interrupted; continue with: python -m lightning_nas.search --resume {search.run_dir}",
            file=sys.stderr,
        )
        return 130
    return 0
