"""Issue 10, the bad-input table: every malformed value we know of, for every CLI, in one place.

Each case is driven in-process through the CLI's `main(argv)` on the tiny config (tests/conftest.py) and
must end with exit code 2, exactly one line on stderr starting with `error: ` that names the key or file
(the case's needle), no traceback anywhere, and nothing left behind under the test's folder: no run
directory, no hidden `.NAME.*.partial` staging folder, no report or export (the reference and evaluation
caches under `cache/` and an empty `--runs_root` may stay). `{tmp}` in a case's arguments is the test's tmp_path, where `make_files`
has put the damaged inputs the cases name."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import lightning.pytorch  # noqa: F401  # now: its log handler would keep the stderr of the case that imported it
import pytest

from lightning_nas.config import SpaceConfig, config_to_yaml, parse_config
from tests.conftest import tiny_overrides

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|"
TINY_SPACE = ["--space.full_C", "4", "--space.full_N", "1"]


def cli_main(name: str) -> Callable[[list[str]], int]:
    if name == "search":
        from lightning_nas.search.cli import main
    elif name == "score":
        from lightning_nas.score import main
    elif name == "finetune":
        from lightning_nas.finetune import main
    elif name == "report":
        from lightning_nas.report import main
    elif name == "precompute":
        from lightning_nas.precompute import main
    else:
        from lightning_nas.export.cli import main
    return main


def base_argv(cli: str, tmp: Path) -> list[str]:
    """What every case of `cli` starts from: the tiny search config (cheap if a case is not refused)."""
    tiny = [*tiny_overrides(tmp), "--threads", "1", "--search.generations", "1"]
    return {
        "search": tiny,
        "score": [*tiny, "--arch", ARCH],
        "precompute": [*tiny, "--limit", "2"],
        "finetune": [*tiny, *TINY_SPACE, "--finetune.preset", "quick", "--finetune.epochs", "1", "--finetune.progress_bar", "false"],
        "report": [],
        "export": [],
    }[cli]


def network_doc(genotype: object = (3, 3, 1, 1, 2, 4), **changes: object) -> dict[str, object]:
    space = asdict(SpaceConfig(C=4, N=1, full_C=4, full_N=1))
    data = {"name": "digits", "num_classes": 10, "in_channels": 1, "resolution": 16}
    doc = {"format": "lightning_nas.network/1", "space": space, "data": data, "genotype": list(genotype), "full_size": True}  # type: ignore[call-overload]
    return {**doc, **changes}


def make_files(tmp: Path) -> None:
    """The damaged inputs the cases name, all under tmp (nothing under tmp/runs, which must stay empty)."""
    files = tmp / "in"
    files.mkdir()
    (files / "empty.yaml").write_text("")
    (files / "comment.yaml").write_text("# nothing but a comment\n")
    (files / "invalid.yaml").write_text("search: [1, 2\n  population: {\n")
    (files / "list.yaml").write_text("- search\n- population\n")
    (files / "scalar.yaml").write_text("42\n")
    (files / "binary.yaml").write_bytes(b"\xff\xfe\x00\x81garbage\x00")
    (files / "unknown_key.yaml").write_text("search:\n  popsize: 4\n")
    (files / "bad_section.yaml").write_text("search: 12\n")
    (files / "bad_value.yaml").write_text("search:\n  population: many\n")
    (files / "garbage.pt").write_bytes(bytes(range(256)) * 4)
    (files / "empty.pt").write_bytes(b"")
    import torch

    torch.save([1, 2, 3], files / "list.pt")
    (files / "bad_table.csv").write_text("arch_index,cifar10.edgetpu_latency\nzero,1.0\n")
    (files / "no_column.csv").write_text("arch_index,cifar10.other\n0,1.0\n")

    config = config_to_yaml(parse_config(tiny_overrides(tmp))[0])
    (files / "empty_dir").mkdir()
    unfinished = files / "unfinished"
    unfinished.mkdir()
    (unfinished / "config.yaml").write_text(config)
    broken_config = files / "broken_config"
    broken_config.mkdir()
    (broken_config / "config.yaml").write_bytes(b"\xff\xfe{{{")
    list_config = files / "list_config"
    list_config.mkdir()
    (list_config / "config.yaml").write_text("- a\n- b\n")
    for name, results in [("garbage_results", "{not json"), ("list_results", "[1, 2]"), ("empty_results", "{}")]:
        run = files / name
        run.mkdir()
        (run / "config.yaml").write_text(config)
        (run / "results.json").write_text(results)

    garbage_ckpt = str(files / "garbage.pt")
    finetunes: dict[str, object] = {
        "ft_garbage": "{not json",
        "ft_list": [1, 2],
        "ft_empty": {},
        "ft_no_ckpt": {"network": network_doc(), "checkpoint": str(files / "missing.ckpt")},
        "ft_garbage_ckpt": {"network": network_doc(), "checkpoint": garbage_ckpt},
        "ft_list_ckpt": {"network": network_doc(), "checkpoint": str(files / "list.pt")},
        "ft_unknown_op": {"network": network_doc((3, 3, 1, 1, 2, 9)), "checkpoint": garbage_ckpt},
        "ft_short": {"network": network_doc((3, 3, 1)), "checkpoint": garbage_ckpt},
        "ft_letters": {"network": network_doc(("a", "b", "c", "d", "e", "f")), "checkpoint": garbage_ckpt},
        "ft_format": {"network": network_doc(format="something/9"), "checkpoint": garbage_ckpt},
        "ft_space": {"network": network_doc(space={"name": "nb201", "C": "wide"}), "checkpoint": garbage_ckpt},
        "ft_space_name": {"network": network_doc(space={"name": "nope"}), "checkpoint": garbage_ckpt},
        "ft_network_list": {"network": [1, 2], "checkpoint": garbage_ckpt},
    }
    for name, record in finetunes.items():
        run = files / name
        run.mkdir()
        (run / "finetune.json").write_text(record if isinstance(record, str) else json.dumps(record))


def snapshot(tmp: Path) -> set[Path]:
    """Every path under tmp except the caches a refused run may have filled (reference, evaluations)."""
    return {p for p in tmp.rglob("*") if "cache" not in p.relative_to(tmp).parts}


class TookTooLong(BaseException):
    """Raised in a case that is still running after CASE_SECONDS (a BaseException: nothing swallows it)."""


CASE_SECONDS = 120  # a case that is not refused runs the tiny search: seconds


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def stop(_signum: int, _frame: object) -> None:
        raise TookTooLong(f"still running after {seconds} s: the bad value was accepted")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


C = pytest.param

# (cli, arguments after the CLI's base arguments, what the one error line must contain)
CASES = [
    # ---- search: the GA section -----------------------------------------------------------
    C("search", ["--search.population", "0"], "search.population", id="search-population-0"),
    C("search", ["--search.population", "1"], "search.population", id="search-population-1"),
    C("search", ["--search.population", "200000"], "search.population", id="search-population-200000"),
    C("search", ["--search.population", "abc"], "search.population", id="search-population-abc"),
    C("search", ["--search.population", "2.5"], "search.population", id="search-population-float"),
    C("search", ["--search.population", "null"], "search.population", id="search-population-null"),
    C("search", ["--search.generations", "0"], "search.generations", id="search-generations-0"),
    C("search", ["--search.generations", "-3"], "search.generations", id="search-generations-negative"),
    C("search", ["--search.tournament_size", "0"], "search.tournament_size", id="search-tournament-0"),
    C("search", ["--search.elites", "-1"], "search.elites", id="search-elites-negative"),
    C("search", ["--search.elites", "4"], "search.elites", id="search-elites-population"),
    C("search", ["--search.crossover_prob", "1.5"], "search.crossover_prob", id="search-crossover-1.5"),
    C("search", ["--search.crossover_prob", "nan"], "search.crossover_prob", id="search-crossover-nan"),
    C("search", ["--search.mutation_rate", "-0.1"], "search.mutation_rate", id="search-mutation-negative"),
    C("search", ["--search.mutation_rate", "inf"], "search.mutation_rate", id="search-mutation-inf"),
    C("search", ["--search.hall_of_fame_size", "0"], "search.hall_of_fame_size", id="search-hof-0"),
    C("search", ["--search.constraint_handling", "ignore"], "search.constraint_handling", id="search-handling-unknown"),
    C("search", ["--search.constraint_handling", "rejection", "--search.max_rejection_draws", "0"], "search.max_rejection_draws", id="search-rejection-draws-0"),
    C("search", ["--search.backend", "slurm"], "search.backend", id="search-backend-unknown"),
    C("search", ["--search.workers", "0"], "search.workers", id="search-workers-0"),
    C("search", ["--search.workers", "many"], "search.workers", id="search-workers-many"),
    C("search", ["--search.threads_per_worker", "0"], "search.threads_per_worker", id="search-threads-per-worker-0"),
    C("search", ["--threads", "0"], "threads", id="search-threads-0"),
    C("search", ["--threads", "-2"], "threads", id="search-threads-negative"),
    C("search", ["--seed", "abc"], "seed", id="search-seed-abc"),
    # ---- search: proxy and probe ----------------------------------------------------------
    C("search", ["--proxy.steps", "-1"], "proxy.steps", id="proxy-steps-negative"),
    C("search", ["--proxy.beta", "2"], "proxy.beta", id="proxy-beta-2"),
    C("search", ["--proxy.beta", "nan"], "proxy.beta", id="proxy-beta-nan"),
    C("search", ["--proxy.lr", "-0.1"], "proxy.lr", id="proxy-lr-negative"),
    C("search", ["--proxy.lr", "nan"], "proxy.lr", id="proxy-lr-nan"),
    C("search", ["--proxy.momentum", "-1"], "proxy.momentum", id="proxy-momentum-negative"),
    C("search", ["--proxy.weight_decay", "-1"], "proxy.weight_decay", id="proxy-weight-decay-negative"),
    C("search", ["--proxy.score_bn_mode", "frozen"], "proxy.score_bn_mode", id="proxy-bn-mode-unknown"),
    C("search", ["--proxy.score_on", "test"], "proxy.score_on", id="proxy-score-on-unknown"),
    C("search", ["--search.capacity_weight", "-1"], "search.capacity_weight", id="search-capacity-weight-negative"),
    C("search", ["--proxy.accelerator", "tpu"], "proxy.accelerator", id="proxy-accelerator-tpu"),
    C("search", ["--proxy.accelerator", "mps"], "proxy.accelerator", id="proxy-accelerator-absent"),
    C("search", ["--proxy.candidates_per_gpu", "0"], "proxy.candidates_per_gpu", id="proxy-candidates-per-gpu-0"),
    C("search", ["--probe.batch_size", "0"], "probe.batch_size", id="probe-batch-size-0"),
    C("search", ["--probe.pool", "0"], "probe.pool", id="probe-pool-0"),
    C("search", ["--probe.pool", "8"], "probe.pool", id="probe-pool-below-batch-size"),
    C("search", ["--probe.pool", "100000"], "probe.pool", id="probe-pool-above-dataset"),
    # ---- search: costs --------------------------------------------------------------------
    C("search", ["--cost.budget", "nan"], "cost.budget", id="cost-budget-nan"),
    C("search", ["--cost.budget", "inf"], "cost.budget", id="cost-budget-inf"),
    C("search", ["--cost.budget", "-1"], "cost.budget", id="cost-budget-negative"),
    C("search", ["--cost.budget", "0"], "cost.budget", id="cost-budget-0"),
    C("search", ["--cost.budget", "null"], "cost.budget", id="cost-budget-null"),
    C("search", ["--cost.budget", "abc"], "cost.budget", id="cost-budget-abc"),
    C("search", ["--cost.budget", "0.0001"], "cost.budget", id="cost-budget-below-cheapest"),
    C("search", ["--cost.metric", "watts"], "cost.metric", id="cost-metric-unknown"),
    C("search", ["--cost.metric", "edgetpu_latency", "--cost.dataset", "cifar10"], "cost.table", id="cost-table-absent"),
    C("search", ["--cost.metric", "edgetpu_latency", "--cost.dataset", "cifar10", "--cost.table", "{tmp}/in/missing.csv"], "missing.csv", id="cost-table-missing-file"),
    C("search", ["--cost.metric", "edgetpu_latency", "--cost.dataset", "cifar10", "--cost.table", "{tmp}/in/bad_table.csv"], "bad_table.csv", id="cost-table-bad-index"),
    C("search", ["--cost.metric", "edgetpu_latency", "--cost.dataset", "cifar10", "--cost.table", "{tmp}/in/no_column.csv"], "edgetpu_latency", id="cost-table-no-column"),
    C("search", ["--cost.metric", "edgetpu_latency", "--cost.dataset", "cifar10", "--cost.table", "{tmp}/in/garbage.pt"], "garbage.pt", id="cost-table-garbage"),
    C("search", ["--cost.metric", "edgetpu_latency", "--cost.dataset", "mnist", "--cost.table", "{tmp}/in/bad_table.csv"], "cost.dataset", id="cost-dataset-unknown"),
    C("search", ["--cost.extra", "not a list"], "cost.extra", id="cost-extra-not-a-list"),
    C("search", ["--cost.extra", '[{"metric": "params", "budget": "x"}]'], "cost.extra", id="cost-extra-budget-text"),
    C("search", ["--cost.extra", '[{"metric": "params", "budget": null}]'], "cost.extra[0].budget", id="cost-extra-budget-null"),
    C("search", ["--cost.extra", '[{"metric": "params", "budget": -2}]'], "cost.extra[0].budget", id="cost-extra-budget-negative"),
    C("search", ["--cost.extra", '[{"metric": "bogus", "budget": 1}]'], "cost.extra[0].metric", id="cost-extra-metric-unknown"),
    C("search", ["--cost.extra", '[{"metric": "params", "budget": 1, "colour": "red"}]'], "colour", id="cost-extra-unknown-key"),
    C("search", ["--cost.metric", "measured_latency", "--cost.device", "tpu"], "cost.device", id="cost-device-tpu"),
    C("search", ["--cost.metric", "measured_latency", "--cost.repeats", "0"], "cost.repeats", id="cost-repeats-0"),
    C("search", ["--cost.metric", "measured_latency", "--cost.warmup", "-1"], "cost.warmup", id="cost-warmup-negative"),
    C("search", ["--cost.normalized", "maybe"], "cost.normalized", id="cost-normalized-maybe"),
    C("search", ["--cost.metric", "ofa_latency"], "ofa_latency", id="cost-ofa-latency-on-nb201"),
    # ---- search: data ---------------------------------------------------------------------
    C("search", ["--data.name", "mnist"], "mnist", id="data-name-unknown"),
    C("search", ["--data.name", "cifar10", "--data.root", "{tmp}/in/no-such-dir"], "no-such-dir", id="data-root-missing"),
    C("search", ["--data.name", "cifar10", "--data.root", "{tmp}/in/empty_dir"], "empty_dir", id="data-root-empty"),
    C("search", ["--data.resolution", "0"], "data.resolution", id="data-resolution-0"),
    C("search", ["--data.resolution", "-16"], "data.resolution", id="data-resolution-negative"),
    C("search", ["--data.val_fraction", "1.5"], "data.val_fraction", id="data-val-fraction-1.5"),
    C("search", ["--data.val_fraction", "-0.1"], "data.val_fraction", id="data-val-fraction-negative"),
    C("search", ["--data.val_fraction", "1"], "data.val_fraction", id="data-val-fraction-1"),
    C("search", ["--data.batch_size", "0"], "data.batch_size", id="data-batch-size-0"),
    C("search", ["--data.num_workers", "-1"], "data.num_workers", id="data-num-workers-negative"),
    # ---- search: space --------------------------------------------------------------------
    C("search", ["--space.name", "darts"], "darts", id="space-name-unknown"),
    C("search", ["--space.C", "0"], "space.C", id="space-C-0"),
    C("search", ["--space.N", "0"], "space.N", id="space-N-0"),
    C("search", ["--space.full_C", "-1"], "space.full_C", id="space-full-C-negative"),
    C("search", ["--space.full_N", "0"], "space.full_N", id="space-full-N-0"),
    # ---- search: reference ----------------------------------------------------------------
    C("search", ["--reference.arch", "resnet21"], "resnet21", id="reference-arch-unknown"),
    C("search", ["--reference.arch", "no_such_pkg.Model"], "no_such_pkg", id="reference-arch-bad-import"),
    C("search", ["--reference.checkpoint", "{tmp}/in/missing.pt"], "missing.pt", id="reference-checkpoint-missing"),
    C("search", ["--reference.checkpoint", "{tmp}/in/garbage.pt"], "garbage.pt", id="reference-checkpoint-garbage"),
    C("search", ["--reference.checkpoint", "{tmp}/in/empty.pt"], "empty.pt", id="reference-checkpoint-empty"),
    C("search", ["--reference.checkpoint", "{tmp}/in/list.pt"], "list.pt", id="reference-checkpoint-not-a-state-dict"),
    C("search", ["--reference.taps", "[layer1, layer2]"], "reference.taps", id="reference-taps-two"),
    C("search", ["--reference.taps", "[layer1, layer2, nope]"], "nope", id="reference-taps-unknown-layer"),
    C("search", ["--reference.bn_mode", "frozen"], "reference.bn_mode", id="reference-bn-mode-unknown"),
    C("search", ["--reference.train_epochs", "-1"], "reference.train_epochs", id="reference-epochs-negative"),
    C("search", ["--reference.train_lr", "-0.1"], "reference.train_lr", id="reference-lr-negative"),
    C("search", ["--reference.train_batch_size", "0"], "reference.train_batch_size", id="reference-batch-size-0"),
    # ---- search: command line, config files, run directories, resume ----------------------
    C("search", ["--nope", "1"], "nope", id="search-unknown-option"),
    C("search", ["--search.nope", "1"], "search.nope", id="search-unknown-key"),
    C("search", ["--finetune.accelerator", "tpu"], "finetune.accelerator", id="search-finetune-accelerator-tpu"),
    C("search", ["--config", "{tmp}/in/missing.yaml"], "missing.yaml", id="config-missing"),
    C("search", ["--config", "{tmp}/in/empty.yaml"], "empty.yaml", id="config-empty"),
    C("search", ["--config", "{tmp}/in/comment.yaml"], "comment.yaml", id="config-only-comment"),
    C("search", ["--config", "{tmp}/in/invalid.yaml"], "invalid.yaml", id="config-invalid-yaml"),
    C("search", ["--config", "{tmp}/in/list.yaml"], "list.yaml", id="config-list"),
    C("search", ["--config", "{tmp}/in/scalar.yaml"], "scalar.yaml", id="config-scalar"),
    C("search", ["--config", "{tmp}/in/binary.yaml"], "binary.yaml", id="config-not-utf8"),
    C("search", ["--config", "{tmp}/in/empty_dir"], "empty_dir", id="config-a-directory"),
    C("search", ["--config", "{tmp}/in/unknown_key.yaml"], "popsize", id="config-unknown-key"),
    C("search", ["--config", "{tmp}/in/bad_section.yaml"], "search", id="config-section-not-a-mapping"),
    C("search", ["--config", "{tmp}/in/bad_value.yaml"], "search.population", id="config-bad-value"),
    C("search", ["--resume", "{tmp}/in/no-such-run"], "no-such-run", id="resume-missing-dir"),
    C("search", ["--resume", "{tmp}/in/empty_dir"], "config.yaml", id="resume-no-config"),
    C("search", ["--resume", "{tmp}/in/broken_config"], "config.yaml", id="resume-config-not-utf8"),
    C("search", ["--resume", "{tmp}/in/list_config"], "config.yaml", id="resume-config-a-list"),
    C("search", ["--run_dir", "{tmp}/in/unfinished"], "unfinished", id="run-dir-exists"),
    C("search", ["--run_dir", "{tmp}/in/garbage.pt"], "garbage.pt", id="run-dir-is-a-file"),
    # ---- score ----------------------------------------------------------------------------
    C("score", ["--arch", "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|"], "conv", id="score-arch-unknown-op"),
    C("score", ["--arch", "|none~0|+|none~0|none~1|"], "arch", id="score-arch-too-few-nodes"),
    C("score", ["--arch", "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|"], "arch", id="score-arch-wrong-input"),
    C("score", ["--arch", "[0, 1, 2]"], "genotype", id="score-json-too-short"),
    C("score", ["--arch", "[0, 1, 2, 3, 4, 9]"], "genotype", id="score-json-op-out-of-range"),
    C("score", ["--arch", "[0, 1,"], "genotype", id="score-json-invalid"),
    C("score", ["--arch", '["a", 1, 2, 3, 4, 0]'], "genotype", id="score-json-letters"),
    C("score", ["--arch", "[[0], 1, 2, 3, 4, 0]"], "genotype", id="score-json-nested"),
    C("score", ["--arch", '{"ops": [0, 1, 2, 3, 4, 0]}'], "arch", id="score-json-object"),
    C("score", ["--arch", ""], "arch", id="score-arch-empty"),
    C("score", ["--arch", "[0, 1, 2, 3, 4, 0.5]"], "genotype", id="score-json-fraction"),
    C("score", ["--cost.budget", "nan"], "cost.budget", id="score-budget-nan"),
    C("score", ["--proxy.steps", "-1"], "proxy.steps", id="score-proxy-steps-negative"),
    C("score", ["--threads", "0"], "threads", id="score-threads-0"),
    C("score", ["--config", "{tmp}/in/list.yaml"], "list.yaml", id="score-config-list"),
    # ---- precompute -----------------------------------------------------------------------
    C("precompute", ["--limit", "0"], "--limit", id="precompute-limit-0"),
    C("precompute", ["--limit", "-5"], "--limit", id="precompute-limit-negative"),
    C("precompute", ["--limit", "abc"], "limit", id="precompute-limit-abc"),
    C("precompute", ["--sample_seed", "x"], "sample_seed", id="precompute-sample-seed-x"),
    C("precompute", ["--cache.enabled", "false"], "cache.enabled", id="precompute-cache-disabled"),
    C("precompute", ["--search.workers", "0"], "search.workers", id="precompute-workers-0"),
    C("precompute", ["--cost.budget", "-1"], "cost.budget", id="precompute-budget-negative"),
    # ---- finetune -------------------------------------------------------------------------
    C("finetune", [], "--run_dir", id="finetune-neither-run-nor-arch"),
    C("finetune", ["--run_dir", "{tmp}/in/no-such-run"], "no-such-run", id="finetune-run-dir-missing"),
    C("finetune", ["--run_dir", "{tmp}/in/empty_dir"], "config.yaml", id="finetune-run-dir-no-config"),
    C("finetune", ["--run_dir", "{tmp}/in/unfinished"], "results.json", id="finetune-run-unfinished"),
    C("finetune", ["--run_dir", "{tmp}/in/garbage_results"], "results.json", id="finetune-results-garbage"),
    C("finetune", ["--run_dir", "{tmp}/in/empty_results"], "results.json", id="finetune-results-empty"),
    C("finetune", ["--run_dir", "{tmp}/in/broken_config", "--arch", ARCH], "config.yaml", id="finetune-config-not-utf8"),
    C("finetune", ["--arch", "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|"], "conv", id="finetune-arch-unknown-op"),
    C("finetune", ["--arch", "[0, 1, 2]"], "genotype", id="finetune-arch-too-short"),
    C("finetune", ["--arch", ARCH, "--finetune.preset", "long"], "finetune.preset", id="finetune-preset-unknown"),
    C("finetune", ["--arch", ARCH, "--finetune.epochs", "0"], "finetune.epochs", id="finetune-epochs-0"),
    C("finetune", ["--arch", ARCH, "--finetune.batch_size", "0"], "finetune.batch_size", id="finetune-batch-size-0"),
    C("finetune", ["--arch", ARCH, "--finetune.lr", "-1"], "finetune.lr", id="finetune-lr-negative"),
    C("finetune", ["--arch", ARCH, "--finetune.beta", "nan"], "finetune.beta", id="finetune-beta-nan"),
    C("finetune", ["--arch", ARCH, "--finetune.limit_train_batches", "-1"], "finetune.limit_train_batches", id="finetune-limit-negative"),
    C("finetune", ["--arch", ARCH, "--finetune.test_checkpoint", "first"], "finetune.test_checkpoint", id="finetune-test-checkpoint-unknown"),
    C("finetune", ["--arch", ARCH, "--finetune.test_checkpoint", "best", "--data.val_fraction", "0"], "finetune.test_checkpoint", id="finetune-best-without-val"),
    C("finetune", ["--arch", ARCH, "--finetune.accelerator", "tpu"], "finetune.accelerator", id="finetune-accelerator-tpu"),
    C("finetune", ["--arch", ARCH, "--finetune.precision", "7-bit"], "finetune.precision", id="finetune-precision-unknown"),
    C("finetune", ["--arch", ARCH, "--finetune.onnx_opset", "3"], "finetune.onnx_opset", id="finetune-opset-3"),
    C("finetune", ["--arch", ARCH, "--finetune.nb201_dataset", "cifar10", "--finetune.nb201_table", "{tmp}/in/missing.csv"], "missing.csv", id="finetune-nb201-table-missing"),
    # ---- report ---------------------------------------------------------------------------
    C("report", [], "run_dirs", id="report-no-run-dir"),
    C("report", ["{tmp}/in/no-such-run"], "no-such-run", id="report-run-dir-missing"),
    C("report", ["{tmp}/in/empty_dir"], "config.yaml", id="report-no-config"),
    C("report", ["{tmp}/in/unfinished"], "results.json", id="report-unfinished"),
    C("report", ["{tmp}/in/garbage_results"], "results.json", id="report-results-garbage"),
    C("report", ["{tmp}/in/list_results"], "results.json", id="report-results-a-list"),
    C("report", ["{tmp}/in/empty_results"], "results.json", id="report-results-empty"),
    C("report", ["{tmp}/in/garbage_results", "--power_w", "-1"], "power", id="report-power-negative"),
    C("report", ["{tmp}/in/garbage_results", "--power_w", "abc"], "power_w", id="report-power-abc"),
    C("report", ["{tmp}/in/garbage_results", "--pue", "0"], "pue", id="report-pue-0"),
    C("report", ["{tmp}/in/garbage_results", "--carbon_g_per_kwh", "nan"], "carbon", id="report-carbon-nan"),
    C("report", ["{tmp}/in/garbage_results", "--nope"], "--nope", id="report-unknown-option"),
    C("report", ["{tmp}/in/unfinished", "{tmp}/in/garbage_results", "--out", "{tmp}/in/unfinished"], "--out", id="report-out-is-a-run"),
    # ---- export ---------------------------------------------------------------------------
    C("export", [], "run_dir", id="export-no-run-dir"),
    C("export", ["{tmp}/in/no-such-run"], "no-such-run", id="export-run-dir-missing"),
    C("export", ["{tmp}/in/unfinished"], "finetune.json", id="export-no-finetune-json"),
    C("export", ["{tmp}/in/ft_garbage"], "finetune.json", id="export-finetune-json-garbage"),
    C("export", ["{tmp}/in/ft_list"], "finetune.json", id="export-finetune-json-a-list"),
    C("export", ["{tmp}/in/ft_empty"], "finetune.json", id="export-finetune-json-empty"),
    C("export", ["{tmp}/in/ft_no_ckpt"], "missing.ckpt", id="export-checkpoint-missing"),
    C("export", ["{tmp}/in/ft_garbage_ckpt"], "garbage.pt", id="export-checkpoint-garbage"),
    C("export", ["{tmp}/in/ft_list_ckpt"], "list.pt", id="export-checkpoint-not-a-state-dict"),
    C("export", ["{tmp}/in/ft_no_ckpt", "--checkpoint", "{tmp}/in/empty.pt"], "empty.pt", id="export-checkpoint-option-empty"),
    C("export", ["{tmp}/in/ft_unknown_op"], "genotype", id="export-genotype-op-out-of-range"),
    C("export", ["{tmp}/in/ft_short"], "genotype", id="export-genotype-too-short"),
    C("export", ["{tmp}/in/ft_letters"], "genotype", id="export-genotype-letters"),
    C("export", ["{tmp}/in/ft_format"], "format", id="export-network-format-unknown"),
    C("export", ["{tmp}/in/ft_space"], "space", id="export-network-space-bad-value"),
    C("export", ["{tmp}/in/ft_space_name"], "nope", id="export-network-space-unknown"),
    C("export", ["{tmp}/in/ft_network_list"], "finetune.json", id="export-network-a-list"),
    C("export", ["{tmp}/in/ft_no_ckpt", "--opset", "3"], "--opset", id="export-opset-3"),
    C("export", ["{tmp}/in/ft_no_ckpt", "--opset", "abc"], "opset", id="export-opset-abc"),
    C("export", ["{tmp}/in/ft_no_ckpt", "--format", "tflite"], "--format", id="export-unknown-option"),
]  # fmt: skip


@pytest.mark.parametrize(("cli", "argv", "needle"), CASES)
def test_bad_input_is_one_error_line_exit_2_and_leaves_nothing(
    cli: str, argv: list[str], needle: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    make_files(tmp_path)
    needle = needle.replace("{tmp}", str(tmp_path))
    args = [*base_argv(cli, tmp_path), *(a.replace("{tmp}", str(tmp_path)) for a in argv)]
    before = snapshot(tmp_path)
    capfd.readouterr()
    main = cli_main(cli)
    try:
        with time_limit(CASE_SECONDS):
            code = main(args)
    except SystemExit as stop:
        code = stop.code
    except (Exception, TookTooLong) as exc:  # the CLI would end in a traceback (or run on)
        pytest.fail(f"uncaught {type(exc).__name__}: {' '.join(str(exc).split())[:1500]}")
    out, err = capfd.readouterr()
    lines = err.strip().splitlines()
    assert "Traceback" not in out + err, err[-3000:]
    assert code == 2, (code, err[-3000:])
    assert len(lines) == 1 and lines[0].startswith("error: "), err[-3000:]
    assert needle in lines[0], (needle, lines[0])
    left = snapshot(tmp_path) - before
    runs_root = tmp_path / "runs"
    if runs_root in left and not any(runs_root.iterdir()):
        left.remove(runs_root)  # an empty --runs_root is no run directory
    assert not left, sorted(map(str, left))


def test_the_table_covers_every_cli_with_at_least_70_cases() -> None:
    per_cli = {cli: sum(c.values[0] == cli for c in CASES) for cli in ("search", "score", "precompute", "finetune", "report", "export")}
    assert sum(per_cli.values()) >= 70 and min(per_cli.values()) >= 5, per_cli
