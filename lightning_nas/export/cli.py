"""`python -m lightning_nas.export RUN_DIR`: the fine-tuned winner for deployment, in `RUN_DIR/export/`:

- `genotype.json`  the architecture (space config, data shape, genotype), enough to rebuild it
- `state_dict.pt`  the trained weights (`torch.load` + `load_state_dict` on the rebuilt network)
- `model.torchscript.pt`  TorchScript (traced, eval mode)
- `model.onnx`  ONNX, opset 17 by default (`--opset`), dynamic batch axis, input `input`, output `logits`

Each file is checked: TorchScript and ONNX (onnxruntime when importable, else `onnx.checker` only) must
give the PyTorch logits within tolerance on a seeded batch of another size. `export.json` records it."""

from __future__ import annotations

import argparse
from pathlib import Path

from lightning_nas.cli import prog as cli_prog
from lightning_nas.errors import ConfigError, cli_entry
from lightning_nas.export import DEFAULT_OPSET
from lightning_nas.reporting.args import OneLineArgumentParser

DESCRIPTION = __doc__


def _parser() -> argparse.ArgumentParser:
    p = OneLineArgumentParser(
        prog=cli_prog("export"),
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_dir", help="a run directory with finetune.json")
    p.add_argument(
        "--checkpoint", default=None, help="a fine-tuning checkpoint (default: the one finetune.json names)"
    )
    p.add_argument("--out", default=None, help="output folder (default RUN_DIR/export)")
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET})")
    return p


@cli_entry
def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.opset < 7:
        raise ConfigError(f"--opset must be >= 7, got {args.opset}")
    from lightning_nas.export.exporter import export_run

    manifest = export_run(
        Path(args.run_dir), args.checkpoint, Path(args.out) if args.out else None, args.opset
    )
    for c in manifest["checks"]:
        diff = "" if c["max_abs_diff"] is None else f", max |diff| {c['max_abs_diff']:.2e}"
        print(f"{c['format']}: {'ok' if c['ok'] else 'MISMATCH'} ({c['method']}{diff})")
    print(f"exported to {Path(manifest['files']['onnx']).parent} (ONNX opset {manifest['onnx_opset']})")
    return 0 if manifest["ok"] else 1
