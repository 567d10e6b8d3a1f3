"""The fine-tuning recipe: the `finetune` config with its preset applied and every value checked.

Presets fill the keys the user left at None: `nb201` is NAS-Bench-201's training recipe (200 epochs,
batch 256, every batch), `quick` a CPU preset (3 epochs, batch 128, a quarter of the training batches
and a fifth of the validation batches per epoch)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from lightning_nas.config import FinetuneConfig

PRESETS: dict[str, dict[str, Any]] = {
    "nb201": {"epochs": 200, "batch_size": 256, "limit_train_batches": 1.0, "limit_val_batches": 1.0},
    "quick": {"epochs": 3, "batch_size": 128, "limit_train_batches": 0.25, "limit_val_batches": 0.2},
}
TEST_CHECKPOINTS = ("last", "best")


@dataclass(frozen=True)
class Recipe:
    """A resolved `FinetuneConfig`: no None left except the optional paths and the seed."""

    cfg: FinetuneConfig
    seed: int

    @property
    def epochs(self) -> int:
        return int(self.cfg.epochs)  # type: ignore[arg-type]

    @property
    def batch_size(self) -> int:
        return int(self.cfg.batch_size)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self.cfg), "seed": self.seed}

    def fingerprint(self) -> dict[str, Any]:
        """What a resumable checkpoint must agree with (everything that changes the training)."""
        skip = {"enabled", "resume", "export", "onnx_opset", "nb201_table", "nb201_dataset", "nb201_field",
                "progress_bar", "out_dir", "test_checkpoint", "prefer_feasible", "num_workers", "limit_test_batches"}
        return {k: v for k, v in self.to_dict().items() if k not in skip}


def resolve_recipe(cfg: FinetuneConfig, run_seed: int) -> Recipe:
    """The recipe `cfg` names: its preset's values filled in where `cfg` leaves them null (the values are
    checked once, with the rest of the run config: `lightning_nas.settings.check_finetune`)."""
    filled = {k: v for k, v in PRESETS[cfg.preset].items() if getattr(cfg, k) is None}
    return Recipe(replace(cfg, **filled), run_seed if cfg.seed is None else cfg.seed)
