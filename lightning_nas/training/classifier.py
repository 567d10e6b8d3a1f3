"""A plain image classifier LightningModule (cross-entropy, SGD with Nesterov momentum, cosine
schedule, torchmetrics top-1/top-5). Trains reference models and fine-tunes found architectures."""

from __future__ import annotations

import lightning as L
import torch
from torch import nn
from torch.nn import functional as F
from torchmetrics.classification import MulticlassAccuracy


class ClassifierModule(L.LightningModule):
    def __init__(
        self,
        model: nn.Module,
        num_classes: int,
        lr: float = 0.1,
        momentum: float = 0.9,
        weight_decay: float = 5e-4,
        nesterov: bool = True,
        max_epochs: int = 200,
    ) -> None:
        super().__init__()
        self.model = model
        self.save_hyperparameters(ignore=["model"])
        top_k = min(5, num_classes)
        self.metrics = nn.ModuleDict(
            {
                f"{split}_{name}": MulticlassAccuracy(num_classes, top_k=k, average="micro")
                for split in ("train", "val", "test")
                for name, k in (("acc", 1), ("acc_top5", top_k))
            }
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], split: str) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y)
        self.log(f"{split}_loss", loss, prog_bar=split != "train", on_epoch=True, on_step=False)
        self._log_accuracy(logits, y, split)
        return loss

    def _log_accuracy(self, logits: torch.Tensor, y: torch.Tensor, split: str) -> None:
        """Top-1 and top-5 accuracy of `split` (train, val, test), logged per epoch."""
        for name in ("acc", "acc_top5"):
            metric = self.metrics[f"{split}_{name}"]
            metric(logits, y)
            self.log(f"{split}_{name}", metric, prog_bar=name == "acc", on_epoch=True, on_step=False)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], _idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], _idx: int) -> None:
        self._step(batch, "test")

    def configure_optimizers(self):  # noqa: ANN201
        hp = self.hparams
        opt = torch.optim.SGD(
            self.parameters(), lr=hp.lr, momentum=hp.momentum, weight_decay=hp.weight_decay, nesterov=hp.nesterov
        )
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, hp.max_epochs), eta_min=0.0)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}
