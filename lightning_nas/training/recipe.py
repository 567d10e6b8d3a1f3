"""The fine-tuning recipe: the `finetune` config with its preset applied and every value checked.

Presets fill the keys the user left at None: `nb201` is NAS-Bench-201's training recipe (200 epochs,
batch 256, every batch), `quick` a CPU preset (3 epochs, batch 128, a quarter of the training batches
and a fifth of the validation batches per epoch)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from lightning_nas.config import FinetuneConfig
from lightning_nas.errors import ConfigError, check_choice

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
    check_choice("finetune.preset", cfg.preset, PRESETS)
    check_choice("finetune.test_checkpoint", cfg.test_checkpoint, TEST_CHECKPOINTS)
    filled = {k: v for k, v in PRESETS[cfg.preset].items() if getattr(cfg, k) is None}
    cfg = replace(cfg, **filled)
    _check_positive(cfg)
    return Recipe(cfg, run_seed if cfg.seed is None else cfg.seed)


def _check_positive(cfg: FinetuneConfig) -> None:
    for name in ("epochs", "batch_size"):
        if int(getattr(cfg, name)) < 1:
            raise ConfigError(f"finetune.{name} must be >= 1, got {getattr(cfg, name)}")
    for name in ("limit_train_batches", "limit_val_batches", "limit_test_batches"):
        value = getattr(cfg, name)
        if not value > 0 or (isinstance(value, float) and value > 1.0):
            raise ConfigError(f"finetune.{name} must be a fraction in (0, 1] or a batch count >= 1, got {value}")
    if not cfg.lr > 0:
        raise ConfigError(f"finetune.lr must be > 0, got {cfg.lr}")
    if not 0.0 <= cfg.beta <= 1.0:
        raise ConfigError(f"finetune.beta must be in [0, 1], got {cfg.beta}")
    if cfg.onnx_opset < 7:
        raise ConfigError(f"finetune.onnx_opset must be >= 7, got {cfg.onnx_opset}")
