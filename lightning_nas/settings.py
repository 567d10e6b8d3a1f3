"""Checks of the run config that need more than its types, all cheap and done before any data is read or
any file is written (`build_problem` runs them first): devices this machine has, numbers that would
otherwise fail (or train garbage) only once training starts, modes, budgets."""

from __future__ import annotations

import math

from lightning_nas.config import RunConfig
from lightning_nas.costs import check_budget, constraint_key
from lightning_nas.errors import ConfigError, check_choice, check_path
from lightning_nas.rmi.score_key import resolve_accelerator


def check_settings(cfg: RunConfig) -> None:
    check_devices(cfg)
    check_numbers(cfg)
    if cfg.reference.checkpoint:
        check_path("reference checkpoint", cfg.reference.checkpoint)
    if cfg.proxy.table:
        check_path("proxy.table (a table of scores)", cfg.proxy.table)
    check_choice("reference.bn_mode", cfg.reference.bn_mode, ("train", "eval"))
    check_choice("proxy.score_bn_mode", cfg.proxy.score_bn_mode, ("train", "eval"))
    check_choice("proxy.score_on", cfg.proxy.score_on, ("probe", "heldout"))
    if cfg.proxy.steps < 0 or not 0.0 <= cfg.proxy.beta <= 1.0:
        raise ConfigError(f"proxy.steps must be >= 0 and proxy.beta in [0, 1], got {cfg.proxy.steps} and {cfg.proxy.beta}")
    check_score_steps(cfg.proxy.score_steps, cfg.proxy.steps)
    check_objectives(cfg)


def check_score_steps(score_steps: list[int], steps: int) -> None:
    """proxy.score_steps: distinct whole steps before the last one (1..steps-1)."""
    bad = [s for s in score_steps if isinstance(s, bool) or not isinstance(s, int) or not 1 <= s < steps]
    if bad or len(set(score_steps)) != len(score_steps):
        raise ConfigError(
            f"proxy.score_steps must be distinct steps in 1..{steps - 1} (proxy.steps {steps} is the final score), got {score_steps}"
        )


def check_objectives(cfg: RunConfig) -> None:
    """Budgets (optional only where the strategy allows it), then what the strategy checks itself (NSGA-II:
    distinct metrics, its hypervolume reference's length and RMI value; cost values are checked against the
    space once the cost models exist)."""
    from lightning_nas.search.strategy import STRATEGIES, strategy_of

    strategy = strategy_of(cfg.search)
    for i, c in enumerate(cfg.cost.constraints()):
        if c.budget is None and strategy.budgets_optional:
            continue
        if c.budget is None:
            allow = " or ".join(n for n in STRATEGIES.names() if STRATEGIES.get(n).budgets_optional)
            raise ConfigError(
                f"{constraint_key(i)}.budget is null, which only search.algorithm {allow} allows (a front without a hard "
                f"budget); give a budget > 0 for {c.metric}"
            )
        check_budget(constraint_key(i), c.budget, c.metric)
    strategy.check(cfg)


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
    from lightning_nas.backends import BACKENDS

    remote = BACKENDS.get(cfg.search.backend).trains_elsewhere(cfg)  # a cluster's GPUs need not be visible here
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
