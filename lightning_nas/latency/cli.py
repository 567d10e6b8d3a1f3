"""`python -m lightning_nas.latency build | validate | export-ops`: latency on your own device.

    python -m lightning_nas.latency build --space nb201 --device cpu --batch 64 --threads 1 --out nb201_cpu_b64.yaml
    python -m lightning_nas.latency build --space ofa_mbv3 --resolution 224 --resolution 160 --out ofa_cpu/
    python -m lightning_nas.latency calibrate --lut nb201_cpu_b64.yaml --n 20 --seed 1
    python -m lightning_nas.latency validate --lut nb201_cpu_b64.yaml --n 200 --out validation/
    python -m lightning_nas.latency export-ops --space nb201 --batch 1 --out nb201_ops/   # for time_ops.py on a target
    python -m lightning_nas.search --cost.metric local_latency --cost.table nb201_cpu_b64.yaml --cost.budget 20

`build` times every distinct operator the space can place at the shapes it occurs (NB201: the stem, each
edge operation per stage, the cell additions, the reduction blocks and the head, for the full-size network
--C/--N; OFA MobileNetV3: every block configuration per resolution, written in OFA's LatencyTable layout,
one `<resolution>_lookup_table.yaml` per resolution in the --out folder) with the settings fixed and
recorded in the table, a progress bar with ETA, resumable: run the same command again after an interrupt.
`calibrate` fits each table's factor from the sum of isolated operators to end-to-end latency on `--n`
architectures of another seed (stored in the table; predictions use it). `validate` times `--n` seeded
random architectures end to end with the table's settings and compares; its last line is
`spearman=<x> kendall_tau=<y> mape_pct=<z>`."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from lightning_nas.cli import prog as cli_prog
from lightning_nas.errors import ConfigError, cli_entry
from lightning_nas.reporting.args import OneLineArgumentParser

DEVICES = ("cpu", "cuda")
BACKENDS = ("torch", "onnxruntime")


def _space_name(name: str) -> str:
    """`--space`: a registered space, looked up only when given (so `--help` imports no space)."""
    from lightning_nas.spaces import SPACE_TYPES

    if name not in SPACE_TYPES:
        raise argparse.ArgumentTypeError(f"unknown search space {name!r}; valid: {', '.join(SPACE_TYPES.names())}")
    return name


def _space_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--space", required=True, type=_space_name, help="a registered search space: nb201 or ofa_mbv3")
    p.add_argument("--resolution", type=int, action="append", default=None,
                   help="input resolution; repeat for several OFA tables (default: nb201 32, ofa_mbv3 224)")  # fmt: skip
    p.add_argument("--num_classes", type=int, default=None, help="classifier size (default: nb201 10, ofa_mbv3 1000)")
    p.add_argument("--in_channels", type=int, default=3, help="nb201 input channels")
    p.add_argument("--C", type=int, default=16, help="nb201 network width (the benchmark's 16)")
    p.add_argument("--N", type=int, default=5, help="nb201 cells per stage (the benchmark's 5)")
    p.add_argument("--width_mult", type=float, default=1.0, help="ofa_mbv3 width multiplier (1.0 or 1.2)")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--out", required=True, type=Path)


def _timing_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--min_runs", type=int, default=50, help="timed runs per operator, at least (50)")
    p.add_argument("--threshold", type=float, default=0.1, help="stop when IQR / median of the blocks is below (0.1)")
    p.add_argument("--max_seconds", type=float, default=10.0, help="per operator (10)")


def _parser() -> argparse.ArgumentParser:
    p = OneLineArgumentParser(prog=cli_prog("latency"), description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, parser_class=OneLineArgumentParser)
    build = sub.add_parser("build", help="measure a latency table on this machine")
    _space_args(build)
    build.add_argument("--device", default="cpu", choices=DEVICES)
    build.add_argument("--threads", type=int, default=1, help="torch / onnxruntime intra-op threads (recorded)")
    build.add_argument("--backend", default="torch", choices=BACKENDS)
    _timing_args(build)
    validate = sub.add_parser("validate", help="compare a table with end-to-end timing of random architectures")
    validate.add_argument("--lut", required=True, type=Path, help="a table (or OFA folder of tables) made by build")
    validate.add_argument("--n", type=int, default=200, help="architectures (200)")
    validate.add_argument("--seed", type=int, default=0)
    validate.add_argument("--out", type=Path, default=None, help="folder for validation.csv/.json/.png (default: beside the table)")
    validate.add_argument("--min_runs", type=int, default=None, help="end-to-end timed runs per architecture (default: the table's)")
    validate.add_argument("--max_seconds", type=float, default=None, help="end-to-end seconds per architecture (default: the table's)")
    calibrate = sub.add_parser("calibrate", help="fit each table's factor from operator sum to end-to-end latency")
    calibrate.add_argument("--lut", required=True, type=Path, help="a table (or OFA folder of tables) made by build")
    calibrate.add_argument("--n", type=int, default=20, help="architectures per resolution (20)")
    calibrate.add_argument("--seed", type=int, default=1, help="use one the validation does not (validate's default is 0)")
    calibrate.add_argument("--min_runs", type=int, default=None, help="end-to-end timed runs per architecture (default: the table's)")
    export = sub.add_parser("export-ops", help="write the operators for time_ops.py on a target without this package")
    _space_args(export)
    export.add_argument("--opset", type=int, default=17)
    return p


def _specs(args: argparse.Namespace) -> list[Any]:
    """The tables to measure, for the space the arguments describe."""
    for name in ("batch", "C", "N", "in_channels"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name} must be >= 1, got {getattr(args, name)}")
    from lightning_nas.spaces import SPACE_TYPES

    shape = {k: getattr(args, k) for k in ("C", "N", "num_classes", "in_channels", "width_mult")}
    return SPACE_TYPES.get(args.space).from_latency_shape(shape, args.resolution or []).latency_tables()


def _check_device(args: argparse.Namespace) -> None:
    if args.threads < 1:
        raise ConfigError(f"--threads must be >= 1, got {args.threads}")
    if args.min_runs < 1 or args.max_seconds <= 0 or not 0 < args.threshold:
        raise ConfigError(f"--min_runs must be >= 1 and --threshold, --max_seconds > 0, got {args.min_runs}, {args.threshold}, {args.max_seconds}")
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ConfigError("--device cuda: no CUDA device is visible here (torch.cuda.is_available() is False); use --device cpu")
    if args.backend == "onnxruntime":
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            raise ConfigError("--backend onnxruntime: onnxruntime is not installed (pip install -e '.[export]')") from None


@cli_entry
def main(argv: list[str] | None = None) -> int:
    # Lightning sets this when imported (a parent process may have): it makes every CUDA availability check,
    # which torch.utils.benchmark runs around each timed block, cost tens of microseconds on a CPU machine.
    os.environ.pop("PYTORCH_NVML_BASED_CUDA_CHECK", None)
    args = _parser().parse_args(argv)
    from lightning_nas.latency import time_ops

    try:
        if args.command == "build":
            _check_device(args)
            from lightning_nas.latency.build import build_tables

            timing = {"min_runs": args.min_runs, "threshold": args.threshold, "max_seconds": args.max_seconds}
            for path in build_tables(_specs(args), args.out, args.batch, args.threads, args.backend, args.device, timing):
                print(f"wrote {path}")
        elif args.command == "export-ops":
            from lightning_nas.latency.build import export_operators

            out = export_operators(_specs(args), args.out, args.batch, args.opset)
            print(f"wrote {out}; on the target: python {out / 'time_ops.py'} {out} --out LUT.yaml")
        elif args.command == "calibrate":
            if args.n < 2 or (args.min_runs is not None and args.min_runs < 1):
                raise ConfigError(f"--n must be >= 2 and --min_runs >= 1, got {args.n} and {args.min_runs}")
            from lightning_nas.latency.calibrate import calibrate

            timing = {"min_runs": args.min_runs} if args.min_runs else None
            for resolution, c in calibrate(args.lut, args.n, args.seed, timing).items():
                print(f"resolution {resolution}: end-to-end / operator sum = {c['scale']:.4f} (median of {c['n']}, "
                      f"range {c['ratio_min']:.3f}-{c['ratio_max']:.3f}); written to the table")  # fmt: skip
        else:
            if args.n < 2:
                raise ConfigError(f"--n must be >= 2, got {args.n}")
            from lightning_nas.latency.validate import validate

            out = args.out or args.lut.parent / f"{args.lut.stem}_validation"
            timing = {k: v for k in ("min_runs", "max_seconds") if (v := getattr(args, k)) is not None}
            if timing.get("min_runs", 1) < 1 or timing.get("max_seconds", 1) <= 0:
                raise ConfigError(f"--min_runs must be >= 1 and --max_seconds > 0, got {args.min_runs}, {args.max_seconds}")
            r = validate(args.lut, args.n, args.seed, out, timing)
            print(f"wrote {out}/validation.csv, validation.json, validation.png; {100 * r['within_10pct']:.0f} % within +-10 %, "
                  f"pricing {r['median_price_us']:.0f} us per architecture")  # fmt: skip
            print(f"spearman={r['spearman']:.4f} kendall_tau={r['kendall_tau']:.4f} mape_pct={r['mape_pct']:.2f}")
    except time_ops.TableError as err:
        raise ConfigError(str(err)) from None
    return 0
