"""Capture the outputs of named layers during a forward pass (forward hooks, no model surgery)."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn

from lightning_nas.errors import ConfigError


def set_bn_mode(model: nn.Module, mode: str) -> nn.Module:
    if mode not in ("train", "eval"):
        raise ConfigError(f"unknown BN mode {mode!r}; valid: train, eval")
    model.train(mode == "train")
    return model


class FeatureTaps:
    """`logits, feats = taps(x)`: the model's output and the outputs of `names`, in that order."""

    def __init__(self, model: nn.Module, names: Sequence[str]) -> None:
        modules = dict(model.named_modules())
        missing = [n for n in names if n not in modules]
        if missing:
            sample = ", ".join(n for n in list(modules)[1:40] if n.count(".") <= 1)
            raise ConfigError(f"layer(s) {', '.join(missing)} not found in {type(model).__name__}; layers include: {sample}")
        self.model = model
        self.names = list(names)
        self._out: dict[str, torch.Tensor] = {}
        for name in self.names:
            modules[name].register_forward_hook(self._hook(name))

    def _hook(self, name: str):  # noqa: ANN202
        def hook(_module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
            self._out[name] = output

        return hook

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        self._out.clear()
        logits = self.model(x)
        feats = [self._out[n] for n in self.names]
        self._out.clear()
        return logits, feats


class ReferenceTaps:
    """The frozen reference and its taps. Deliberately not an `nn.Module` attribute of the LightningModule,
    so the reference is neither optimised nor saved in the fine-tuning checkpoints."""

    def __init__(self, reference: nn.Module, taps: list[str], bn_mode: str = "train") -> None:
        self.model = set_bn_mode(copy.deepcopy(reference), bn_mode)
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.taps = FeatureTaps(self.model, taps)

    @torch.no_grad()
    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        if next(self.model.parameters()).device != x.device:
            self.model.to(x.device)
        _, feats = self.taps(x)
        return feats
