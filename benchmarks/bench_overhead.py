"""Lightning overhead of the RMI proxy: the same candidate and batch trained N_train steps by the
Lightning evaluator (`RMIEvaluator`) and by a plain PyTorch loop doing the same work, interleaved,
several repeats; prints the median time ratio. Also the seconds per candidate for the full-size
(C 16, N 5) and a reduced (C 8, N 1) NB201 network, batch 32. Results (one row per repeat, a summary
per size, command, config, versions) go to benchmarks/results/bench_overhead/.

    python benchmarks/bench_overhead.py --profile small --threads 1   # 8x1 (4 repeats) and 16x5 (2 repeats)
    python benchmarks/bench_overhead.py --sizes 8x1 --repeats 2 --out /tmp/o   # any size / repeats
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
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
    space: NB201Space, probe: ProbeBatch, feats: list[torch.Tensor], cfg: ProxyConfig, seed: int
) -> float:
    """What the evaluator does, without Lightning."""
    g = from_arch_str(ARCH)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(candidate_seed(seed, space.key(g)))
        net = space.to_module(g)
    taps = FeatureTaps(net, space.tap_names(g))
    opt = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    net.train()
    for _ in range(cfg.steps):
        logits, out = taps(probe.x)
        cka = torch.stack([linear_cka(r, f) for r, f in zip(feats, out, strict=True)])
        loss, _ = rmi_loss(cka, logits, probe.y, cfg.beta)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        _, out = taps(probe.x)
        return float(sum(linear_cka(r, f) for r, f in zip(feats, out, strict=True)))


def setup(C: int, N: int) -> tuple[NB201Space, ProbeBatch, list[torch.Tensor]]:
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(32, 3, 32, 32, generator=gen), torch.randint(0, 10, (32,), generator=gen)
    ref = cifar_resnet("resnet20")
    if RESNET20.exists():
        load_weights(ref, RESNET20)
    with torch.no_grad():
        _, feats = FeatureTaps(ref.train(), ["layer1", "layer2", "layer3"])(x)
    return NB201Space(C=C, N=N), ProbeBatch(x, y, list(range(32))), [f.detach() for f in feats]


def timed(fn) -> tuple[float, float]:  # noqa: ANN001
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def compare(C: int, N: int, steps: int, repeats: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    space, probe, feats = setup(C, N)
    cfg = ProxyConfig(steps=steps)
    evaluator = RMIEvaluator(space, probe, feats, cfg, seed=0)
    evaluator.evaluate(from_arch_str(ARCH))  # warm-up (imports, allocator)
    lit, plain, ratios, rows = [], [], [], []
    for rep in range(repeats):
        t_lit, r_lit = timed(lambda: evaluator.evaluate(from_arch_str(ARCH)).rmi)
        t_plain, r_plain = timed(lambda: plain_loop(space, probe, feats, cfg, 0))
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
    same = "same" if abs(r_lit - r_plain) < 1e-4 else f"differs ({r_lit:.5f} vs {r_plain:.5f})"
    summary = {
        "C": C,
        "N": N,
        "steps": steps,
        "repeats": repeats,
        "lightning_median_s": statistics.median(lit),
        "plain_median_s": statistics.median(plain),
        "ratio_median": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "rmi_same": same == "same",
    }
    print(
        f"C{C} N{N}, batch 32, {steps} steps: lightning median {summary['lightning_median_s']:.2f}s, "
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
        "--out", default=None, help="results folder (default: benchmarks/results/bench_overhead)"
    )
    args = parser.parse_args(argv)
    prof = dict(PROFILES[args.profile])
    prof.update({k: v for k in ("steps", "repeats", "sizes") if (v := getattr(args, k)) is not None})
    torch.set_num_threads(args.threads)
    reference = "pre-trained" if RESNET20.exists() else "random"
    print(f"torch {torch.__version__}, {args.threads} threads, {reference} ResNet-20 reference")
    rows, summaries = [], []
    for size in prof["sizes"].split(","):
        C, N = (int(v) for v in size.split("x"))
        r, summary = compare(
            C, N, prof["steps"], prof["repeats"] if C * N < 40 else max(2, prof["repeats"] // 2)
        )
        rows += r
        summaries.append(summary)
    out = out_dir("bench_overhead", args.profile, args.out)
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
            "batch": 32,
            "reference": reference,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
