"""The beta-weighted RMI + cross-entropy loss of HW-EvRSNAS (Eq. 3), written once for the proxy's
candidate and for fine-tuning with the RMI term:

    loss = beta * sum_i (1 - CKA_i) + (1 - beta) * cross_entropy

A term whose weight is zero is left out rather than multiplied by 0, so beta = 1 is exactly the CKA term
and beta = 0 exactly cross-entropy (a non-finite term of weight 0 cannot turn the loss into NaN)."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def rmi_loss(
    cka: torch.Tensor, logits: torch.Tensor, y: torch.Tensor, beta: float
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """(loss, {"loss", "ce", "cka_loss"}) for per-tap CKA values `cka` (shape (taps,)), the network's
    `logits` and labels `y`. The parts are the graph's own tensors: detach them before logging."""
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"beta must be in [0, 1], got {beta}")
    cka_loss = (1.0 - cka).sum()
    ce = F.cross_entropy(logits, y)
    if beta == 1.0:
        loss = cka_loss
    elif beta == 0.0:
        loss = ce
    else:
        loss = beta * cka_loss + (1.0 - beta) * ce
    return loss, {"loss": loss, "ce": ce, "cka_loss": cka_loss}
