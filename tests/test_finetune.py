"""Fine-tuning the winner of a tiny finished search: one epoch through the CLI (finetune.json, checkpoints,
TensorBoard, NB201 benchmark accuracy side by side), checkpoint resume, the RMI term, the search
callback, and one-line errors for missing or unfinished run directories."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from lightning.pytorch import Callback

from lightning_nas.config import parse_config
from lightning_nas.errors import ConfigError
from lightning_nas.finetune import main
from lightning_nas.reference.resnet_cifar import cifar_resnet
from lightning_nas.rmi.cka import linear_cka
from lightning_nas.spaces.nb201.space import NB201Space
from lightning_nas.training.finetune import Target, choose_winner, resume_path, run_finetune
from lightning_nas.training.module import FinetuneModule, ReferenceTaps
from tests.run_fixtures import FINETUNE_TINY, results_of, shared_tiny_run

NB201_TABLE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "nas-bench-201" / "nb201_accuracy_cost.csv.gz"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_tiny_run(tmp_path_factory, "finetune")



def _table_value(arch: str) -> float:
    with gzip.open(NB201_TABLE, "rt", newline="") as f:
        return next(float(r["cifar10.test_acc"]) for r in csv.DictReader(f) if r["arch_str"] == arch)


def test_cli_one_epoch(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = ["--finetune.nb201_table", str(NB201_TABLE), "--finetune.nb201_dataset", "cifar10"] if NB201_TABLE.exists() else []
    argv = ["--run_dir", str(run_dir), *FINETUNE_TINY, "--finetune.export", "false", "--tb_logs", str(tmp_path / "tb"), *table]
    assert main(argv) == 0
    assert "test top-1" in capsys.readouterr().out
    rec = json.loads((run_dir / "finetune.json").read_text())
    best = results_of(run_dir)["best"]
    assert rec["arch"] == best["description"] and rec["source"] == "results.best"
    assert 0.0 <= rec["test_top1"] <= rec["test_top5"] <= 100.0 and 0.0 <= rec["best_val_acc"] <= 100.0
    assert (rec["epochs"], rec["epochs_completed"], rec["complete"]) == (1, 1, True)
    assert rec["wall_seconds"] > 0 and rec["resumed_from_epoch"] is None
    assert (rec["val_split"], rec["test_split"], rec["tested_checkpoint"]) == ("train holdout 10% (split_seed 0)", "test", "last")
    assert rec["flops_M"] == pytest.approx(best["cost"]) and rec["costs"][0]["value"] == pytest.approx(best["cost"])
    assert rec["params_M"] > 0
    assert Path(rec["checkpoint"]).name == "last.ckpt" and Path(rec["checkpoint"]).exists()
    assert Path(rec["checkpoints"]["best"]).exists()
    assert rec["recipe"]["lr"] == 0.1 and rec["recipe"]["nesterov"] and rec["recipe"]["weight_decay"] == 5e-4
    assert list((tmp_path / "tb" / run_dir.name / "finetune").glob("events.out.tfevents.*"))
    if table:
        bench = rec["benchmark_test_acc"]
        assert bench["value"] == pytest.approx(_table_value(best["description"]))
        assert "C16/N5" in bench["note"]  # the tiny run trains C4/N1


def test_cli_arch_without_run(tmp_path: Path) -> None:
    """`--arch` alone trains that architecture with the quick-start config in a new directory; the quick
    preset's fractions of batches become at least one batch on a dataset this small."""
    arch = "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|skip_connect~0|none~1|nor_conv_1x1~2|"
    argv = ["--arch", arch, "--runs_root", str(tmp_path / "runs"), "--tb_logs", str(tmp_path / "tb"),
            "--space.full_C", "4", "--space.full_N", "1", "--finetune.preset", "quick", "--finetune.epochs", "1",
            "--finetune.limit_test_batches", "1", "--finetune.export", "false", "--finetune.progress_bar", "false"]
    assert main(argv) == 0
    (out,) = (tmp_path / "runs").iterdir()
    rec = json.loads((out / "finetune.json").read_text())
    assert (rec["arch"], rec["source"], rec["dataset"]) == (arch, "--arch", "digits")
    # digits: 1293 training images = 11 batches of 128 (a quarter: 2), 144 validation images = 2 (a fifth: 1)
    assert rec["batches"] == {"train": 2, "val": 1, "test": 1, "batch_size": 128}
    assert (out / "finetune" / "checkpoints" / "last.ckpt").exists()


class _Batches(Callback):
    """Records the size of every training batch and counts the validation batches."""

    def __init__(self) -> None:
        self.train: list[int] = []
        self.val = 0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:  # noqa: ANN001
        self.train.append(len(batch[1]))

    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0) -> None:  # noqa: ANN001
        self.val += 1


def _tiny_target(run_dir: Path, tmp_path: Path, *overrides: str) -> tuple[object, Target]:
    cfg, _ = parse_config(["--config", str(run_dir / "config.yaml"), *FINETUNE_TINY, "--finetune.export", "false",
                           "--finetune.out_dir", str(tmp_path / "ft"), "--tb_logs", str(tmp_path / "tb"), *overrides])
    space = NB201Space(C=4, N=1, full_C=4, full_N=1, resolution=16)
    return cfg, Target(space.from_json(results_of(run_dir)["best"]["genotype"]), "results.best", tmp_path)


def test_rmi_finetune_trains_at_the_batch_size_it_reports(run_dir: Path, tmp_path: Path) -> None:
    """beta > 0 with a reference not cached yet: training the reference (batch 128) must not change the
    fine-tune's batch size (32), which finetune.json reports."""
    cfg, target = _tiny_target(run_dir, tmp_path, "--finetune.beta", "0.5", "--finetune.batch_size", "32",
                               "--reference.cache_dir", str(tmp_path / "cache"))
    batches = _Batches()
    rec = run_finetune(cfg, target, extra_callbacks=[batches])
    assert list((tmp_path / "cache" / "references").glob("*.pt"))  # the reference was trained here, just now
    assert batches.train == [32] * 3 and rec["batches"]["batch_size"] == 32


def test_without_a_validation_split_nothing_is_validated_and_the_last_epoch_is_tested(run_dir: Path, tmp_path: Path) -> None:
    cfg, target = _tiny_target(run_dir, tmp_path, "--data.val_fraction", "0")
    batches = _Batches()
    rec = run_finetune(cfg, target, extra_callbacks=[batches])
    assert batches.val == 0 and rec["batches"]["val"] == 0 and len(batches.train) == 3
    assert (rec["val_split"], rec["best_val_acc"], rec["checkpoints"]["best"]) == ("none", None, None)
    assert rec["tested_checkpoint"] == "last" and Path(rec["checkpoint"]).name == "last.ckpt"
    assert not (tmp_path / "ft" / "checkpoints" / "best.ckpt").exists()
    cfg.finetune.test_checkpoint = "best"  # would select on the test set: refused before training
    with pytest.raises(ConfigError, match=r"^finetune.test_checkpoint=best needs a validation split but data.val_fraction is 0; "
                                          r"set finetune.test_checkpoint=last or data.val_fraction in \(0, 1\)$"):
        run_finetune(cfg, target)


class _StopAfterFirstEpoch(Callback):
    def on_train_epoch_end(self, trainer, pl_module) -> None:  # noqa: ANN001
        trainer.should_stop = True


def test_resume_from_last_checkpoint(run_dir: Path, tmp_path: Path) -> None:
    cfg, _ = parse_config(["--config", str(run_dir / "config.yaml"), *FINETUNE_TINY, "--finetune.epochs", "2",
                           "--finetune.export", "false", "--finetune.out_dir", str(tmp_path / "ft"), "--tb_logs", str(tmp_path / "tb")])
    space = NB201Space(C=4, N=1, full_C=4, full_N=1, resolution=16)
    target = Target(space.from_json(results_of(run_dir)["best"]["genotype"]), "results.best", tmp_path)
    first = run_finetune(cfg, target, extra_callbacks=[_StopAfterFirstEpoch()])
    assert (first["epochs_completed"], first["complete"]) == (1, False)
    second = run_finetune(cfg, target)
    assert second["resumed_from_epoch"] == 1
    assert (second["epochs_completed"], second["complete"]) == (2, True)
    assert second["train_seconds"] > first["train_seconds"]  # the clock carried over through the checkpoint
    ckpt = torch.load(tmp_path / "ft" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["state_dict"] and not any(k.startswith("reference") for k in ckpt["state_dict"])
    # a finished fine-tune resumes without training and can test its best checkpoint instead
    cfg.finetune.test_checkpoint = "best"
    third = run_finetune(cfg, target)
    assert third["checkpoint"].endswith("best.ckpt") and third["epochs_completed"] == 2
    assert third["train_seconds"] - second["train_seconds"] < 5.0


def test_prefers_the_best_feasible_candidate() -> None:
    space = NB201Space()
    results = {"best": {"genotype": [3] * 6, "feasible": False}, "best_feasible": {"genotype": [1] * 6}}
    assert choose_winner(results, space, prefer_feasible=True) == ((1,) * 6, "results.best_feasible")
    assert choose_winner(results, space, prefer_feasible=False) == ((3,) * 6, "results.best")
    results["best"]["feasible"] = True
    assert choose_winner(results, space, prefer_feasible=True) == ((3,) * 6, "results.best")


def test_resume_refuses_another_setup(tmp_path: Path) -> None:
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.ckpt").write_bytes(b"")
    (tmp_path / "setup.json").write_text(json.dumps({"arch": "a", "recipe": {"lr": 0.1}}))
    assert resume_path(tmp_path, {"arch": "a", "recipe": {"lr": 0.1}}, resume=True) == tmp_path / "checkpoints" / "last.ckpt"
    assert resume_path(tmp_path, {"arch": "a", "recipe": {"lr": 0.2}}, resume=False) is None
    with pytest.raises(ConfigError, match="another fine-tuning setup"):
        resume_path(tmp_path, {"arch": "a", "recipe": {"lr": 0.2}}, resume=True)


def test_rmi_term_in_loss() -> None:
    torch.manual_seed(0)
    space = NB201Space(C=4, N=1, full_C=4, full_N=1, resolution=16)
    genotype = (3, 3, 1, 2, 4, 3)
    reference = ReferenceTaps(cifar_resnet("resnet20", 10, 3), ["layer1", "layer2", "layer3"])
    x, y = torch.randn(8, 3, 16, 16), torch.randint(0, 10, (8,))
    losses = {}
    for beta in (0.0, 1.0):
        torch.manual_seed(1)
        module = FinetuneModule(space.to_module(genotype, proxy=False), 10, space.tap_names(genotype, proxy=False), beta=beta)
        module.attach_reference(reference)
        losses[beta] = float(module.training_step((x, y), 0))
    torch.manual_seed(1)
    net = space.to_module(genotype, proxy=False)
    feats: list[torch.Tensor] = []
    for name in space.tap_names(genotype, proxy=False):
        dict(net.named_modules())[name].register_forward_hook(lambda _m, _i, out: feats.append(out))
    logits = net(x)
    expected_cka = sum(1.0 - float(linear_cka(r, f)) for r, f in zip(reference.features(x), feats, strict=True))
    assert losses[1.0] == pytest.approx(expected_cka, rel=1e-5)
    assert losses[0.0] == pytest.approx(float(torch.nn.functional.cross_entropy(logits, y)), rel=1e-5)
    assert not any(p is q for p in module.parameters() for q in reference.model.parameters())


def test_search_callbacks_finetune_then_report(run_dir: Path, tmp_path: Path) -> None:
    """`finetune.enabled` registers FinetuneWinner before SearchReport; at the search's end they fine-tune
    the winner (here with the RMI term) and write a report that includes it."""
    from lightning_nas.callbacks.defaults import default_callbacks
    from lightning_nas.callbacks.finetune import FinetuneWinner
    from lightning_nas.callbacks.report import SearchReport

    from lightning_nas.pipeline import build_problem

    run = tmp_path / "run"
    shutil.copytree(run_dir, run, ignore=shutil.ignore_patterns("finetune*", "export"))
    cfg, _ = parse_config(["--config", str(run / "config.yaml"), "--finetune.enabled", "true", *FINETUNE_TINY,
                           "--finetune.beta", "0.5", "--tb_logs", str(tmp_path / "tb")])
    kinds = [type(cb) for cb in default_callbacks(cfg)]
    assert kinds.index(FinetuneWinner) < kinds.index(SearchReport) == len(kinds) - 1
    search = SimpleNamespace(cfg=cfg, space=build_problem(cfg, check_budgets=False).space, run_dir=run)
    for cb in (FinetuneWinner(), SearchReport()):
        cb.on_search_start(search)
        cb.on_search_end(search, results_of(run))
    rec = json.loads((run / "finetune.json").read_text())
    assert rec["recipe"]["beta"] == 0.5 and rec["export"]["ok"] and rec["arch"] == results_of(run)["best"]["description"]
    report = (run / "report.md").read_text()
    assert f"| test top-1 (%) | {rec['test_top1']:.2f} |" in report
    assert json.loads((run / "device.json").read_text())["device_type"] == "cpu"


def test_errors_are_one_line(tmp_path: Path, run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    unfinished = tmp_path / "unfinished"
    shutil.copytree(run_dir, unfinished, ignore=shutil.ignore_patterns("results.json", "finetune*", "export"))
    cases = {
        ("--run_dir", str(tmp_path / "missing")): "run directory not found",
        ("--run_dir", str(unfinished)): "unfinished run",
        ("--run_dir", str(tmp_path)): "not a run directory",
        ("--run_dir", str(run_dir), "--finetune.preset", "slow"): "unknown finetune.preset 'slow'; valid: nb201, quick",
        ("--run_dir", str(run_dir), "--arch", "|bad~0|"): "invalid NAS-Bench-201 arch string",
        ("--run_dir", str(run_dir), "--finetune.nb201_table", str(tmp_path / "t.csv"), "--finetune.nb201_dataset", "cifar10"):
            "NAS-Bench-201 table not found",
        ("--run_dir", str(run_dir), "--finetune.nb201_table", str(tmp_path / "t.csv")): "set finetune.nb201_dataset",
        ("--run_dir", str(run_dir), "--data.val_fraction", "0", "--finetune.test_checkpoint", "best"):
            "finetune.test_checkpoint=best needs a validation split",
        (): "give --run_dir",
    }
    for argv, message in cases.items():
        with pytest.raises(SystemExit) as exc:
            main(list(argv))
        err = capsys.readouterr().err
        assert exc.value.code == 2, argv
        assert message in err and len(err.strip().splitlines()) == 1, (argv, err)
    assert "generation(s) checkpointed" in _last_error(main, ["--run_dir", str(unfinished)], capsys)


def _last_error(fn, argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:  # noqa: ANN001
    with pytest.raises(SystemExit):
        fn(argv)
    return capsys.readouterr().err
