"""The RMI performance estimator: train a candidate on the probe batch for `steps` steps with a
Lightning Trainer (no logger, checkpointing, progress bar or summary; the batch served from memory),
then score it: RMI = sum of CKA between its taps and the reference's on that batch."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

import torch
from torch.utils.data import DataLoader, Dataset

from lightning_nas.config import ProxyConfig
from lightning_nas.quiet import quiet_lightning, silent_trainer
from lightning_nas.rmi.candidate import CandidateModule
from lightning_nas.rmi.probe import ProbeBatch
from lightning_nas.spaces.base import Genotype, SearchSpace


@dataclass
class ProxyResult:
    rmi: float
    cka: list[float]
    losses: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


class _RepeatedBatch(Dataset):
    """Serves the same in-memory (x, y) `steps` times: no collation, no reloading."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, steps: int) -> None:
        self.x, self.y, self.steps = x, y, steps

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, _i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x, self.y


def candidate_seed(seed: int, key: str) -> int:
    """Initialisation seed of a candidate: a function of the run seed and the genotype's key only, so a
    score does not depend on when (or in which run) the candidate is evaluated."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{key}".encode()).digest()[:4], "little")


class RMIEvaluator:
    def __init__(
        self,
        space: SearchSpace,
        probe: ProbeBatch,
        reference_features: list[torch.Tensor],
        cfg: ProxyConfig,
        seed: int,
    ) -> None:
        self.space, self.probe, self.reference_features, self.cfg, self.seed = space, probe, reference_features, cfg, seed

    def build(self, genotype: Genotype) -> CandidateModule:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(candidate_seed(self.seed, self.space.key(genotype)))
            network = self.space.to_module(genotype, proxy=True)
        c = self.cfg
        return CandidateModule(
            network,
            self.space.tap_names(genotype),
            self.reference_features,
            c.beta,
            c.lr,
            c.momentum,
            c.weight_decay,
            c.log_every_n_steps,
        )

    def evaluate(self, genotype: Genotype) -> ProxyResult:
        start = time.perf_counter()
        module = self.build(genotype)
        if self.cfg.steps > 0:
            loader = DataLoader(_RepeatedBatch(self.probe.x, self.probe.y, self.cfg.steps), batch_size=None)
            with quiet_lightning():
                trainer = silent_trainer(max_steps=self.cfg.steps, accelerator=self.cfg.accelerator)
                trainer.fit(module, train_dataloaders=loader)
        cka = module.cpu().score(self.probe.x, self.cfg.score_bn_mode)
        return ProxyResult(
            rmi=float(cka.sum()),
            cka=[float(c) for c in cka],
            losses=dict(module.last_losses),
            seconds=time.perf_counter() - start,
        )
