"""A training-free baseline proxy: synflow (Tanaka et al. 2020, used as a NAS proxy by Abdelfattah et
al. 2021), written here from its definition. With every weight replaced by its absolute value, BN in
eval mode and an all-ones input, the score is sum over parameters of |theta * dR/dtheta| where R is the
sum of the network's outputs. Computed in float64 on the full-size network with a seeded init."""

from __future__ import annotations

import math

import torch
from torch import nn


@torch.no_grad()
def _abs_weights(net: nn.Module) -> None:
    for p in net.parameters():
        p.abs_()


def synflow(net: nn.Module, input_shape: tuple[int, ...]) -> float:
    """log(synflow) of `net` (log keeps the ranking and avoids overflow); -inf when it is 0."""
    net = net.double().eval()
    _abs_weights(net)
    net.zero_grad(set_to_none=True)
    x = torch.ones((1, *input_shape), dtype=torch.float64)
    net(x).sum().backward()
    total = sum(float((p.detach() * p.grad).abs().sum()) for p in net.parameters() if p.grad is not None)
    return math.log(total) if total > 0 else -math.inf


def synflow_of(space: object, genotype: object, input_shape: tuple[int, ...], seed: int) -> float:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = space.to_module(genotype, proxy=False)  # type: ignore[attr-defined]
    return synflow(net, input_shape)
