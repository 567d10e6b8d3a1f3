"""The callbacks a search run from the command line gets: progress bar, console lines, TensorBoard, the
refine stage (when `refine.enabled`), the fine-tuning of the winner (when `finetune.enabled`) and the report."""

from __future__ import annotations

from lightning_nas.callbacks.base import SearchCallback

from lightning_nas.config import RunConfig


def default_callbacks(cfg: RunConfig) -> list[SearchCallback]:
    from lightning_nas.callbacks.finetune import FinetuneWinner
    from lightning_nas.callbacks.progress import ConsoleProgress
    from lightning_nas.callbacks.progress_bar import GenerationProgressBar
    from lightning_nas.callbacks.report import SearchReport
    from lightning_nas.callbacks.tensorboard import TensorBoardSearchLogger

    # the bar (stderr, when a terminal) first: it is cleared before the generation's line is printed
    cbs: list[SearchCallback] = [GenerationProgressBar(), ConsoleProgress(), TensorBoardSearchLogger()]
    if cfg.refine.enabled:  # before fine-tuning: it fine-tunes the refined winner
        from lightning_nas.callbacks.refine import RefineStage

        cbs.append(RefineStage())
    if cfg.finetune.enabled:
        cbs.append(FinetuneWinner())
    cbs.append(SearchReport())  # last: the report includes the fine-tuning results
    return cbs
