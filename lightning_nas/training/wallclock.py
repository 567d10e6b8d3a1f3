"""A Lightning callback that measures training wall time across resumes: the seconds spent so far are
part of the checkpoint (callback state), so a resumed fine-tune reports its total time, and it records
the epoch a resumed fit started from."""

from __future__ import annotations

import time
from typing import Any

import lightning as L
from lightning.pytorch import Callback


class WallClock(Callback):
    def __init__(self) -> None:
        self.previous = 0.0  # seconds from earlier (interrupted) fits, restored from the checkpoint
        self.started: float | None = None
        self.start_epoch: int | None = None

    @property
    def state_key(self) -> str:
        return "WallClock"

    def seconds(self) -> float:
        running = 0.0 if self.started is None else time.perf_counter() - self.started
        return self.previous + running

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.started = time.perf_counter()

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.start_epoch = trainer.current_epoch

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.previous = self.seconds()
        self.started = None

    def state_dict(self) -> dict[str, Any]:
        return {"seconds": self.seconds()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.previous = float(state_dict.get("seconds", 0.0))
