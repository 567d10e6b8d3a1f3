"""What machine a number was computed on: the CPU model, the instruction set torch's kernels use on it,
and the torch and BLAS builds. Two machines of the same kind can differ in all of them (an Intel Xeon
and an AMD EPYC; AVX2 and AVX512 kernels): floating-point results then differ in their last bits, and
timings differ outright. Every run, table and stored result records `machine()`."""

from __future__ import annotations

import functools
import re
from typing import Any

from lightning_nas.latency.time_ops import (
    cpu_model,  # defined there: that file also runs standalone on a target
)


def cpu_capability() -> str | None:
    """The instruction set torch's CPU kernels dispatch to here (DEFAULT, AVX2, AVX512, ...; lowered by
    `ATEN_CPU_CAPABILITY`), or None where torch cannot say."""
    try:
        import torch

        return str(torch.backends.cpu.get_cpu_capability())
    except (ImportError, AttributeError):  # pragma: no cover - torch without the query
        return None


@functools.lru_cache(maxsize=1)
def blas_build() -> str | None:
    """Torch's BLAS and oneDNN builds, e.g. `mkl; oneAPI MKL 2024.2; oneDNN v3.12.0` (None when unknown)."""
    try:
        import torch

        shown = torch.__config__.show()
    except (ImportError, AttributeError):  # pragma: no cover
        return None
    parts = []
    blas = re.search(r"BLAS_INFO=([^,\s]+)", shown)
    parts += [blas.group(1)] if blas else []
    mkl = re.search(r"Math Kernel Library Version (\S+)", shown)
    parts += [f"MKL {mkl.group(1)}"] if mkl else []
    dnn = re.search(r"MKL-DNN (v[\d.]+)", shown)
    parts += [f"oneDNN {dnn.group(1)}"] if dnn else []
    return "; ".join(parts) or None


def machine() -> dict[str, Any]:
    """The CPU model, torch's CPU capability and the BLAS build (recorded beside every result)."""
    return {"cpu": cpu_model(), "cpu_capability": cpu_capability(), "blas": blas_build()}


def describe(record: dict[str, Any] | None) -> str:
    """`AMD EPYC (AVX512)` for a `machine()` record; `an unrecorded CPU` when there is none."""
    if not record or not record.get("cpu"):
        return "an unrecorded CPU"
    capability = record.get("cpu_capability")
    return f"{record['cpu']} ({capability})" if capability else str(record["cpu"])
