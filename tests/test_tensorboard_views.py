"""What TensorBoard shows of a search (callbacks/tensorboard.py), read back from the event files of tiny
real searches: per-generation images, the custom-scalars layout, the scalar tags, and the HParams
sessions (one per distinct architecture) in `hparams/` below the run, none in the run's own directory,
and the experiment summary in `hparams/` itself that orders the HParams table's columns and picks those
shown; for the GA, NSGA-II without a budget, and a resumed run."""

from __future__ import annotations

from pathlib import Path

import pytest
from lightning_nas.callbacks.tensorboard import TensorBoardSearchLogger
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.custom_scalar import metadata as cs_metadata
from tensorboard.plugins.hparams import api_pb2, backend_context
from tensorboard.plugins.hparams import metadata as hp_metadata

from lightning_nas.search.engine import Search
from tests.run_fixtures import rows_of

pytestmark = pytest.mark.usefixtures("one_torch_thread")

IMAGES = ("images/rmi_vs_cost", "images/op_distribution")
RANK, IN_POPULATION = "population/rank", "population/in_population"
CKA = ("cka_0", "cka_1", "cka_2")  # NB201: one per compared layer
COLUMNS = ("arch", "rmi", "fitness", "feasible", "cost_flops_MFLOPs", "generation", *CKA)  # the table's order
GENERATION_TAGS = ("best_fitness", "mean_fitness", "worst_fitness", "best_rmi", "best_cost_flops_MFLOPs")


def load(directory: Path) -> EventAccumulator:
    acc = EventAccumulator(str(directory), size_guidance={"images": 0, "scalars": 0, "tensors": 0})
    acc.Reload()
    return acc


def run(tiny_cfg, tmp_path: Path, name: str, *extra: str) -> tuple[Path, Path]:
    """A tiny search with the logger; (its run directory, its TensorBoard directory)."""
    Search(tiny_cfg("--run_dir", str(tmp_path / name), *extra), callbacks=[TensorBoardSearchLogger()]).run()
    return tmp_path / name, tmp_path / "tb_logs" / name


def layout_charts(acc: EventAccumulator) -> dict[str, list[str]]:
    """The custom-scalars layout: chart title -> its tag expressions (the last one written)."""
    layout = layout_pb2.Layout()
    layout.ParseFromString(acc.Tensors(cs_metadata.CONFIG_SUMMARY_TAG)[-1].tensor_proto.string_val[0])
    return {c.title: list(c.multiline.tag) for cat in layout.category for c in cat.chart}


def sessions(tb: Path) -> dict[str, EventAccumulator]:
    """HParams sessions below `tb`: directory name -> its events."""
    return {d.name: load(d) for d in sorted((tb / "hparams").iterdir()) if d.is_dir()}


def start_info(acc: EventAccumulator) -> dict[str, object]:
    content = acc.PluginTagToContent(hp_metadata.PLUGIN_NAME)[hp_metadata.SESSION_START_INFO_TAG]
    info = hp_metadata.parse_session_start_info_plugin_data(content)
    return {k: v.WhichOneof("kind") and getattr(v, v.WhichOneof("kind")) for k, v in info.hparams.items()}


def assert_main_run(tb: Path, generations: int) -> EventAccumulator:
    acc = load(tb)
    tags = acc.Tags()
    for tag in IMAGES:  # one image per generation, at steps 0..generations-1
        assert [e.step for e in acc.Images(tag)] == list(range(generations)), tag
        assert acc.Images(tag)[-1].width > 300 and acc.Images(tag)[-1].encoded_image_string[:4] == b"\x89PNG"
    for name in GENERATION_TAGS:
        assert [e.step for e in acc.Scalars(f"generation/{name}")] == list(range(generations)), name
    assert {"candidate/rmi", "candidate/fitness", "candidate/cost_flops_MFLOPs"} <= set(tags["scalars"])
    with pytest.raises(KeyError):  # the HParams sessions are not in the run's own directory
        acc.PluginTagToContent(hp_metadata.PLUGIN_NAME)
    assert RANK not in tags["scalars"] and IN_POPULATION not in tags["scalars"]
    return acc


def assert_sessions(tb: Path, run_dir: Path, hall_of_fame: int) -> dict[str, EventAccumulator]:
    """The sessions are those of the best `hall_of_fame` so far and of the last population, each once,
    with the values of the architecture's first row, its rank and whether the population holds it."""
    rows = rows_of(run_dir)
    first = {r["key"]: r for r in reversed(rows)}  # each key's first row
    ranked = sorted(first, key=lambda k: (-first[k]["fitness"], rows.index(first[k])))
    last_generation = max(r["generation"] for r in rows)
    population = {r["key"] for r in rows if r["generation"] == last_generation}
    expected = set(ranked[:hall_of_fame]) | population
    found = sessions(tb)
    archs = {}
    for name, acc in found.items():
        info = start_info(acc)
        assert set(info) == {"arch", "generation", "feasible", "rmi", "fitness", "cost_flops_MFLOPs", *CKA}
        assert name.startswith(f"g{int(info['generation']):03d}_")
        assert info["arch"] not in archs  # never twice
        archs[info["arch"]] = (info, acc)
        assert sorted(acc.Tags()["scalars"]) == [IN_POPULATION, RANK]  # no scalar chart per value
        assert len(acc.PluginTagToContent(hp_metadata.PLUGIN_NAME)) == 2  # start and end, once each
    assert set(archs) == expected  # NB201: the description is the arch string, the key
    assert_experiment(tb, set(archs))
    for arch, (info, acc) in archs.items():
        row = first[arch]
        assert info["generation"] == row["generation"] and info["feasible"] == row["feasible"]
        for column in ("rmi", "cka_1", "fitness"):
            assert info[column] == pytest.approx(row[column], rel=1e-6)
        assert info["cost_flops_MFLOPs"] == pytest.approx(row["cost_flops"], rel=1e-6)
        assert acc.Scalars(RANK)[-1].step == acc.Scalars(IN_POPULATION)[-1].step == last_generation
        assert acc.Scalars(RANK)[-1].value == ranked.index(arch) + 1
        assert acc.Scalars(IN_POPULATION)[-1].value == (arch in population)
    return found


def assert_experiment(tb: Path, archs: set[str]) -> None:
    """One experiment summary, directly in `hparams/`: the columns in the table's order, the first five
    marked `differs` (TensorBoard lists and ticks those: RMI and fitness among them), the architectures
    then in the table as the `arch` domain, rank and population membership as metrics."""
    assert len(list((tb / "hparams").glob("events.out.tfevents.*"))) == 1  # replaced, not added to
    content = load(tb / "hparams").PluginTagToContent(hp_metadata.PLUGIN_NAME)
    assert list(content) == [hp_metadata.EXPERIMENT_TAG]
    experiment = hp_metadata.parse_experiment_plugin_data(content[hp_metadata.EXPERIMENT_TAG])
    infos = {i.name: i for i in experiment.hparam_infos}
    assert tuple(infos) == COLUMNS
    assert [i.name for i in experiment.hparam_infos if i.differs] == list(COLUMNS[:5])
    assert infos["arch"].type == api_pb2.DATA_TYPE_STRING and set(infos["arch"].domain_discrete) == archs
    assert infos["feasible"].type == api_pb2.DATA_TYPE_BOOL
    assert list(infos["feasible"].domain_discrete) == [False, True]
    assert all(infos[c].type == api_pb2.DATA_TYPE_FLOAT64 for c in COLUMNS[4:] + ("rmi", "fitness"))
    assert [(m.name.group, m.name.tag) for m in experiment.metric_infos] == [("", RANK), ("", IN_POPULATION)]
    # what the dashboard gets: TensorBoard's own reordering (differs first, then by name); it ticks five
    backend_context._sort_and_reduce_to_hparams_limit(experiment)
    shown = [i.name for i in experiment.hparam_infos]
    assert shown == ["arch", "cost_flops_MFLOPs", "feasible", "fitness", "rmi", *CKA, "generation"]


def test_ga_search_writes_images_layout_scalars_and_hparams_sessions(tiny_cfg, tmp_path):
    run_dir, tb = run(tiny_cfg, tmp_path, "ga", "--search.hall_of_fame_size", "2")
    acc = assert_main_run(tb, 2)
    assert [e.step for e in acc.Scalars("generation/budget_flops_MFLOPs")] == [0, 1]
    charts = layout_charts(acc)
    assert charts == {
        "fitness: best and mean": ["^generation/best_fitness$", "^generation/mean_fitness$"],
        "RMI of the best": ["^generation/best_rmi$"],
        "flops (MFLOPs) of the best vs the budget": [
            "^generation/best_cost_flops_MFLOPs$",
            "^generation/budget_flops_MFLOPs$",
        ],
    }
    found = assert_sessions(tb, run_dir, 2)
    assert len(found) < len({r["key"] for r in rows_of(run_dir)})  # some left the table

    # resumed for a third generation: earlier tags are kept, images go on, no session is written twice
    resumed = tiny_cfg("--resume", str(run_dir), "--search.generations", "3", "--search.hall_of_fame_size=2")
    Search(resumed, callbacks=[TensorBoardSearchLogger()]).run()
    assert_main_run(tb, 3)
    assert_sessions(tb, run_dir, 2)


def test_nsga2_without_budget_and_without_images(tiny_cfg, tmp_path):
    nsga2 = ("--search.algorithm", "nsga2", "--cost.budget", "null")
    run_dir, tb = run(tiny_cfg, tmp_path, "nsga2", *nsga2)
    acc = assert_main_run(tb, 2)
    assert "generation/budget_flops_MFLOPs" not in acc.Tags()["scalars"]
    assert [e.step for e in acc.Scalars("pareto/hypervolume")] == [0, 1]
    charts = layout_charts(acc)
    assert charts["flops (MFLOPs) of the best"] == ["^generation/best_cost_flops_MFLOPs$"]
    assert charts["Pareto front: hypervolume"] == ["^pareto/hypervolume$"]
    assert_sessions(tb, run_dir, 10)  # the default hall of fame: every architecture here

    plain_cfg = tiny_cfg("--run_dir", str(tmp_path / "plain"), *nsga2)
    Search(plain_cfg, callbacks=[TensorBoardSearchLogger(images=False)]).run()
    plain = load(tmp_path / "tb_logs" / "plain")
    assert plain.Tags()["images"] == [] and "generation/best_rmi" in plain.Tags()["scalars"]
