"""The candidate LightningModule: a freshly initialised network trained on ONE fixed batch with

    loss = beta * sum_i (1 - CKA_i) + (1 - beta) * cross_entropy          (HW-EvRSNAS Eq. 3, `rmi_loss`)

The network, its tap names, the probe batch's reference features and the optimiser settings are
injected; the module knows nothing about search spaces or genotypes. It logs nothing itself (its
Trainer has no logger): the last step's losses come back in `last_losses` (`ProxyResult.losses`) and
the search's callbacks log per-candidate values."""

from __future__ import annotations

import lightning as L
import torch
from torch import nn

from lightning_nas.rmi.cka import per_layer_cka
from lightning_nas.rmi.loss import rmi_loss
from lightning_nas.rmi.taps import FeatureTaps


class CandidateModule(L.LightningModule):
    def __init__(
        self,
        network: nn.Module,
        tap_names: list[str],
        reference_features: list[torch.Tensor],
        beta: float = 0.8,
        lr: float = 0.1,
        momentum: float = 0.9,
        weight_decay: float = 5e-4,
    ) -> None:
        super().__init__()
        self.network = network
        self.taps = FeatureTaps(network, tap_names)
        self.reference_features = reference_features
        self.beta, self.lr, self.momentum, self.weight_decay = beta, lr, momentum, weight_decay
        self.last_losses: dict[str, float] = {}

    def cka_per_layer(self, x: torch.Tensor, reference: list[torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and per-layer CKA against `reference` (the reference's features on `x`; default: on the probe batch)."""
        if reference is not None:  # a held-out batch's features, used once when scoring
            reference = [r.to(x.device) for r in reference]
        else:
            if self.reference_features[0].device != x.device:  # once, when the Trainer runs on an accelerator
                self.reference_features = [r.to(x.device) for r in self.reference_features]
            reference = self.reference_features
        logits, feats = self.taps(x)
        cka = per_layer_cka(reference, feats)
        return logits, cka

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _idx: int) -> torch.Tensor:
        x, y = batch
        logits, cka = self.cka_per_layer(x)
        loss, parts = rmi_loss(cka, logits, y, self.beta)
        self.last_losses = {name: float(value) for name, value in parts.items()}
        return loss

    @torch.no_grad()
    def score(self, x: torch.Tensor, bn_mode: str = "train", reference: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Per-layer CKA of the (trained) network on `x` (the probe batch, or a held-out batch with the
        reference's features on it as `reference`); RMI = its sum."""
        was_training = self.network.training
        self.network.train(bn_mode == "train")
        _, cka = self.cka_per_layer(x, reference)
        self.network.train(was_training)
        return cka

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(
            self.parameters(), lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay
        )
