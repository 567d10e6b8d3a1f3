"""Assemble a run from its config, cheap and checkable parts first (data → space → costs), then the
expensive ones (reference model → probe batch → reference features → RMI evaluator)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from lightning_nas.backends import check_execution, threads_per_candidate
from lightning_nas.config import RunConfig
from lightning_nas.costs import CostModel, build_cost_model, check_budget, constraint_key
from lightning_nas.costs.objective import Objective
from lightning_nas.data import ImageDataModule, build_datamodule
from lightning_nas.errors import ConfigError, check_choice, check_path
from lightning_nas.reference.loader import build_reference
from lightning_nas.rmi.cache import resolve_accelerator
from lightning_nas.rmi.evaluator import RMIEvaluator
from lightning_nas.rmi.probe import ProbeBatch, reference_features, select_probe_batch
from lightning_nas.spaces import Genotype, SearchSpace, build_space


@dataclass
class Problem:
    """The cheap half: dataset, space, cost models and budgets, validated."""

    cfg: RunConfig
    datamodule: ImageDataModule
    space: SearchSpace
    objectives: list[Objective]

    @property
    def cost_models(self) -> list[CostModel]:
        return [o.model for o in self.objectives]

    @property
    def budgets(self) -> list[float]:
        return [o.budget for o in self.objectives]  # type: ignore[misc]  # every constraint has one

    def costs(self, genotype: Genotype) -> list[float]:
        """The genotype's cost under every objective (cheap: run before any training)."""
        return [o.cost(genotype) for o in self.objectives]


@dataclass
class Scorer:
    """The expensive half: what the RMI proxy needs, and a record of how it was made."""

    evaluator: RMIEvaluator
    probe: ProbeBatch
    info: dict[str, Any] = field(default_factory=dict)


ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps")  # Lightning's names for the devices a Trainer can use here


def usable_accelerators() -> list[str]:
    """The accelerator names a Lightning Trainer can train on on this machine."""
    import torch

    present = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    return [a for a in ACCELERATORS if present.get(resolve_accelerator(a), False)]


def check_accelerator(key: str, name: object, local: bool = True) -> None:
    """A one-line ConfigError naming `key` when `name` is not one of Lightning's accelerators or (with
    `local`: the Trainer runs on this machine, not on a Ray cluster) names a device this machine lacks."""
    check_choice(key, name, ACCELERATORS)
    usable = usable_accelerators()
    if local and name not in usable:
        raise ConfigError(f"{key} is {name!r} but this machine has no such device; valid here: {', '.join(usable)}")


def check_devices(cfg: RunConfig) -> None:
    """Where candidates and the fine-tuned winner train: known names of devices this machine has."""
    remote = cfg.search.backend == "ray" and bool(cfg.ray.address)  # a cluster's GPUs need not be visible here
    check_accelerator("proxy.accelerator", cfg.proxy.accelerator, local=not remote)
    check_accelerator("finetune.accelerator", cfg.finetune.accelerator)
    check_choice("finetune.precision", cfg.finetune.precision, lightning_precisions())


def lightning_precisions() -> tuple[str, ...]:
    """The precision names Lightning's Trainer accepts (e.g. 32-true, 16-mixed, bf16-mixed)."""
    from typing import get_args

    from lightning.fabric.connector import _PRECISION_INPUT_STR

    return get_args(_PRECISION_INPUT_STR)


def check_number(key: str, value: object, low: float, high: float = math.inf, low_open: bool = False) -> None:
    """A one-line ConfigError naming `key` unless `value` is a finite number in [low, high] ((low, high]
    with `low_open`)."""
    number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not number or value < low or (low_open and value == low) or value > high:  # type: ignore[operator]
        bound = f"> {low:g}" if low_open else f">= {low:g}"
        span = bound if high == math.inf else f"in {'(' if low_open else '['}{low:g}, {high:g}]"
        raise ConfigError(f"{key} must be {span}, got {value!r}")


def check_numbers(cfg: RunConfig) -> None:
    """The numbers that would otherwise fail (or train garbage) only once training starts."""
    d, p, r, x = cfg.data, cfg.probe, cfg.reference, cfg.proxy
    if d.resolution is not None:
        check_number("data.resolution", d.resolution, 1)
    check_number("data.batch_size", d.batch_size, 1)
    check_number("data.num_workers", d.num_workers, 0)
    check_number("probe.batch_size", p.batch_size, 1)
    if not isinstance(p.pool, int) or p.pool < p.batch_size:
        raise ConfigError(f"probe.pool must be >= probe.batch_size ({p.batch_size}), got {p.pool!r}")
    check_number("reference.train_epochs", r.train_epochs, 0)
    check_number("reference.train_lr", r.train_lr, 0, low_open=True)
    check_number("reference.train_batch_size", r.train_batch_size, 1)
    check_number("proxy.lr", x.lr, 0, low_open=True)
    check_number("proxy.momentum", x.momentum, 0, 1)
    check_number("proxy.weight_decay", x.weight_decay, 0)


def build_problem(cfg: RunConfig, check_budgets: bool = True) -> Problem:
    check_execution(cfg)
    check_devices(cfg)
    check_numbers(cfg)
    if cfg.reference.checkpoint:
        check_path("reference checkpoint", cfg.reference.checkpoint)
    check_choice("reference.bn_mode", cfg.reference.bn_mode, ("train", "eval"))
    check_choice("proxy.score_bn_mode", cfg.proxy.score_bn_mode, ("train", "eval"))
    if cfg.proxy.steps < 0 or not 0.0 <= cfg.proxy.beta <= 1.0:
        raise ConfigError(f"proxy.steps must be >= 0 and proxy.beta in [0, 1], got {cfg.proxy.steps} and {cfg.proxy.beta}")
    d = cfg.data
    for i, c in enumerate(cfg.cost.constraints()):  # before the data and the space are built
        check_budget(constraint_key(i), c.budget, c.metric)
    dm = build_datamodule(d.name, d.root, d.download, d.resolution, d.batch_size, d.num_workers, d.val_fraction, d.split_seed)
    space = build_space(cfg.space, dm.spec)
    objectives = []
    for i, c in enumerate(cfg.cost.constraints()):
        key = constraint_key(i)
        model = build_cost_model(c, space, d.name, dm.spec.resolution, dm.spec.in_channels, key)
        if check_budgets:
            lowest = model.minimum()
            if lowest is not None and c.budget < lowest and not math.isclose(c.budget, lowest):
                raise ConfigError(
                    f"{key}.budget {c.budget:g} {model.unit} for {c.metric} is below the cheapest architecture in "
                    f"{space.name} ({lowest:.6g} {model.unit}); choose a budget >= {lowest:.6g}"
                )
        objectives.append(Objective(model, c.budget))
    return Problem(cfg, dm, space, objectives)


def build_scorer(problem: Problem) -> Scorer:
    cfg = problem.cfg
    dm = problem.datamodule
    dm.setup()
    reference, ref_info = build_reference(cfg.reference, dm, cfg.seed)
    probe = select_probe_batch(dm.train_set(), dm.spec, reference, cfg.probe, cfg.seed, cfg.reference.bn_mode)
    feats = reference_features(reference, cfg.reference.taps, probe.x, cfg.reference.bn_mode)
    sample = problem.space.sample(random.Random(0))
    taps = problem.space.taps(sample)
    if len(taps) != len(feats):
        raise ConfigError(
            f"the reference taps {len(feats)} layers ({', '.join(cfg.reference.taps)}) but the space taps "
            f"{len(taps)} ({', '.join(t.name for t in taps)}); give reference.taps with the same count"
        )
    evaluator = RMIEvaluator(problem.space, probe, feats, cfg.proxy, cfg.seed, threads=threads_per_candidate(cfg))
    info = {
        "reference": ref_info,
        "probe": {"digest": probe.digest(), "indices": probe.indices, "pool": cfg.probe.pool, "size": cfg.probe.batch_size},
        "taps": {
            "reference": [{"name": n, "shape": list(f.shape[1:])} for n, f in zip(cfg.reference.taps, feats, strict=True)],
            "candidate": [{"name": t.name, "shape": list(t.shape)} for t in taps],  # of one sampled genotype
        },
        "threads_per_candidate": evaluator.threads,
        "accelerator": cfg.proxy.accelerator,
    }
    return Scorer(evaluator, probe, info)
