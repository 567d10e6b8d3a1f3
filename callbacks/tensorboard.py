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
directory is one more TensorBoard run (without scalars)."""

from __future__ import annotations

import hashlib
import math
import re
import shutil
import socket
import time
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import TensorBoardLogger
from lightning_nas.callbacks.base import SearchCallback
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.plugins.hparams import api_pb2
from tensorboard.plugins.hparams import metadata as hp_metadata
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData, SessionEndInfo, SessionStartInfo

HPARAMS_DIR = "hparams"
RANK = "population/rank"
IN_POPULATION = "population/in_population"


class TensorBoardSearchLogger(SearchCallback):
    def __init__(self, images: bool = True) -> None:
        self.images = images
        self.logger: TensorBoardLogger | None = None
        self.step = 0
        self.sessions: dict[str, Path] = {}  # digest of a key -> its HParams session directory

    def on_search_start(self, search: Any) -> None:
        self.logger = TensorBoardLogger(
            save_dir=search.cfg.tb_logs, name=search.run_dir.name, version="", default_hp_metric=False
        )
        self.step = search.records.evaluations
        writer = self.logger.experiment
        writer.add_text("config", "```\n" + search.config_yaml + "\n```", 0)
        writer.add_custom_scalars(scalars_layout(search.objectives, "hypervolume" in search.strategy.generation_metrics))
        root = Path(self.logger.log_dir) / HPARAMS_DIR
        self.sessions = {p.name.split("_", 1)[1]: p for p in root.glob("g*_*") if p.is_dir()}

    def on_candidate_evaluated(self, search: Any, record: dict[str, Any]) -> None:
        assert self.logger is not None
        metrics = {"candidate/rmi": record["rmi"], "candidate/fitness": record["fitness"]}
        for o in search.objectives:
            metrics[f"candidate/cost_{o.name}_{_tag(o.unit)}"] = record[f"cost_{o.name}"]
        self.logger.log_metrics({k: v for k, v in metrics.items() if _finite(v)}, step=self.step)
        self.step += 1

    def on_generation_end(self, search: Any, generation: int, s: dict[str, Any]) -> None:
        assert self.logger is not None
        metrics = {
            "generation/best_fitness": s["best_fitness"],
            "generation/mean_fitness": s["mean_fitness"],
            "generation/worst_fitness": s["worst_fitness"],
            "generation/best_rmi": s["best_rmi"],
            **{
                f"generation/best_cost_{o.name}_{_tag(o.unit)}": s["best_costs"][o.name]
                for o in search.objectives
            },
            **{f"generation/budget_{o.name}_{_tag(o.unit)}": o.budget for o in search.objectives},
            "generation/feasible_fraction": s["feasible_fraction"],
            "generation/unique_evaluations": s["unique_evaluations"],
            **{f"pareto/{k}": s[k] for k in ("hypervolume", "front_size", "feasible_front") if k in s},
        }
        self.logger.log_metrics({k: v for k, v in metrics.items() if _finite(v)}, step=generation)
        writer = self.logger.experiment
        writer.add_text("best_genotype", s["best_description"], generation)
        population = search.records.generation(generation)
        if self.images:
            from lightning_nas.reporting.search_figures import population_op_figure, rmi_cost_figure

            rows, k = search.records.rows, search.cfg.search.hall_of_fame_size
            scatter = rmi_cost_figure(rows, population, search.objectives, generation)
            writer.add_figure("images/rmi_vs_cost", scatter, generation)
            ops = population_op_figure(search.space, population, rows, k, generation)
            writer.add_figure("images/op_distribution", ops, generation)
        self._write_sessions(search, population, generation)
        writer.flush()

    def _write_sessions(self, search: Any, population: list[dict[str, Any]], generation: int) -> None:
        """The sessions of the hall of fame and the population, each with its rank and membership at
        `generation`; those of the architectures that left both are removed."""
        from lightning_nas.reporting.search_figures import best_so_far

        assert self.logger is not None
        root = Path(self.logger.log_dir) / HPARAMS_DIR
        ranked = best_so_far(search.records.rows)
        rank = {r["key"]: i + 1 for i, r in enumerate(ranked)}
        members = {r["key"] for r in population}
        wanted = {r["key"]: r for r in ranked[: search.cfg.search.hall_of_fame_size]}
        wanted |= {r["key"]: r for r in ranked if r["key"] in members}
        keep = set()
        for key, row in wanted.items():  # `row`: the key's first row (its first generation)
            digest = _digest(key)
            keep.add(digest)
            events = []
            if digest not in self.sessions:
                self.sessions[digest] = root / f"g{row['generation']:03d}_{digest}"
                events = session_events(search, row)
            events.append(_scalars({RANK: rank[key], IN_POPULATION: int(key in members)}, generation))
            append_events(self.sessions[digest], events)
        for digest in set(self.sessions) - keep:
            shutil.rmtree(self.sessions.pop(digest), ignore_errors=True)
        write_experiment(root, experiment(search, list(wanted.values())), generation)

    def on_search_end(self, search: Any, results: dict[str, Any]) -> None:
        if self.logger is not None:
            self.logger.experiment.add_text(
                "result", f"{results['best']['description']} (feasible: {results['feasible']})", 0
            )
            self.logger.finalize("success")

    def on_exception(self, search: Any, error: BaseException) -> None:
        if self.logger is not None:
            self.logger.finalize("failed")


def scalars_layout(objectives: list[Any], pareto: bool) -> dict[str, dict[str, list[Any]]]:
    """The Custom Scalars dashboard's charts, over the tags `on_generation_end` writes (exact-match
    regular expressions)."""

    def tags(*names: str) -> list[str]:
        return [f"^{re.escape(n)}$" for n in names]

    charts: dict[str, list[Any]] = {
        "fitness: best and mean": ["Multiline", tags("generation/best_fitness", "generation/mean_fitness")],
        "RMI of the best": ["Multiline", tags("generation/best_rmi")],
    }
    for o in objectives:
        suffix = f"{o.name}_{_tag(o.unit)}"
        names = [f"generation/best_cost_{suffix}"]
        title = f"{o.name} ({o.unit}) of the best"
        if o.budget is not None:
            names.append(f"generation/budget_{suffix}")
            title += " vs the budget"
        charts[title] = ["Multiline", tags(*names)]
    if pareto:
        charts["Pareto front: hypervolume"] = ["Multiline", tags("pareto/hypervolume")]
    return {"search": charts}


def session_events(search: Any, row: dict[str, Any]) -> list[Event]:
    """An HParams session's start (its hparams) and end, from the architecture's first row."""
    generation = row["generation"]
    cka = sorted((int(k.split("_", 1)[1]), v) for k, v in row.items() if re.fullmatch(r"cka_\d+", k))
    hparams = {
        "arch": _describe(search, row),
        "rmi": row["rmi"],
        "fitness": row["fitness"],
        "feasible": bool(row["feasible"]),
        **{_cost(o): row[f"cost_{o.name}"] for o in search.objectives},
        "generation": generation,
        **{f"cka_{i}": v for i, v in cka},
    }
    start = SessionStartInfo(start_time_secs=time.time())
    for name, value in hparams.items():  # a bool is an int too: test it first
        if isinstance(value, bool):
            start.hparams[name].bool_value = value
        elif _finite(value):  # a missing score (a failed candidate) or cost is left out
            start.hparams[name].number_value = value
        elif isinstance(value, str):
            start.hparams[name].string_value = value
    end = SessionEndInfo(status=api_pb2.STATUS_SUCCESS, end_time_secs=time.time())
    start_tag, end_tag = hp_metadata.SESSION_START_INFO_TAG, hp_metadata.SESSION_END_INFO_TAG
    return [
        _hparams_event(start_tag, HParamsPluginData(session_start_info=start), generation),
        _hparams_event(end_tag, HParamsPluginData(session_end_info=end), generation),
    ]


SHOWN = 5  # the HParams dashboard ticks its first five hparams


def experiment(search: Any, rows: list[dict[str, Any]]) -> api_pb2.Experiment:
    """The HParams table's columns, in order (`rows`: the first rows of the architectures in the table):
    the first `SHOWN` marked `differs`, which TensorBoard lists first and ticks."""
    cka = sorted({int(k.split("_", 1)[1]) for r in rows for k in r if re.fullmatch(r"cka_\d+", k)})
    number, string, boolean = api_pb2.DATA_TYPE_FLOAT64, api_pb2.DATA_TYPE_STRING, api_pb2.DATA_TYPE_BOOL
    columns = [
        ("arch", string, search.space.name + " architecture"),
        ("rmi", number, "RMI score"),
        ("fitness", number, "RMI + penalty"),
        ("feasible", boolean, "within every budget"),
        *((_cost(o), number, f"{o.name} ({o.unit})") for o in search.objectives),
        ("generation", number, "first evaluated in"),
        *((f"cka_{i}", number, f"CKA of compared layer {i}") for i in cka),
    ]
    result = api_pb2.Experiment(name=search.run_dir.name, time_created_secs=time.time())
    for i, (name, kind, description) in enumerate(columns):
        info = result.hparam_infos.add(name=name, type=kind, description=description, differs=i < SHOWN)
        if kind == string:  # 10 or more values: a regular-expression filter, fewer: a checkbox each
            info.domain_discrete.extend(sorted({_describe(search, r) for r in rows}))
        elif kind == boolean:
            info.domain_discrete.extend([False, True])
    metrics = {
        RANK: "by fitness among everything evaluated, 1 = best",
        IN_POPULATION: "1 if in the population",
    }
    for tag, description in metrics.items():
        result.metric_infos.add(name=api_pb2.MetricName(group="", tag=tag), description=description)
    return result


def write_experiment(root: Path, summary: api_pb2.Experiment, generation: int) -> None:
    """Replace the event file directly in `root` with one holding the experiment summary (a file name
    that sorts after the previous one: TensorBoard reads a directory's files in name order)."""
    name = f"events.out.tfevents.{time.time():.0f}.{socket.gethostname()}.{generation:04d}.experiment"
    old = [p for p in root.glob("events.out.tfevents.*") if p.name != name]
    (root / name).unlink(missing_ok=True)  # one summary a file: TensorBoard keeps a tag's first
    data = HParamsPluginData(experiment=summary)
    write_events(root / name, [_hparams_event(hp_metadata.EXPERIMENT_TAG, data, generation)])
    for path in old:
        path.unlink(missing_ok=True)


def _hparams_event(tag: str, data: HParamsPluginData, step: int) -> Event:
    """The summary `add_hparams` writes, built here: tensorboard's own builder needs TensorFlow."""
    meta = hp_metadata.create_summary_metadata(data)
    value = Summary.Value(tag=tag, metadata=meta, tensor=hp_metadata.NULL_TENSOR)
    return _event(Summary(value=[value]), step)


def _digest(key: str) -> str:
    return hashlib.sha1(key.encode()).hexdigest()[:12]


def append_events(directory: Path, events: list[Event]) -> None:
    """Append to the directory's one event file (created with its file-version record first)."""
    directory.mkdir(parents=True, exist_ok=True)
    existing = sorted(directory.glob("events.out.tfevents.*"))
    name = f"events.out.tfevents.{time.time():.0f}.{socket.gethostname()}.hparams"
    write_events(existing[-1] if existing else directory / name, events)


def write_events(path: Path, events: list[Event]) -> None:
    """Append the events to the file, a new one starting with its file-version record."""
    from tensorboard.summary.writer.record_writer import RecordWriter

    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        events = [Event(wall_time=time.time(), file_version="brain.Event:2"), *events]
    with open(path, "ab") as f:
        writer = RecordWriter(f)
        for event in events:
            writer.write(event.SerializeToString())
        writer.flush()


def _event(summary: Summary, step: int) -> Event:
    return Event(wall_time=time.time(), step=step, summary=summary)


def _scalars(values: dict[str, Any], step: int) -> Event:
    summary = Summary(value=[Summary.Value(tag=k, simple_value=v) for k, v in values.items() if _finite(v)])
    return _event(summary, step)


def _describe(search: Any, row: dict[str, Any]) -> str:
    return search.space.describe(search.space.from_json(row["genotype"]))


def _cost(objective: Any) -> str:
    return f"cost_{objective.name}_{_tag(objective.unit)}"


def _tag(unit: str) -> str:
    return unit.replace(" ", "_").replace("/", "_per_")


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and math.isfinite(v)
