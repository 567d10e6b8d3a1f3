"""The RMI performance estimator: train a candidate on the probe batch for `steps` steps with a
Lightning Trainer (no logger, checkpointing, progress bar or summary; the batch served from memory),
then score it: RMI = sum of CKA between its taps and the reference's on that batch (or, with
`proxy.score_on: heldout`, on a second, held-out batch). With `proxy.score_steps` the same training is
also scored after each of those steps (`ProxyResult.rmi_at`): the score a shorter run would give, at
the cost of one extra forward pass each."""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from lightning_nas.config import ProxyConfig
from lightning_nas.interrupt import fit
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
    rmi_at: dict[int, float] = field(default_factory=dict)  # step -> RMI after that step (proxy.score_steps)


class _ScoreAt(L.Callback):
    """Scores the candidate after each of `steps` optimiser steps, leaving its state as it was: BN's running
    statistics are put back, and no RNG is drawn, so the rest of the training is the same as without it."""

    def __init__(self, steps: list[int], score: Callable[[CandidateModule], torch.Tensor]) -> None:
        self.steps, self.score = set(steps), score
        self.rmi_at: dict[int, float] = {}

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, *_args: object) -> None:
        step = trainer.global_step
        if step in self.steps and step not in self.rmi_at:
            buffers = {name: b.clone() for name, b in module.named_buffers()}
            self.rmi_at[step] = float(self.score(module).sum())  # type: ignore[arg-type]
            with torch.no_grad():
                for name, b in module.named_buffers():
                    b.copy_(buffers[name])


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
    """Scores genotypes. `threads`: torch's CPU thread count while a candidate trains and is scored
    (default: the process's count when the evaluator is built); it is part of the score key (see
    `lightning_nas.rmi.cache`), so the evaluator sets exactly that count for each candidate.
    `heldout`, `heldout_features`: the held-out batch and the reference's features on it, given exactly
    when `cfg.score_on` is `heldout`."""

    heldout: ProbeBatch | None = None  # class defaults: an evaluator pickled by an older version has neither
    heldout_features: list[torch.Tensor] | None = None

    def __init__(
        self,
        space: SearchSpace,
        probe: ProbeBatch,
        reference_features: list[torch.Tensor],
        cfg: ProxyConfig,
        seed: int,
        threads: int | None = None,
        device_index: int | None = None,
        heldout: ProbeBatch | None = None,
        heldout_features: list[torch.Tensor] | None = None,
    ) -> None:
        if (cfg.score_on == "heldout") != (heldout is not None and heldout_features is not None):
            raise ValueError(f"proxy.score_on {cfg.score_on!r} needs a held-out batch and its features exactly when 'heldout'")
        self.space, self.probe, self.reference_features = space, probe, reference_features
        self.heldout, self.heldout_features = heldout, heldout_features
        self.cfg, self.seed = cfg, seed
        self.threads = int(threads) if threads is not None else torch.get_num_threads()
        if self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")
        self.device_index = device_index  # the GPU a worker trains on (None: Lightning's first one)

    def build(self, genotype: Genotype) -> CandidateModule:
        """The untrained candidate. Draws from the global RNG: `evaluate` calls it inside a forked RNG."""
        c = self.cfg
        network = self.space.to_module(genotype, proxy=True)
        taps = self.space.tap_names(genotype)
        feats = self.reference_features
        return CandidateModule(network, taps, feats, c.beta, c.lr, c.momentum, c.weight_decay)

    def evaluate(self, genotype: Genotype) -> ProxyResult:
        """Build, train and score one candidate inside a forked RNG seeded by `candidate_seed` (so neither
        its initialisation nor a stochastic layer such as dropout depends on the global RNG state, and the
        global state is left untouched) and at `threads` CPU threads."""
        start = time.perf_counter()
        c = self.cfg
        seed = candidate_seed(self.seed, self.space.key(genotype))
        score_at = _ScoreAt(list(getattr(c, "score_steps", [])), self._score)  # getattr: a config pickled before the key
        with _rng_seeded(seed, c.accelerator), _threads(self.threads):
            module = self.build(genotype)
            if c.steps > 0:
                loader = DataLoader(_RepeatedBatch(self.probe.x, self.probe.y, c.steps), batch_size=None)
                with quiet_lightning():
                    devices = [self.device_index] if self.device_index is not None and c.accelerator != "cpu" else 1
                    trainer = silent_trainer(max_steps=c.steps, accelerator=c.accelerator, devices=devices, callbacks=[score_at])
                    fit(trainer, module, train_dataloaders=loader)  # Ctrl-C stays KeyboardInterrupt
            cka = self._score(module.cpu())
        return ProxyResult(
            rmi=float(cka.sum()),
            cka=[float(v) for v in cka],
            losses=dict(module.last_losses),
            seconds=time.perf_counter() - start,
            rmi_at=score_at.rmi_at,
        )

    def _score(self, module: CandidateModule) -> torch.Tensor:
        """Per-layer CKA of `module` as it is now, on the probe batch or the held-out one."""
        c = self.cfg
        if self.heldout is not None:
            return module.score(self.heldout.x.to(module.device), c.score_bn_mode, self.heldout_features)
        return module.score(self.probe.x.to(module.device), c.score_bn_mode)


@contextlib.contextmanager
def _rng_seeded(seed: int, accelerator: str) -> Iterator[None]:
    """torch's RNGs forked and seeded: the CPU one, and the CUDA ones when the candidate may train there."""
    on_cuda = accelerator != "cpu" and torch.cuda.is_available()
    devices = list(range(torch.cuda.device_count())) if on_cuda else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def _threads(n: int) -> Iterator[None]:
    before = torch.get_num_threads()
    if n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
