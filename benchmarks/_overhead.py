"""The Lightning evaluator against a plain PyTorch loop doing the same work on one candidate (bench_overhead.py,
device_check.py): `compare` times both, interleaved, and checks their RMIs agree."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from _common import SHARED

from lightning_nas.config import ProxyConfig
from lightning_nas.reference.loader import load_weights
from lightning_nas.reference.resnet_cifar import cifar_resnet
from lightning_nas.rmi.cka import linear_cka
from lightning_nas.rmi.evaluator import RMIEvaluator, candidate_seed
from lightning_nas.rmi.loss import rmi_loss
from lightning_nas.rmi.probe import ProbeBatch
from lightning_nas.rmi.taps import FeatureTaps
from lightning_nas.spaces.nb201.space import NB201Space, from_arch_str

RESNET20 = SHARED / "reference" / "resnet20-12fca82f.th"  # optional: a random ResNet-20 without it
ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


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
