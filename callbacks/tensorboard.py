"""Log a search to TensorBoard under `tb_logs/<run name>` through Lightning's TensorBoardLogger.

The run's own directory (`tb_logs/<run name>`), tags:
- `candidate/rmi`, `candidate/fitness`, `candidate/cost_<metric>_<unit>`: each candidate (step: its
  evaluation count);
- `generation/best_fitness`, `mean_fitness`, `worst_fitness`, `best_rmi`, `best_cost_<metric>_<unit>`,
  `budget_<metric>_<unit>` (objectives with a budget), `feasible_fraction`, `unique_evaluations`, and for
  NSGA-II `pareto/hypervolume`, `front_size`, `feasible_front` (step: the generation, from 0);
- images (step: the generation): `images/rmi_vs_cost` (every candidate so far in grey, the population
  highlighted, budgets dashed, one panel per cost objective) and `images/op_distribution` (gene-value
  shares of the population and of the best so far); `images=False` leaves them out;
- a custom-scalars layout (the Custom Scalars dashboard): best and mean fitness on one chart, best RMI,
  and per objective the best cost against its budget (NSGA-II: also the hypervolume);
- text: `config`, `best_genotype` per generation, `result`.

The HParams table of the hall of fame and the current population, in its own sub-directory so that
the run's Scalars view keeps its tags: one session (a run) per architecture that is, after a generation,
among the best `search.hall_of_fame_size` by fitness of everything evaluated so far or in that
generation's population: `tb_logs/<run name>/hparams/g<first generation>_<digest of its key>`. An
architecture's session is written once, when it enters that set, and removed when it leaves it (it
comes back, the same, if the architecture does), so an architecture is never in the table twice and
the table holds at most population + hall_of_fame_size rows: TensorBoard selects no run by default
once a logdir has more than 40, and one session per candidate would soon get there. A resumed run
keeps the sessions it finds. Everything fixed about an architecture is an hparam (a column to sort and
filter on, no scalar chart per value): `arch` (the space's description: NB201 arch string, OFA key),
`rmi`, `fitness`, `feasible`, `cost_<metric>_<unit>`, `generation` (first evaluated), `cka_<i>` (per
compared layer). Its metrics, appended each generation: `population/rank` (by fitness among everything
evaluated so far, 1 = best) and `population/in_population` (1 in the generation's population, else 0).
Each session is one event file, appended to (no writer thread per architecture).

The table's columns are set by an experiment summary (`_hparams_/experiment`, what tensorboard's
`hparams_config` writes) in `tb_logs/<run name>/hparams/` itself, rewritten after each generation (its
`arch` domain: the architectures then in the table): hparams `arch`, `rmi`, `fitness`, `feasible`, the
costs, `generation`, `cka_<i>` in that order, metrics `population/rank`, `population/in_population`.
TensorBoard (2.21) does not keep that order: it lists the hparams marked `differs` first, each group by
name, and ticks (shows) the first five; so `differs` marks the first five of the list (with one cost:
`arch`, `cost_*`, `feasible`, `fitness`, `rmi` shown; `cka_<i>`, `generation` unticked, after them). That
directory is one more TensorBoard run (without scalars). The event plumbing (protobufs, event files) is
`lightning_nas.reporting.tb_events`."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightning.pytorch.loggers import TensorBoardLogger
from lightning_nas.callbacks.base import SearchCallback

from lightning_nas.reporting.tb_events import (
    IN_POPULATION,
    RANK,
    append_events,
    digest,
    experiment,
    finite,
    scalars,
    scalars_layout,
    session_events,
    tag,
    write_experiment,
)

if TYPE_CHECKING:
    from lightning_nas.search.view import SearchView

HPARAMS_DIR = "hparams"


class TensorBoardSearchLogger(SearchCallback):
    def __init__(self, images: bool = True) -> None:
        self.images = images
        self.logger: TensorBoardLogger | None = None
        self.step = 0
        self.sessions: dict[str, Path] = {}  # digest of a key -> its HParams session directory

    def on_search_start(self, search: SearchView) -> None:
        self.logger = TensorBoardLogger(
            save_dir=search.cfg.tb_logs, name=search.run_dir.name, version="", default_hp_metric=False
        )
        self.step = search.evaluations
        writer = self.logger.experiment
        writer.add_text("config", "```\n" + search.config_yaml + "\n```", 0)
        writer.add_custom_scalars(scalars_layout(search.objectives, "hypervolume" in search.generation_metrics))
        root = Path(self.logger.log_dir) / HPARAMS_DIR
        self.sessions = {p.name.split("_", 1)[1]: p for p in root.glob("g*_*") if p.is_dir()}

    def on_candidate_evaluated(self, search: SearchView, record: dict[str, Any]) -> None:
        assert self.logger is not None
        metrics = {"candidate/rmi": record["rmi"], "candidate/fitness": record["fitness"]}
        for o in search.objectives:
            metrics[f"candidate/cost_{o.name}_{tag(o.unit)}"] = record[f"cost_{o.name}"]
        self.logger.log_metrics({k: v for k, v in metrics.items() if finite(v)}, step=self.step)
        self.step += 1

    def on_generation_end(self, search: SearchView, generation: int, s: dict[str, Any]) -> None:
        assert self.logger is not None
        metrics = {
            "generation/best_fitness": s["best_fitness"],
            "generation/mean_fitness": s["mean_fitness"],
            "generation/worst_fitness": s["worst_fitness"],
            "generation/best_rmi": s["best_rmi"],
            **{
                f"generation/best_cost_{o.name}_{tag(o.unit)}": s["best_costs"][o.name]
                for o in search.objectives
            },
            **{f"generation/budget_{o.name}_{tag(o.unit)}": o.budget for o in search.objectives},
            "generation/feasible_fraction": s["feasible_fraction"],
            "generation/unique_evaluations": s["unique_evaluations"],
            **{f"pareto/{k}": s[k] for k in ("hypervolume", "front_size", "feasible_front") if k in s},
        }
        self.logger.log_metrics({k: v for k, v in metrics.items() if finite(v)}, step=generation)
        writer = self.logger.experiment
        writer.add_text("best_genotype", s["best_description"], generation)
        population = search.population(generation)
        if self.images:
            from lightning_nas.reporting.search_figures import population_op_figure, rmi_cost_figure

            rows, k = list(search.rows), search.cfg.search.hall_of_fame_size
            scatter = rmi_cost_figure(rows, population, search.objectives, generation)
            writer.add_figure("images/rmi_vs_cost", scatter, generation)
            ops = population_op_figure(search.space, population, rows, k, generation)
            writer.add_figure("images/op_distribution", ops, generation)
        self._write_sessions(search, population, generation)
        writer.flush()

    def _write_sessions(self, search: SearchView, population: list[dict[str, Any]], generation: int) -> None:
        """The sessions of the hall of fame and the population, each with its rank and membership at
        `generation`; those of the architectures that left both are removed."""
        from lightning_nas.reporting.search_figures import best_so_far

        assert self.logger is not None
        root = Path(self.logger.log_dir) / HPARAMS_DIR
        ranked = best_so_far(list(search.rows))
        rank = {r["key"]: i + 1 for i, r in enumerate(ranked)}
        members = {r["key"] for r in population}
        wanted = {r["key"]: r for r in ranked[: search.cfg.search.hall_of_fame_size]}
        wanted |= {r["key"]: r for r in ranked if r["key"] in members}
        keep = set()
        for key, row in wanted.items():  # `row`: the key's first row (its first generation)
            name = digest(key)
            keep.add(name)
            events = []
            if name not in self.sessions:
                self.sessions[name] = root / f"g{row['generation']:03d}_{name}"
                events = session_events(search.space, search.objectives, row)
            events.append(scalars({RANK: rank[key], IN_POPULATION: int(key in members)}, generation))
            append_events(self.sessions[name], events)
        for gone in set(self.sessions) - keep:
            shutil.rmtree(self.sessions.pop(gone), ignore_errors=True)
        table = experiment(search.run_dir.name, search.space, search.objectives, list(wanted.values()))
        write_experiment(root, table, generation)

    def on_search_end(self, search: SearchView, results: dict[str, Any]) -> None:
        if self.logger is not None:
            self.logger.experiment.add_text(
                "result", f"{results['best']['description']} (feasible: {results['feasible']})", 0
            )
            self.logger.finalize("success")

    def on_exception(self, search: SearchView, error: BaseException) -> None:
        if self.logger is not None:
            self.logger.finalize("failed")
