"""Build a latency table on this machine (`python -m lightning_nas.latency build`), or export a space's
operators for a target that cannot install this package (`export-ops`, timed there by the single-file
`time_ops.py` that the export folder carries). Both time the same operators (`nb201_ops`, `ofa_ops`)
with the same code (`time_ops`) and write the same table format."""

from __future__ import annotations

import io
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from lightning_nas.latency import time_ops
from lightning_nas.latency.operators import Operator, TableSpec


def onnx_bytes(module: torch.nn.Module, x: torch.Tensor, opset: int = 17) -> bytes:
    buffer = io.BytesIO()
    torch.onnx.export(module, (x,), buffer, opset_version=opset, dynamo=False, input_names=["input"],
                      output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})  # fmt: skip
    return buffer.getvalue()


def operator_timer(op: Operator, batch: int, threads: int, backend: str, device: str, timing: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            module = op.build().eval()
            x = torch.randn(batch, *op.input)
        if backend == "onnxruntime":
            session = time_ops.onnx_session(onnx_bytes(module, x), threads, device)
            return time_ops.time_onnx(session, list(x.shape), **timing)
        return time_ops.time_torch(module.to(device), x.to(device), threads, **timing)

    return run


class Progress:
    """A tqdm bar with ETA on a terminal; a line per operator otherwise."""

    def __init__(self, label: str) -> None:
        self.label, self.bar = label, None

    def __call__(self, done: int, total: int, began: float, key: str) -> None:
        if not sys.stderr.isatty():
            time_ops._progress(done, total, began, key)
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=self.label, unit="op", file=sys.stderr)
        self.bar.update(1)
        if done == total:
            self.bar.close()


def build_tables(
    specs: list[TableSpec], out: Path, batch: int, threads: int, backend: str, device: str, timing: dict[str, Any]
) -> list[Path]:
    """Measure every table (resumable: operators already in `out` with the same settings are kept)."""
    torch.set_num_threads(threads)
    paths = []
    for spec in specs:
        path = time_ops.table_path(out, spec.meta(batch), len(specs) > 1)
        meta = {**spec.meta(batch), "threads": threads, "backend": backend, "device": device,
                "machine": time_ops.machine(device, backend), "timing": timing}  # fmt: skip
        ops = [(op.key, operator_timer(op, batch, threads, backend, device, timing)) for op in spec.operators]
        time_ops.measure_table(path, meta, ops, Progress(f"{spec.space} r{spec.resolution}"))
        paths.append(path)
    return paths


def export_operators(specs: list[TableSpec], out: Path, batch: int, opset: int = 17) -> Path:
    """Each operator as TorchScript (`.pt`) and ONNX (`.onnx`, dynamic batch) under `out`, a manifest,
    and a copy of time_ops.py to time them on the target."""
    out.mkdir(parents=True, exist_ok=True)
    tables = []
    for t, spec in enumerate(specs):
        operators = []
        for i, op in enumerate(spec.operators):
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                module = op.build().eval()
                x = torch.randn(batch, *op.input)
            stem = f"t{t}_op{i:03d}"
            torch.jit.save(torch.jit.trace(module, x), str(out / f"{stem}.pt"))
            (out / f"{stem}.onnx").write_bytes(onnx_bytes(module, x, opset))
            operators.append({"key": op.key, "input": [batch, *op.input], "torchscript": f"{stem}.pt", "onnx": f"{stem}.onnx"})
        tables.append({"meta": spec.meta(batch), "operators": operators})
    manifest = {"format": time_ops.FORMAT, "torch": torch.__version__, "tables": tables}
    (out / time_ops.MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    shutil.copyfile(time_ops.__file__, out / "time_ops.py")
    return out
