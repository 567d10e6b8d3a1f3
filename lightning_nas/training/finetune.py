"""The fine-tuning runner behind `python -m lightning_nas.finetune` (`lightning_nas/finetune.py` documents
the command): choose the winner, build the module and Trainer, train, test, record finetune.json, export."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger

from lightning_nas.config import RunConfig, config_to_yaml
from lightning_nas.errors import ConfigError
from lightning_nas.interrupt import fit
from lightning_nas.pipeline import Problem, build_problem
from lightning_nas.reporting.run_reader import finished_run
from lightning_nas.reporting.search_cost import device_name
from lightning_nas.rmi.taps import ReferenceTaps
from lightning_nas.run_dir import write_json
from lightning_nas.search.fitness import feasible
from lightning_nas.spaces.base import Genotype, SearchSpace
from lightning_nas.spaces.network_spec import network_spec
from lightning_nas.tables.benchmark_accuracy import benchmark_lookup
from lightning_nas.training.module import FinetuneModule
from lightning_nas.training.recipe import Recipe, resolve_recipe

FINETUNE_JSON = "finetune.json"
log = logging.getLogger(__name__)


@dataclass
class Target:
    """What to fine-tune and where its outputs go."""

    genotype: Genotype
    source: str  # results.refined | results.best | results.best_feasible | --arch | pareto_front under --budget ...
    run_dir: Path


def choose_winner(results: dict[str, Any], space: SearchSpace, prefer_feasible: bool) -> tuple[Genotype, str]:
    """The refine stage's winner when the run was refined; else the search's answer (best of the last
    generation), or its best feasible candidate instead when the answer is over budget and `prefer_feasible`."""
    if results.get("refined"):
        return space.from_json(results["refined"]["winner"]["genotype"]), "results.refined"
    best = results["best"]
    if prefer_feasible and not best.get("feasible", True) and results.get("best_feasible"):
        return space.from_json(results["best_feasible"]["genotype"]), "results.best_feasible"
    return space.from_json(best["genotype"]), "results.best"


def _trained_size(cfg: RunConfig, full_size: bool) -> tuple[int, int]:
    return (cfg.space.full_C, cfg.space.full_N) if full_size else (cfg.space.C, cfg.space.N)


# ---- building the pieces ----------------------------------------------------------------------
def build_module(problem: Problem, genotype: Genotype, recipe: Recipe) -> FinetuneModule:
    ft = recipe.cfg
    model = problem.space.to_module(genotype, proxy=not ft.full_size)
    module = FinetuneModule(
        model,
        problem.datamodule.spec.num_classes,
        tap_names=problem.space.tap_names(genotype, proxy=not ft.full_size) if ft.beta > 0 else None,
        beta=ft.beta,
        lr=ft.lr,
        momentum=ft.momentum,
        weight_decay=ft.weight_decay,
        nesterov=ft.nesterov,
        max_epochs=recipe.epochs,
    )
    if ft.beta > 0:
        module.attach_reference(_reference_taps(problem))
    return module


def _reference_taps(problem: Problem) -> ReferenceTaps:
    from lightning_nas.reference.loader import build_reference

    cfg = problem.cfg
    reference, _ = build_reference(cfg.reference, problem.datamodule, cfg.seed)
    return ReferenceTaps(reference, list(cfg.reference.taps), cfg.reference.bn_mode)


@dataclass
class TrainerParts:
    trainer: L.Trainer
    checkpoint: ModelCheckpoint
    clock: Any  # WallClock


def _batch_count(limit: int | float, available: int) -> int:
    """A fraction of the batches as a count, at least one (Lightning refuses a fraction below one batch)."""
    if isinstance(limit, float):
        return max(1, int(limit * available))
    return max(1, min(int(limit), available))


def batch_limits(recipe: Recipe, dm: Any) -> dict[str, int]:
    """Batches per epoch (train, val) and for the test, resolved against the data's loaders; no
    validation batches when the data has no validation split."""
    ft = recipe.cfg
    val = _batch_count(ft.limit_val_batches, len(dm.val_dataloader())) if dm.has_val_split else 0  # type: ignore[arg-type]
    return {
        "train": _batch_count(ft.limit_train_batches, len(dm.train_dataloader())),  # type: ignore[arg-type]
        "val": val,
        "test": _batch_count(ft.limit_test_batches, len(dm.test_dataloader())),
    }


def build_trainer(
    recipe: Recipe, out_dir: Path, tb_logs: str, name: str, limits: dict[str, int], extra: list[Callback] | None = None
) -> TrainerParts:
    from lightning_nas.training.wallclock import WallClock

    ft = recipe.cfg
    validate = limits["val"] > 0  # without a validation split there is no best checkpoint, only the last
    checkpoint = ModelCheckpoint(
        dirpath=out_dir / "checkpoints",
        filename="best",
        monitor="val_acc" if validate else None,
        mode="max",
        save_top_k=1 if validate else 0,
        save_last=True,
        enable_version_counter=False,
    )
    clock = WallClock()
    trainer = L.Trainer(
        max_epochs=recipe.epochs,
        accelerator=ft.accelerator,
        devices=1,
        precision=ft.precision,  # type: ignore[arg-type]
        logger=TensorBoardLogger(save_dir=tb_logs, name=name, version="finetune", default_hp_metric=False),
        callbacks=[checkpoint, LearningRateMonitor(logging_interval="epoch"), clock, *(extra or [])],
        enable_progress_bar=ft.progress_bar,
        limit_train_batches=limits["train"],
        limit_val_batches=limits["val"],
        limit_test_batches=limits["test"],
        num_sanity_val_steps=0,
        log_every_n_steps=10,
    )
    return TrainerParts(trainer, checkpoint, clock)


def resume_path(out_dir: Path, setup: dict[str, Any], resume: bool) -> Path | None:
    """last.ckpt when resuming and it was written for the same setup; ConfigError when it was not (or
    setup.json cannot be read: nothing then says what last.ckpt holds). Whether it can be read is
    `readable_or_aside`'s question."""
    last = out_dir / "checkpoints" / "last.ckpt"
    setup_file = out_dir / "setup.json"
    if not (resume and last.exists()):
        return None
    try:
        previous = json.loads(setup_file.read_text()) if setup_file.exists() else None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ConfigError(
            f"cannot read {setup_file} ({type(err).__name__}), so {last} cannot be checked; "
            "set finetune.resume=false to start over or finetune.out_dir to another folder"
        ) from None
    if previous != json.loads(json.dumps(setup)):
        raise ConfigError(
            f"{last} was written for another fine-tuning setup ({setup_file}); "
            "set finetune.resume=false to start over or finetune.out_dir to another folder"
        )
    return last


def readable_or_aside(last: Path) -> Path | None:
    """`last` when it can be resumed from. One that cannot be read (a kill while it was written, damage)
    holds nothing to resume: it is moved aside (kept, not deleted) with one warning, and None is returned,
    so the fine-tune starts from scratch."""
    problem = unreadable_checkpoint(last)
    if problem is None:
        return last
    aside = last.with_name(f"{last.name}.unreadable-{int(time.time())}")
    last.replace(aside)
    log.warning(
        "fine-tune checkpoint %s is not a readable checkpoint (%s): moved to %s, starting the fine-tune from scratch",
        last,
        problem,
        aside.name,
    )
    return None


def unreadable_checkpoint(path: Path) -> str | None:
    """Why `path` cannot be resumed from (loaded as Lightning loads it, tensors and plain types only), or
    None when it can."""
    from lightning_nas.reference.loader import unreadable_reason

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - whatever torch raises, the file cannot be resumed from
        return unreadable_reason(err)
    if not isinstance(obj, dict) or "state_dict" not in obj:
        return "no state_dict in it"
    return None


# ---- the run ----------------------------------------------------------------------------------
def run_finetune(cfg: RunConfig, target: Target, extra_callbacks: list[Callback] | None = None) -> dict[str, Any]:
    """Fine-tune `target.genotype` with `cfg.finetune`; writes finetune.json (and the exports) into
    `target.run_dir` and returns its content."""
    problem = build_problem(cfg, check_budgets=False)  # checks the whole config, the recipe too
    recipe = resolve_recipe(cfg.finetune, cfg.seed)
    check_split(recipe, problem.datamodule)
    lookup = benchmark_lookup(recipe.cfg, problem.space.benchmark, cfg.data.name)
    out_dir = Path(recipe.cfg.out_dir) if recipe.cfg.out_dir else target.run_dir / "finetune"
    setup = _setup(cfg, problem, target.genotype, recipe)
    ckpt = resume_path(out_dir, setup, recipe.cfg.resume)
    ckpt = readable_or_aside(ckpt) if ckpt else None
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / "setup.json", setup)
    (out_dir / "finetune_config.yaml").write_text(config_to_yaml(cfg))

    dm = problem.datamodule
    dm.batch_size = recipe.batch_size
    if recipe.cfg.num_workers is not None:
        dm.num_workers = recipe.cfg.num_workers
    start = time.perf_counter()
    dm.setup()
    data_seconds = time.perf_counter() - start

    limits = batch_limits(recipe, dm)
    L.seed_everything(recipe.seed, verbose=False)
    module = build_module(problem, target.genotype, recipe)
    parts = build_trainer(recipe, out_dir, cfg.tb_logs, target.run_dir.name, limits, extra_callbacks)
    fit(parts.trainer, module, datamodule=dm, ckpt_path=str(ckpt) if ckpt else None)  # Ctrl-C: KeyboardInterrupt
    tested, test, test_seconds = _test(parts, module, dm, recipe.cfg.test_checkpoint)

    record = _record(cfg, problem, target, recipe, parts, test, tested)
    record["resumed_from_epoch"] = parts.clock.start_epoch if ckpt else None
    record["batches"] = {**limits, "batch_size": recipe.batch_size}
    record["data_seconds"] = data_seconds
    record["test_seconds"] = test_seconds
    record["wall_seconds"] = parts.clock.previous + test_seconds + data_seconds
    if lookup is not None:
        record["benchmark_test_acc"] = lookup.record(target.genotype, *_trained_size(cfg, recipe.cfg.full_size))
    if recipe.cfg.export:
        from lightning_nas.export.exporter import export_network

        record["export"] = export_network(record["network"], module.model.state_dict(), target.run_dir / "export", recipe.cfg.onnx_opset)
    write_json(target.run_dir / FINETUNE_JSON, record)
    return record


def check_split(recipe: Recipe, dm: Any) -> None:
    """`test_checkpoint: best` selects on the validation split: without one it is refused (never on test data)."""
    if recipe.cfg.test_checkpoint == "best" and not dm.has_val_split:
        raise ConfigError(
            "finetune.test_checkpoint=best needs a validation split but data.val_fraction is 0; "
            "set finetune.test_checkpoint=last or data.val_fraction in (0, 1)"
        )


def _setup(cfg: RunConfig, problem: Problem, genotype: Genotype, recipe: Recipe) -> dict[str, Any]:
    return {
        "arch": problem.space.key(genotype),
        "space": asdict(cfg.space),
        "data": {k: v for k, v in asdict(cfg.data).items() if k not in ("num_workers", "download")},
        "recipe": recipe.fingerprint(),
    }


def _test(parts: TrainerParts, module: FinetuneModule, dm: Any, which: str) -> tuple[str, dict[str, float], float]:
    start = time.perf_counter()
    best = parts.checkpoint.best_model_path
    if which == "best" and best:  # `best` without a validation split is refused before training (check_split)
        result = parts.trainer.test(module, datamodule=dm, ckpt_path=best, verbose=False)
        tested = best
    else:  # the weights of the last epoch trained (NAS-Bench-201 reports the final epoch)
        result = parts.trainer.test(module, datamodule=dm, verbose=False)
        tested = parts.checkpoint.last_model_path
    return tested, dict(result[0]), time.perf_counter() - start


def _percent(value: Any) -> float | None:
    return None if value is None else 100.0 * float(value)


def _record(
    cfg: RunConfig, problem: Problem, target: Target, recipe: Recipe, parts: TrainerParts, test: dict[str, float], tested: str
) -> dict[str, Any]:
    space, g = problem.space, target.genotype
    flops, _ = space.complexity(g)
    params = sum(p.numel() for p in parts.trainer.lightning_module.model.parameters()) / 1e6
    costs = [m.cost(g) for m in problem.cost_models]
    device = parts.trainer.strategy.root_device.type
    return {
        "arch": space.describe(g),
        "genotype": space.to_json(g),
        "source": target.source,
        "dataset": problem.datamodule.spec.name,
        "test_top1": _percent(test.get("test_acc")),
        "test_top5": _percent(test.get("test_acc_top5")),
        "test_loss": test.get("test_loss"),
        "best_val_acc": _percent(parts.checkpoint.best_model_score),
        "val_split": problem.datamodule.val_split,
        "test_split": "test",
        "accuracy_unit": "%",
        "epochs": recipe.epochs,
        "epochs_completed": parts.trainer.current_epoch,
        "complete": parts.trainer.current_epoch >= recipe.epochs,
        "train_seconds": parts.clock.previous,
        "device_type": device,
        "device": device_name(device),
        "params_M": params,
        "flops_M": flops if recipe.cfg.full_size else None,
        "costs": [
            {"metric": m.name, "value": c, "budget": b, "unit": m.unit, "feasible": feasible([c], [b])}
            for m, c, b in zip(problem.cost_models, costs, problem.budgets, strict=True)
        ],
        "checkpoint": tested,
        "checkpoints": {"best": parts.checkpoint.best_model_path or None, "last": parts.checkpoint.last_model_path},
        "tested_checkpoint": "best" if tested and tested == parts.checkpoint.best_model_path else "last",
        "tb_logs": str(Path(cfg.tb_logs) / target.run_dir.name / "finetune"),
        "recipe": recipe.to_dict(),
        "network": network_spec(cfg.space, problem.datamodule.spec, space, g, recipe.cfg.full_size),
    }


# ---- entry points -----------------------------------------------------------------------------
def finetune_run_dir(run_dir: str | Path, cfg: RunConfig, arch: str | None = None, source: str = "--arch") -> dict[str, Any]:
    """Fine-tune the winner of the finished run in `run_dir` (or `arch`) with `cfg` (the run's config
    plus overrides)."""
    path = Path(run_dir)
    problem_space = build_problem(cfg, check_budgets=False).space
    if arch is not None:
        return run_finetune(cfg, Target(problem_space.parse(arch), source, path))
    _, results = finished_run(path)
    genotype, source = choose_winner(results, problem_space, cfg.finetune.prefer_feasible)
    return run_finetune(cfg, Target(genotype, source, path))


def summary_line(record: dict[str, Any]) -> str:
    bench = record.get("benchmark_test_acc")
    side = f" (NAS-Bench-201 {bench['dataset']} {bench['field']}: {bench['value']:.2f}%)" if bench else ""
    top5 = f", top-5 {record['test_top5']:.2f}%" if record["test_top5"] is not None else ""
    best_val = record["best_val_acc"]
    val = f"best val {best_val:.2f}%" if best_val is not None else "no validation split"
    return (
        f"{record['arch']}: test top-1 {record['test_top1']:.2f}%{top5}{side}, {val}, "
        f"{record['epochs_completed']}/{record['epochs']} epochs, {record['wall_seconds']:.1f}s on {record['device']}, "
        f"{record['params_M']:.4g} M params; checkpoint {record['checkpoint']}"
    )
