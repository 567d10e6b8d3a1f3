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
import sys
from typing import Any

import torch
from _common import out_dir, write_csv, write_provenance
from _overhead import ARCH, RESNET20, compare

PROFILES: dict[str, dict[str, Any]] = {"small": {"sizes": "8x1,16x5", "repeats": 4, "steps": 100}}


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
