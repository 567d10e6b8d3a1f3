"""Fine-tune a searched NAS-Bench-201 architecture on the ../shared CIFAR-10 JPEGs within a CPU budget.

1. unpack `../shared/data/cifar10/cifar10-jpg.tar.gz` (once) to `--root`;
2. a small HW-EvRSNAS search on those images (ImageFolder, 32x32) with the shared pre-trained ResNet-20 as
   reference: proxy network C8/N1, FLOPs of the full-size C16/N5 network under `--budget` MFLOPs;
3. train the winner's full-size network (C16/N5) from scratch with the NAS-Bench-201 optimiser (SGD
   Nesterov 0.9, lr 0.1 cosine to 0, weight decay 5e-4) for `--epochs` epochs of `--train_batches`
   batches of `--batch_size` images (a CPU budget, not the 200-epoch recipe), then test it on all
   10,000 test images; NAS-Bench-201's own 200-epoch CIFAR-10 test accuracy is looked up beside it.

Prints one JSON summary and writes it to `--summary` (default benchmarks/results/finetune_cifar10/summary.json),
with command.txt, config.json and versions.json beside it. Every number comes from the run's finetune.json
and results.json. Default settings take ~10-15 minutes on 2 shared CPU cores.

    .venv/bin/python benchmarks/finetune_cifar10.py --profile small
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import torch
from _common import write_provenance

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


def unpack(archive: Path, root: Path) -> float:
    """Seconds spent unpacking (0 when `root` already holds train/ and test/)."""
    if (root / "train").is_dir() and (root / "test").is_dir():
        return 0.0
    start = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(root, filter="data")
    return time.perf_counter() - start


def search_overrides(args: argparse.Namespace, run_dir: Path) -> list[str]:
    return [
        "--name", "cifar10-finetune-benchmark",
        "--seed", str(args.seed),
        "--data.name", "imagefolder",
        "--data.root", str(args.root),
        "--data.resolution", "32",
        "--reference.arch", "resnet20",
        "--reference.checkpoint", str(SHARED / "reference" / "resnet20-12fca82f.th"),
        "--space.C", "8",
        "--space.N", "1",
        "--proxy.steps", str(args.proxy_steps),
        "--cost.metric", "flops",
        "--cost.budget", str(args.budget),
        "--search.population", str(args.population),
        "--search.generations", str(args.generations),
        "--run_dir", str(run_dir),
        "--tb_logs", str(args.work / "tb_logs"),
    ]  # fmt: skip


def finetune_overrides(args: argparse.Namespace, run_dir: Path) -> list[str]:
    return [
        "--config", str(run_dir / "config.yaml"),
        "--tb_logs", str(args.work / "tb_logs"),
        "--finetune.preset", "nb201",
        "--finetune.epochs", str(args.epochs),
        "--finetune.batch_size", str(args.batch_size),
        "--finetune.limit_train_batches", str(args.train_batches),
        "--finetune.limit_val_batches", str(args.val_batches),
        "--finetune.accelerator", "cpu",
        "--finetune.progress_bar", "false",
        "--finetune.nb201_table", str(SHARED / "nas-bench-201" / "nb201_accuracy_cost.csv.gz"),
        "--finetune.nb201_dataset", "cifar10",
    ]  # fmt: skip


def run_search(args: argparse.Namespace, run_dir: Path) -> dict[str, Any]:
    from lightning_nas.callbacks.progress import ConsoleProgress

    from lightning_nas.config import parse_config
    from lightning_nas.search.engine import Search

    cfg, _ = parse_config(search_overrides(args, run_dir))
    return Search(cfg, callbacks=[ConsoleProgress()]).run()


def run_finetune(args: argparse.Namespace, run_dir: Path) -> dict[str, Any]:
    from lightning_nas.config import parse_config
    from lightning_nas.training.finetune import finetune_run_dir

    cfg, _ = parse_config(finetune_overrides(args, run_dir), default_config=None)
    return finetune_run_dir(run_dir, cfg)


def summary(args: argparse.Namespace, results: dict[str, Any], ft: dict[str, Any], unpack_s: float) -> dict[str, Any]:
    bench = ft.get("benchmark_test_acc") or {}
    return {
        "arch": ft["arch"],
        "nb201_index": results["best"].get("nb201_index"),
        "search": {
            "population": args.population, "generations": args.generations, "proxy_steps": args.proxy_steps,
            "rmi": results["best"]["rmi"], "flops_M": results["best"]["cost"], "budget_M": results["budget"],
            "wall_seconds": round(results["wall_seconds"], 1),
        },
        "finetune": {
            "network": "full size C16/N5",
            "epochs": ft["epochs_completed"], "train_batches_per_epoch": args.train_batches, "batch_size": args.batch_size,
            "train_images_seen": ft["epochs_completed"] * args.train_batches * args.batch_size,
            "test_top1": round(ft["test_top1"], 2), "test_top5": round(ft["test_top5"], 2),
            "best_val_acc": round(ft["best_val_acc"], 2), "test_images": 10000,
            "train_seconds": round(ft["train_seconds"], 1), "test_seconds": round(ft["test_seconds"], 1),
            "data_seconds": round(ft["data_seconds"], 1), "wall_seconds": round(ft["wall_seconds"], 1),
            "params_M": ft["params_M"], "flops_M": ft["flops_M"], "device": ft["device"],
        },
        "nb201_200_epoch_test_acc": bench.get("value"),
        "torch_threads": torch.get_num_threads(),
        "unpack_seconds": round(unpack_s, 1),
        "run_dir": str(args.work / "run"),
    }


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", choices=("small",), default="small", help="one size (CPU budget): the defaults below")
    p.add_argument("--archive", type=Path, default=SHARED / "cifar10" / "cifar10-jpg.tar.gz")
    p.add_argument("--root", type=Path, default=Path("/tmp/cifar10-jpg"), help="where the JPEG tree is (unpacked here)")
    p.add_argument("--work", type=Path, default=Path("/tmp/finetune_cifar10"), help="run directory parent (replaced)")
    p.add_argument("--summary", type=Path, default=REPO / "benchmarks" / "results" / "finetune_cifar10" / "summary.json")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--population", type=int, default=8)
    p.add_argument("--generations", type=int, default=3)
    p.add_argument("--proxy_steps", type=int, default=50)
    p.add_argument("--budget", type=float, default=50.0, help="MFLOPs of the full-size network (NB201 CIFAR-10: 7.8-220.1)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--train_batches", type=int, default=50)
    p.add_argument("--val_batches", type=int, default=4)
    p.add_argument("--batch_size", type=int, default=128)
    p.add_argument("--threads", type=int, default=1, help="torch threads (1: cores shared with other jobs)")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    unpack_s = unpack(args.archive, args.root)
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    run_dir = args.work / "run"
    start = time.perf_counter()
    results = run_search(args, run_dir)
    print(f"search done in {time.perf_counter() - start:.1f}s: {results['best']['description']}", flush=True)
    ft = run_finetune(args, run_dir)
    out = summary(args, results, ft, unpack_s)
    out["total_seconds"] = round(time.perf_counter() - start, 1)
    text = json.dumps(out, indent=2)
    print(text)
    args.summary.parent.mkdir(parents=True, exist_ok=True)
    args.summary.write_text(text + "\n")
    write_provenance(args.summary.parent, argv, {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
