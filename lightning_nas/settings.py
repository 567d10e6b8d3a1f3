"""Every check of a resolved run config, in one place: `check_config` runs them all, once per command
(`build_problem` calls it first), before any data is read or any file is written. The schema and its
docstrings stay in `lightning_nas.config`; what only a plug-in knows it checks itself, called from here
(a strategy's `check_search`/`check`, a backend's `check`; a space checks its own settings when it is
built). Each failure is a one-line ConfigError naming the key, the bad value and what would be valid."""

from __future__ import annotations

import math

from lightning_nas.config import MAX_POPULATION, DataConfig, FinetuneConfig, GAConfig, RefineConfig, RunConfig
from lightning_nas.costs import check_budget, constraint_key
from lightning_nas.errors import ConfigError, check_choice, check_path
from lightning_nas.rmi.score_key import resolve_accelerator


def check_config(cfg: RunConfig) -> None:
    """All checks of `cfg`: the search, where candidates run, devices, numbers, paths, modes, the data, the
    fine-tuning recipe and the budgets."""
    check_search(cfg.search)
    check_execution(cfg)
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
    check_data(cfg.data)
    check_finetune(cfg.finetune, cfg.seed)
    check_refine(cfg.refine)
    check_objectives(cfg)


def check_search(cfg: GAConfig) -> None:
    """The search section: sizes, probabilities, modes, the backend's name, then the strategy's own checks."""
    from lightning_nas.backends import BACKENDS
    from lightning_nas.search.strategy import strategy_of

    if cfg.checkpoint_every < 0:
        raise ConfigError(f"search.checkpoint_every must be >= 0 (0: only after the last generation), got {cfg.checkpoint_every}")
    if not 2 <= cfg.population <= MAX_POPULATION:
        raise ConfigError(f"search.population must be in 2..{MAX_POPULATION}, got {cfg.population}")
    for key, low in (("generations", 1), ("tournament_size", 1), ("max_rejection_draws", 1), ("hall_of_fame_size", 1)):
        if getattr(cfg, key) < low:  # tournament contestants are drawn with replacement: any size >= 1 works
            raise ConfigError(f"search.{key} must be >= {low}, got {getattr(cfg, key)}")
    if not 0 <= cfg.elites < cfg.population:
        raise ConfigError(f"search.elites must be in 0..{cfg.population - 1}, got {cfg.elites}")
    for name in ("crossover_prob", "mutation_rate"):
        if not 0.0 <= getattr(cfg, name) <= 1.0:
            raise ConfigError(f"search.{name} must be in [0, 1], got {getattr(cfg, name)}")
    check_choice("search.constraint_handling", cfg.constraint_handling, ("penalty", "rejection"))
    strategy = strategy_of(cfg)  # an unknown algorithm: a one-line error listing the registered ones
    if any(isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) for v in cfg.hv_reference):
        raise ConfigError(f"search.hv_reference must be finite numbers (RMI, then each cost), got {cfg.hv_reference}")
    BACKENDS.get(cfg.backend)
    if cfg.workers != "auto" and (isinstance(cfg.workers, bool) or not isinstance(cfg.workers, int) or cfg.workers < 1):
        raise ConfigError(f"search.workers must be an integer >= 1 or 'auto', got {cfg.workers!r}")
    if cfg.threads_per_worker < 1:
        raise ConfigError(f"search.threads_per_worker must be >= 1, got {cfg.threads_per_worker}")
    if isinstance(cfg.capacity_weight, bool) or not math.isfinite(cfg.capacity_weight) or cfg.capacity_weight < 0:
        raise ConfigError(f"search.capacity_weight must be a finite number >= 0 (0: off, the paper), got {cfg.capacity_weight!r}")
    strategy.check_search(cfg)


def check_execution(cfg: RunConfig) -> None:
    """Where candidates run: the GPU count when a GPU is asked for, then the backend's own checks (Ray
    installed for the ray backend)."""
    from lightning_nas.backends import BACKENDS
    from lightning_nas.backends.resources import visible_gpus

    backend = BACKENDS.get(cfg.search.backend)
    if cfg.proxy.candidates_per_gpu < 1:
        raise ConfigError(f"proxy.candidates_per_gpu must be >= 1, got {cfg.proxy.candidates_per_gpu}")
    if cfg.proxy.accelerator == "gpu" and visible_gpus() == 0 and not backend.trains_elsewhere(cfg):
        raise ConfigError("proxy.accelerator is 'gpu' but no CUDA GPU is visible here; use --proxy.accelerator cpu (or auto)")
    backend.check(cfg)


def check_data(cfg: DataConfig) -> None:
    if not 0.0 <= cfg.val_fraction < 1.0:
        raise ConfigError(f"data.val_fraction must be in [0, 1) (0: no validation split), got {cfg.val_fraction}")


def check_refine(cfg: RefineConfig) -> None:
    """The refine stage's keys (checked whether or not it is enabled: `lightning-nas refine` enables it later)."""
    from lightning_nas.refine.shortlist import SOURCES

    check_number("refine.k", cfg.k, 1)
    if not isinstance(cfg.shortlist, dict) or not cfg.shortlist:
        raise ConfigError(f"refine.shortlist must map sources to counts, e.g. {{fitness: 5, space_capacity: 10}}, got {cfg.shortlist!r}")
    for source, count in cfg.shortlist.items():
        check_choice("refine.shortlist source", source, SOURCES)
        check_number(f"refine.shortlist.{source}", count, 0)
    check_number("refine.epochs", cfg.epochs, 1)
    check_number("refine.data_fraction", cfg.data_fraction, 0, 1, low_open=True)
    check_number("refine.val_fraction", cfg.val_fraction, 0, 1, low_open=True)
    check_choice("refine.network", cfg.network, ("reduced", "full"))
    if cfg.table:
        check_path("refine.table (a CSV of accuracies)", cfg.table)


def check_finetune(cfg: FinetuneConfig, run_seed: int) -> None:
    """The fine-tuning recipe as it will run (its preset's values filled in), checked before the search:
    a bad value must not surface only after hours of searching."""
    from lightning_nas.training.recipe import PRESETS, TEST_CHECKPOINTS, resolve_recipe

    check_choice("finetune.preset", cfg.preset, PRESETS)
    check_choice("finetune.test_checkpoint", cfg.test_checkpoint, TEST_CHECKPOINTS)
    resolved = resolve_recipe(cfg, run_seed).cfg
    for name in ("epochs", "batch_size"):
        if int(getattr(resolved, name)) < 1:
            raise ConfigError(f"finetune.{name} must be >= 1, got {getattr(resolved, name)}")
    for name in ("limit_train_batches", "limit_val_batches", "limit_test_batches"):
        value = getattr(resolved, name)
        if not value > 0 or (isinstance(value, float) and value > 1.0):
            raise ConfigError(f"finetune.{name} must be a fraction in (0, 1] or a batch count >= 1, got {value}")
    if not resolved.lr > 0:
        raise ConfigError(f"finetune.lr must be > 0, got {resolved.lr}")
    if not 0.0 <= resolved.beta <= 1.0:
        raise ConfigError(f"finetune.beta must be in [0, 1], got {resolved.beta}")
    if resolved.onnx_opset < 7:
        raise ConfigError(f"finetune.onnx_opset must be >= 7, got {resolved.onnx_opset}")


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
