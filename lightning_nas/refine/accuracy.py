"""Where the refine stage's accuracies come from: a short training of each candidate on the training
split, ranked on the validation split (`ShortTraining`), or a table of accuracies measured elsewhere
(`AccuracyTable`, `refine.table`: e.g. NAS-Bench-201's 12-epoch accuracies), which trains nothing.

Both give a `RefineResult`: the validation accuracy after each epoch (a table: one value) and the seconds
it took (a table: its recorded training seconds, the simulated cost)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lightning_nas.errors import ConfigError
from lightning_nas.spaces.base import NB201_BENCHMARK, Genotype, SearchSpace


@dataclass
class RefineResult:
    val_acc: list[float]  # % after each epoch (a table: its one value)
    seconds: float
    source: str  # "trained" | "table"
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def best(self) -> float:
        """The best validation accuracy of the epochs (every shorter schedule is read off `val_acc`)."""
        return max(self.val_acc)


class AccuracyTable:
    """`refine.table`: an NB201-indexed CSV (`arch_index` or `arch_str`) with the accuracy column
    `refine.table_column` (and optionally the seconds column `refine.table_seconds_column`)."""

    def __init__(self, path: str, column: str, seconds_column: str | None, space: SearchSpace) -> None:
        from lightning_nas.tables.nb201_csv import read_nb201_csv

        if space.benchmark != NB201_BENCHMARK:
            raise ConfigError(f"refine.table {path} is indexed by NAS-Bench-201 archs; the {space.name} space has no such index")
        wanted = [c for c in (column, seconds_column) if c]
        fields = {c.partition(".")[2] for c in wanted}
        header = _header(path)
        index_column = "arch_index" if "arch_index" in header else "arch_str"
        columns = read_nb201_csv(path, fields, index_column=index_column, what="refine.table", expected=f"arch_index or arch_str and {column}")
        missing = [c for c in wanted if tuple(c.split(".", 1)) not in columns]
        if missing:
            raise ConfigError(f"refine.table {path} has no column {missing[0]!r}; columns: {', '.join(header)}")
        self.path, self.column, self.space = path, column, space
        self.accuracy = columns[tuple(column.split(".", 1))]
        self.seconds = columns[tuple(seconds_column.split(".", 1))] if seconds_column else None

    def __call__(self, genotype: Genotype) -> RefineResult:
        index = self.space.benchmark_fields(genotype)["nb201_index"]
        value = float(self.accuracy[index])
        if not np.isfinite(value):
            raise ConfigError(f"refine.table {self.path} has no {self.column} for {self.space.describe(genotype)} (NB201 index {index})")
        seconds = float(self.seconds[index]) if self.seconds is not None and np.isfinite(self.seconds[index]) else 0.0
        return RefineResult([value], seconds, "table", {"table": Path(self.path).name, "column": self.column})


def _header(path: str) -> list[str]:
    import csv
    import gzip

    try:
        with (gzip.open if str(path).endswith(".gz") else open)(path, "rt", newline="") as f:  # type: ignore[operator]
            return next(csv.reader(f), [])
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read refine.table {path}: {err}") from None


class ShortTraining:
    """Trains a candidate from scratch for `refine.epochs` on `refine.data_fraction` of the training batches
    of each epoch (a seeded shuffle), with the fine-tune recipe's optimiser, and validates after every epoch
    on the validation split (`data.val_fraction`, else `refine.val_fraction` of the training images)."""

    def __init__(self, problem: Any) -> None:
        from lightning_nas.data import build_datamodule
        from lightning_nas.training.recipe import resolve_recipe

        cfg = problem.cfg
        self.problem, self.refine = problem, cfg.refine
        self.recipe = resolve_recipe(cfg.finetune, cfg.seed).cfg
        dm = problem.datamodule
        if not dm.has_val_split:
            d = cfg.data
            dm = build_datamodule(d.name, d.root, d.download, d.resolution, d.batch_size, d.num_workers, cfg.refine.val_fraction, d.split_seed)
        self.datamodule = dm

    def __call__(self, genotype: Genotype) -> RefineResult:
        import lightning as L
        import torch

        from lightning_nas.interrupt import fit
        from lightning_nas.quiet import quiet_lightning, silent_trainer
        from lightning_nas.rmi.evaluator import candidate_seed
        from lightning_nas.training.classifier import ClassifierModule

        start = time.perf_counter()
        space, r, ft = self.problem.space, self.refine, self.recipe
        seed = candidate_seed(self.problem.cfg.seed, space.key(genotype))
        accs: list[float] = []

        class _Record(L.Callback):
            def on_validation_epoch_end(self, trainer: L.Trainer, _module: L.LightningModule) -> None:
                if not trainer.sanity_checking and "val_acc" in trainer.callback_metrics:
                    accs.append(100.0 * float(trainer.callback_metrics["val_acc"]))

        with torch.random.fork_rng():
            torch.manual_seed(seed)
            model = space.to_module(genotype, proxy=r.network == "reduced")
            module = ClassifierModule(model, self.datamodule.spec.num_classes, ft.lr, ft.momentum, ft.weight_decay, ft.nesterov, r.epochs)
            with quiet_lightning():
                trainer = silent_trainer(max_epochs=r.epochs, limit_train_batches=r.data_fraction, limit_val_batches=1.0,
                                         callbacks=[_Record()])  # fmt: skip
                fit(trainer, module, train_dataloaders=self.datamodule.train_dataloader(seed=seed), val_dataloaders=self.datamodule.val_dataloader())
        return RefineResult(accs, time.perf_counter() - start, "trained", {"epochs": r.epochs, "data_fraction": r.data_fraction})
