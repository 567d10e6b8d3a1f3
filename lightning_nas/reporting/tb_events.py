"""TensorBoard event plumbing for `TensorBoardSearchLogger` (`lightning_nas.callbacks.tensorboard`):
the Custom Scalars layout, the HParams sessions and experiment summary, and appending protobuf events to
an event file. Built here with tensorboard's protobufs: its own `add_hparams` builder needs TensorFlow.

An HParams session is one event file (its start and end, then a scalars event per generation); the
experiment summary (`_hparams_/experiment`, what tensorboard's `hparams_config` writes) is one event file
directly in the `hparams/` directory, replaced after each generation. TensorBoard (2.21) lists the hparams
marked `differs` first, each group by name, and ticks (shows) the first five; so `differs` marks the
first `SHOWN` of the list."""

from __future__ import annotations

import hashlib
import math
import re
import socket
import time
from pathlib import Path
from typing import Any

from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.plugins.hparams import api_pb2
from tensorboard.plugins.hparams import metadata as hp_metadata
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData, SessionEndInfo, SessionStartInfo

RANK = "population/rank"
IN_POPULATION = "population/in_population"
SHOWN = 5  # the HParams dashboard ticks its first five hparams


def scalars_layout(objectives: list[Any], pareto: bool) -> dict[str, dict[str, list[Any]]]:
    """The Custom Scalars dashboard's charts, over the tags the logger writes each generation
    (exact-match regular expressions)."""

    def tags(*names: str) -> list[str]:
        return [f"^{re.escape(n)}$" for n in names]

    charts: dict[str, list[Any]] = {
        "fitness: best and mean": ["Multiline", tags("generation/best_fitness", "generation/mean_fitness")],
        "RMI of the best": ["Multiline", tags("generation/best_rmi")],
    }
    for o in objectives:
        suffix = f"{o.name}_{tag(o.unit)}"
        names = [f"generation/best_cost_{suffix}"]
        title = f"{o.name} ({o.unit}) of the best"
        if o.budget is not None:
            names.append(f"generation/budget_{suffix}")
            title += " vs the budget"
        charts[title] = ["Multiline", tags(*names)]
    if pareto:
        charts["Pareto front: hypervolume"] = ["Multiline", tags("pareto/hypervolume")]
    return {"search": charts}


def session_events(space: Any, objectives: list[Any], row: dict[str, Any]) -> list[Event]:
    """An HParams session's start (its hparams) and end, from the architecture's first row."""
    generation = row["generation"]
    cka = sorted((int(k.split("_", 1)[1]), v) for k, v in row.items() if re.fullmatch(r"cka_\d+", k))
    hparams = {
        "arch": describe(space, row),
        "rmi": row["rmi"],
        "fitness": row["fitness"],
        "feasible": bool(row["feasible"]),
        **{cost_name(o): row[f"cost_{o.name}"] for o in objectives},
        "generation": generation,
        **{f"cka_{i}": v for i, v in cka},
    }
    start = SessionStartInfo(start_time_secs=time.time())
    for name, value in hparams.items():  # a bool is an int too: test it first
        if isinstance(value, bool):
            start.hparams[name].bool_value = value
        elif finite(value):  # a missing score (a failed candidate) or cost is left out
            start.hparams[name].number_value = value
        elif isinstance(value, str):
            start.hparams[name].string_value = value
    end = SessionEndInfo(status=api_pb2.STATUS_SUCCESS, end_time_secs=time.time())
    start_tag, end_tag = hp_metadata.SESSION_START_INFO_TAG, hp_metadata.SESSION_END_INFO_TAG
    return [
        hparams_event(start_tag, HParamsPluginData(session_start_info=start), generation),
        hparams_event(end_tag, HParamsPluginData(session_end_info=end), generation),
    ]


def experiment(name: str, space: Any, objectives: list[Any], rows: list[dict[str, Any]]) -> api_pb2.Experiment:
    """The HParams table's columns, in order (`rows`: the first rows of the architectures in the table):
    the first `SHOWN` marked `differs`, which TensorBoard lists first and ticks."""
    cka = sorted({int(k.split("_", 1)[1]) for r in rows for k in r if re.fullmatch(r"cka_\d+", k)})
    number, string, boolean = api_pb2.DATA_TYPE_FLOAT64, api_pb2.DATA_TYPE_STRING, api_pb2.DATA_TYPE_BOOL
    columns = [
        ("arch", string, space.name + " architecture"),
        ("rmi", number, "RMI score"),
        ("fitness", number, "RMI + penalty"),
        ("feasible", boolean, "within every budget"),
        *((cost_name(o), number, f"{o.name} ({o.unit})") for o in objectives),
        ("generation", number, "first evaluated in"),
        *((f"cka_{i}", number, f"CKA of compared layer {i}") for i in cka),
    ]
    result = api_pb2.Experiment(name=name, time_created_secs=time.time())
    for i, (column, kind, description) in enumerate(columns):
        info = result.hparam_infos.add(name=column, type=kind, description=description, differs=i < SHOWN)
        if kind == string:  # 10 or more values: a regular-expression filter, fewer: a checkbox each
            info.domain_discrete.extend(sorted({describe(space, r) for r in rows}))
        elif kind == boolean:
            info.domain_discrete.extend([False, True])
    metrics = {
        RANK: "by fitness among everything evaluated, 1 = best",
        IN_POPULATION: "1 if in the population",
    }
    for metric, description in metrics.items():
        result.metric_infos.add(name=api_pb2.MetricName(group="", tag=metric), description=description)
    return result


def write_experiment(root: Path, summary: api_pb2.Experiment, generation: int) -> None:
    """Replace the event file directly in `root` with one holding the experiment summary (a file name
    that sorts after the previous one: TensorBoard reads a directory's files in name order)."""
    name = f"events.out.tfevents.{time.time():.0f}.{socket.gethostname()}.{generation:04d}.experiment"
    old = [p for p in root.glob("events.out.tfevents.*") if p.name != name]
    (root / name).unlink(missing_ok=True)  # one summary a file: TensorBoard keeps a tag's first
    data = HParamsPluginData(experiment=summary)
    write_events(root / name, [hparams_event(hp_metadata.EXPERIMENT_TAG, data, generation)])
    for path in old:
        path.unlink(missing_ok=True)


def hparams_event(tag: str, data: HParamsPluginData, step: int) -> Event:
    """The summary `add_hparams` writes, built here: tensorboard's own builder needs TensorFlow."""
    meta = hp_metadata.create_summary_metadata(data)
    value = Summary.Value(tag=tag, metadata=meta, tensor=hp_metadata.NULL_TENSOR)
    return _event(Summary(value=[value]), step)


def digest(key: str) -> str:
    """A short, stable name for an architecture's key (its session directory's suffix)."""
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


def scalars(values: dict[str, Any], step: int) -> Event:
    """One event of the finite `values` (tag -> number) at `step`."""
    summary = Summary(value=[Summary.Value(tag=k, simple_value=v) for k, v in values.items() if finite(v)])
    return _event(summary, step)


def describe(space: Any, row: dict[str, Any]) -> str:
    """The space's description of a row's genotype (NB201 arch string, OFA key)."""
    return space.describe(space.from_json(row["genotype"]))


def cost_name(objective: Any) -> str:
    """An objective's hparam / tag suffix: `cost_<metric>_<unit>`."""
    return f"cost_{objective.name}_{tag(objective.unit)}"


def tag(unit: str) -> str:
    """A unit as it goes into a tag (no spaces, `/` spelled `_per_`)."""
    return unit.replace(" ", "_").replace("/", "_per_")


def finite(v: Any) -> bool:
    """Whether `v` is a finite number (what TensorBoard is given)."""
    return isinstance(v, int | float) and math.isfinite(v)
