"""The fine-tuning LightningModule: `ClassifierModule` (cross-entropy, Nesterov SGD, cosine schedule,
top-1/top-5) with the RMI term of HW-EvRSNAS optionally kept in the loss:

    loss = beta * sum_i (1 - CKA_i) + (1 - beta) * cross_entropy

where CKA_i compares the network's i-th tap with the reference's on the same training batch. With
beta = 0 (the default) it is plain cross-entropy and no reference model is needed."""

from __future__ import annotations

import torch
from torch import nn

from lightning_nas.rmi.cka import per_layer_cka
from lightning_nas.rmi.loss import rmi_loss
from lightning_nas.rmi.taps import FeatureTaps, ReferenceTaps
from lightning_nas.training.classifier import ClassifierModule


class FinetuneModule(ClassifierModule):
    def __init__(
        self,
        model: nn.Module,
        num_classes: int,
        tap_names: list[str] | None = None,
        beta: float = 0.0,
        **kwargs: float | int | bool,
    ) -> None:
        super().__init__(model, num_classes, **kwargs)  # type: ignore[arg-type]
        self.beta = beta
        self.tap_names = list(tap_names or [])
        self.reference: ReferenceTaps | None = None
        self._taps = FeatureTaps(model, self.tap_names) if beta > 0 else None

    def attach_reference(self, reference: ReferenceTaps) -> None:
        if len(reference.taps.names) != len(self.tap_names):
            raise ValueError(f"{len(reference.taps.names)} reference taps vs {len(self.tap_names)} network taps")
        self.reference = reference

    def on_fit_start(self) -> None:
        if self.beta > 0 and self.reference is None:
            raise RuntimeError("finetune.beta > 0 needs the reference model: call attach_reference first")

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], idx: int) -> torch.Tensor:
        if self.beta == 0:
            return super().training_step(batch, idx)
        x, y = batch
        assert self._taps is not None and self.reference is not None
        logits, feats = self._taps(x)
        ref = self.reference.features(x)
        cka = per_layer_cka(ref, feats)
        loss, parts = rmi_loss(cka, logits, y, self.beta)
        self.log_dict({f"train_{name}": value for name, value in parts.items()}, on_epoch=True, on_step=False)
        self._log_accuracy(logits, y, "train")
        return loss
