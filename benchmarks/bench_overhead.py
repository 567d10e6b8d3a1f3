"""Lightning overhead of the RMI proxy: the same candidate and batch trained N_train steps by the
Lightning evaluator (`RMIEvaluator`) and by a plain PyTorch loop doing the same work, interleaved,
several repeats; prints the median time ratio. Also the seconds per candidate for the full-size
(C 16, N 5) and a reduced (C 8, N 1) NB201 network, batch 32. Results (one row per repeat, a summary
per size, command, config, versions) go to benchmarks/results/bench_overhead/.

`--accelerator gpu` trains both on a CUDA device (`--device`, default 0): the evaluator through its
Trainer (accelerator gpu), the plain loop with the network, batch and reference features moved there once,
and `torch.cuda.synchronize()` before every timer reading. Both then score on the CPU, as the evaluator
does (`module.cpu().score(...)`). `--batch` sets the probe batch (default 32). A run other than the
default (CPU, batch 32) goes to benchmarks/results/bench_overhead-<profile>-<accelerator>-b<batch>/ unless
`--out` says otherwise, so it never overwrites the stored CPU result.

    python benchmarks/bench_overhead.py --profile small --threads 1   # 8x1 (4 repeats) and 16x5 (2 repeats)
    python benchmarks/bench_overhead.py --sizes 8x1 --repeats 2 --out /tmp/o   # any size / repeats
    python benchmarks/bench_overhead.py --sizes 16x5 --accelerator gpu --batch 256 --repeats 3   # on a GPU
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from _common import SHARED, out_dir, write_csv, write_provenance

from lightning_nas.config import ProxyConfig
from lightning_nas.reference.loader import load_weights
from lightning_nas.reference.resnet_cifar import cifar_resnet
from lightning_nas.rmi.cka import linear_cka
from lightning_nas.rmi.evaluator import RMIEvaluator, candidate_seed
from lightning_nas.rmi.loss import rmi_loss
from lightning_nas.rmi.probe import ProbeBatch
from lightning_nas.rmi.taps import FeatureTaps
from lightning_nas.spaces.nb201.space import NB201Space, from_arch_str

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
RESNET20 = SHARED / "reference" / "resnet20-12fca82f.th"  # optional: a random ResNet-20 without it
PROFILES: dict[str, dict[str, Any]] = {"small": {"sizes": "8x1,16x5", "repeats": 4, "steps": 100}}


def plain_loop(
    space: NB201Space,
    probe: ProbeBatch,
    feats: list[torch.Tensor],
    cfg: ProxyConfig,
    seed: int,
    device: torch.device | str = "cpu",
) -> float:
    """What the evaluator does, without Lightning. On a CUDA `device` the network (initialised on the CPU
    from the same seed, as the evaluator's is), the batch and the reference features move there once, the
    steps run there, and the trained network is scored on the CPU, as the evaluator scores it."""
    device = torch.device(device)
    cuda = (
        [device.index if device.index is not None else torch.cuda.current_device()]
        if device.type == "cuda"
        else []
    )
    g = from_arch_str(ARCH)
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(candidate_seed(seed, space.key(g)))
        net = space.to_module(g)
    net.to(device)
    x, y = probe.x.to(device), probe.y.to(device)
    feats_on = [f.to(device) for f in feats]
    taps = FeatureTaps(net, space.tap_names(g))
    opt = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    net.train()
    for _ in range(cfg.steps):
        logits, out = taps(x)
        cka = torch.stack([linear_cka(r, f) for r, f in zip(feats_on, out, strict=True)])
        loss, _ = rmi_loss(cka, logits, y, cfg.beta)
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.cpu()  # scored on the CPU, as RMIEvaluator does (a no-op on the CPU)
    with torch.no_grad():
        _, out = taps(probe.x)
        return float(sum(linear_cka(r, f) for r, f in zip(feats, out, strict=True)))


def setup(
    C: int, N: int, batch: int = 32, reference: Path | None = None
) -> tuple[NB201Space, ProbeBatch, list[torch.Tensor]]:
    """The space, a seeded random CIFAR-shaped batch (3x32x32) and the ResNet-20's features on it (the
    pre-trained weights at `reference`, default RESNET20, when that file exists; else random ones)."""
    reference = RESNET20 if reference is None else reference
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(batch, 3, 32, 32, generator=gen), torch.randint(0, 10, (batch,), generator=gen)
    ref = cifar_resnet("resnet20")
    if reference.exists():
        load_weights(ref, reference)
    with torch.no_grad():
        _, feats = FeatureTaps(ref.train(), ["layer1", "layer2", "layer3"])(x)
    return NB201Space(C=C, N=N), ProbeBatch(x, y, list(range(batch))), [f.detach() for f in feats]


def timed(fn: Callable[[], Any], sync: Callable[[], None] | None = None) -> tuple[float, Any]:
    """(seconds, value) of fn(); `sync` (torch.cuda.synchronize on a GPU) runs before each timer reading."""
    if sync:
        sync()
    start = time.perf_counter()
    value = fn()
    if sync:
        sync()
    return time.perf_counter() - start, value


def compare(
    C: int,
    N: int,
    steps: int,
    repeats: int,
    *,
    accelerator: str = "cpu",
    device: int = 0,
    batch: int = 32,
    reference: Path | None = None,
    deadline: float | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """`repeats` interleaved (Lightning, plain) pairs after one untimed evaluator warm-up. `accelerator`
    "gpu": both on CUDA device `device`, synchronised before each timer reading. `deadline`
    (time.monotonic()): start no repeat that the last one's time (before the first: twice the warm-up's)
    says would end after it; the summary's `repeats` is the number done."""
    gpu = accelerator != "cpu"
    if gpu and not torch.cuda.is_available():
        raise SystemExit(f"error: accelerator {accelerator!r} asked for, but no CUDA device is visible")
    where = torch.device("cuda", device) if gpu else torch.device("cpu")
    sync = (lambda: torch.cuda.synchronize(where)) if gpu else None
    space, probe, feats = setup(C, N, batch, reference)
    cfg = ProxyConfig(steps=steps, accelerator=accelerator)
    evaluator = RMIEvaluator(space, probe, feats, cfg, seed=0, device_index=device if gpu else None)
    # warm-up (imports, allocator, CUDA context), timed for the deadline's first estimate
    t_warm, _ = timed(lambda: evaluator.evaluate(from_arch_str(ARCH)), sync)
    lit, plain, ratios, rows = [], [], [], []
    last = 2 * t_warm
    for rep in range(repeats):
        if deadline is not None and time.monotonic() + last > deadline:
            break
        t_lit, r_lit = timed(lambda: evaluator.evaluate(from_arch_str(ARCH)).rmi, sync)
        t_plain, r_plain = timed(lambda: plain_loop(space, probe, feats, cfg, 0, where), sync)
        last = t_lit + t_plain
        lit.append(t_lit)
        plain.append(t_plain)
        ratios.append(t_lit / t_plain)
        rows.append(
            {
                "C": C,
                "N": N,
                "repeat": rep,
                "lightning_s": t_lit,
                "plain_s": t_plain,
                "ratio": t_lit / t_plain,
                "rmi_lightning": r_lit,
                "rmi_plain": r_plain,
            }
        )
    on = f" on {where}" if gpu else ""
    if not rows:
        print(f"C{C} N{N}, batch {batch}, {steps} steps{on}: no repeat fitted before the deadline")
        nan = math.nan
        return rows, {"C": C, "N": N, "steps": steps, "repeats": 0, "lightning_median_s": nan, "plain_median_s": nan,
                      "ratio_median": nan, "ratio_min": nan, "ratio_max": nan, "rmi_same": False}  # fmt: skip
    same = "same" if abs(r_lit - r_plain) < 1e-4 else f"differs ({r_lit:.5f} vs {r_plain:.5f})"
    summary = {
        "C": C,
        "N": N,
        "steps": steps,
        "repeats": len(rows),
        "lightning_median_s": statistics.median(lit),
        "plain_median_s": statistics.median(plain),
        "ratio_median": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "rmi_same": same == "same",
    }
    print(
        f"C{C} N{N}, batch {batch}, {steps} steps{on}: lightning median {summary['lightning_median_s']:.2f}s, "
        f"plain median {summary['plain_median_s']:.2f}s, ratio median {summary['ratio_median']:.3f} "
        f"(min {min(ratios):.3f}, max {max(ratios):.3f}); RMI {same}"
    )
    return rows, summary


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=tuple(PROFILES), default="small", help="the defaults below")
    parser.add_argument("--steps", type=int, default=None, help="override the profile's steps (100)")
    parser.add_argument(
        "--repeats", type=int, default=None, help="override the profile's repeats (halved for C*N >= 40)"
    )
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--sizes", default=None, help="CxN pairs to measure (the profile's: 8x1,16x5)")
    parser.add_argument(
        "--accelerator",
        choices=("cpu", "gpu"),
        default="cpu",
        help="where both train (cpu; gpu: a CUDA device)",
    )
    parser.add_argument("--device", type=int, default=0, help="the CUDA device index with --accelerator gpu")
    parser.add_argument("--batch", type=int, default=32, help="probe batch size (32)")
    parser.add_argument(
        "--out",
        default=None,
        help="results folder (default: benchmarks/results/bench_overhead; other than CPU at batch 32: "
        "benchmarks/results/bench_overhead-<profile>-<accelerator>-b<batch>)",
    )
    args = parser.parse_args(argv)
    prof = dict(PROFILES[args.profile])
    prof.update({k: v for k in ("steps", "repeats", "sizes") if (v := getattr(args, k)) is not None})
    torch.set_num_threads(args.threads)
    reference = "pre-trained" if RESNET20.exists() else "random"
    if args.accelerator == "gpu" and not torch.cuda.is_available():
        raise SystemExit("error: --accelerator gpu, but no CUDA device is visible")
    gpu = (
        {"accelerator": "gpu", "device": torch.cuda.get_device_name(args.device)}
        if args.accelerator == "gpu"
        else {}
    )
    where = f", on cuda:{args.device} ({gpu['device']})" if gpu else ""
    print(f"torch {torch.__version__}, {args.threads} threads, {reference} ResNet-20 reference{where}")
    rows, summaries = [], []
    for size in prof["sizes"].split(","):
        C, N = (int(v) for v in size.split("x"))
        r, summary = compare(
            C,
            N,
            prof["steps"],
            prof["repeats"] if C * N < 40 else max(2, prof["repeats"] // 2),
            accelerator=args.accelerator,
            device=args.device,
            batch=args.batch,
        )
        rows += r
        summaries.append(summary)
    default = args.accelerator == "cpu" and args.batch == 32  # the stored CPU result's setting
    tag = args.profile if default else f"{args.profile}-{args.accelerator}-b{args.batch}"
    out = out_dir("bench_overhead", tag, args.out)
    write_csv(out / "repeats.csv", rows)
    write_csv(out / "summary.csv", summaries)
    write_provenance(
        out,
        argv,
        {
            "profile": args.profile,
            **prof,
            "threads": args.threads,
            "arch": ARCH,
            "batch": args.batch,
            "reference": reference,
            **gpu,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
