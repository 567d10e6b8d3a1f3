"""Validate a latency table against end-to-end timing on the same machine: `n` seeded random
architectures of its space, each whole network timed with the table's own settings (batch, threads,
backend, device, timing rule), against the table's prediction (sum of its operators' entries):
Spearman rho, Kendall tau, mean absolute percentage error, the share within +-10 %, and a scatter plot."""

from __future__ import annotations

import csv
import json
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats

from lightning_nas.costs.local_latency import expected_tables, genotype_counts
from lightning_nas.errors import ConfigError
from lightning_nas.latency import time_ops
from lightning_nas.latency.build import onnx_bytes
from lightning_nas.latency.lut import LatencyLUT


def space_of(lut: LatencyLUT) -> Any:
    """The search space (and its network sizes) the table was built for."""
    from lightning_nas.spaces import SPACE_TYPES

    if lut.space not in SPACE_TYPES:
        raise ConfigError(f"latency table for an unknown space {lut.space!r}; valid: {', '.join(SPACE_TYPES.names())}")
    meta = next(iter(lut.metas.values()))
    return SPACE_TYPES.get(lut.space).from_latency_shape(meta["shape"], sorted(lut.tables))


def check_runnable(meta: dict[str, Any]) -> None:
    """The table's device and backend exist here (validation times on the machine the table is for)."""
    if str(meta.get("device", "cpu")).startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"the table was measured on {meta['device']}, but no CUDA device is visible here; validate it on its machine")
    if meta.get("backend") == "onnxruntime":
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            raise ConfigError("the table was measured with onnxruntime, which is not installed here (pip install -e '.[export]')") from None


def network(space: Any, genotype: Any) -> tuple[torch.nn.Module, tuple[int, ...]]:
    """The full-size network of a genotype and its input shape (without the batch)."""
    return space.latency_network(genotype)


def time_network(space: Any, genotype: Any, meta: dict[str, Any], timing: dict[str, Any]) -> float:
    """Median end-to-end latency (ms) with the table's batch, threads, backend and device."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net, shape = network(space, genotype)
        x = torch.randn(meta["batch"], *shape)
    net.eval()
    if meta["backend"] == "onnxruntime":
        session = time_ops.onnx_session(onnx_bytes(net, x), meta["threads"], meta["device"])
        return float(time_ops.time_onnx(session, list(x.shape), **timing)["median"])
    device = meta["device"]
    return float(time_ops.time_torch(net.to(device), x.to(device), meta["threads"], **timing)["median"])


def sample(space: Any, n: int, seed: int) -> list[Any]:
    """`n` distinct architectures drawn with `random.Random(seed)`."""
    rng, seen, out = random.Random(seed), set(), []
    while len(out) < n:
        g = space.sample(rng)
        if space.key(g) not in seen:
            seen.add(space.key(g))
            out.append(g)
    return out


def metrics(predicted: np.ndarray, measured: np.ndarray) -> dict[str, float]:
    error = np.abs(predicted - measured) / measured
    return {
        "spearman": float(stats.spearmanr(predicted, measured).statistic),
        "kendall_tau": float(stats.kendalltau(predicted, measured).statistic),
        "mape_pct": float(100.0 * error.mean()),
        "within_10pct": float((error <= 0.10).mean()),
        "bias_pct": float(100.0 * np.mean((predicted - measured) / measured)),
    }


def open_for_timing(lut_path: Path) -> tuple[LatencyLUT, Any]:
    """The table and its space, checked (every operator present, its device and backend here), with
    torch at the table's thread count: ready to time networks against it."""
    lut = LatencyLUT.load(lut_path)
    space = space_of(lut)
    lut.check(expected_tables(space), f"the table's own {lut.space} space")
    meta = next(iter(lut.metas.values()))
    check_runnable(meta)
    torch.set_num_threads(meta["threads"])
    return lut, space


def validate(lut_path: Path, n: int, seed: int, out_dir: Path, timing: dict[str, Any] | None = None) -> dict[str, Any]:
    """`timing` (min_runs, threshold, max_seconds) for the end-to-end runs; default: the table's own."""
    lut, space = open_for_timing(lut_path)
    began = time.perf_counter()
    rows = []
    for i, g in enumerate(sample(space, n, seed)):
        resolution, counts = genotype_counts(space, g)
        meta = lut.metas[resolution]
        t0 = time.perf_counter()
        predicted = lut.predict(resolution, counts)
        price_us = (time.perf_counter() - t0) * 1e6
        e2e_timing = {**(meta.get("timing") or {}), **(timing or {})}
        measured = time_network(space, g, meta, e2e_timing)
        rows.append({"arch": space.describe(g), "resolution": resolution, "predicted_ms": predicted, "measured_ms": measured,
                     "operator_sum_ms": lut.operator_sum(resolution, counts), "price_us": price_us})  # fmt: skip
        time_ops._progress(i + 1, n, began, f"{measured:.3f} ms measured, {predicted:.3f} ms predicted")
    out_dir.mkdir(parents=True, exist_ok=True)
    pred, meas = (np.array([r[k] for r in rows]) for k in ("predicted_ms", "measured_ms"))
    raw = np.array([r["operator_sum_ms"] for r in rows])
    result = {
        **metrics(pred, meas),
        "uncalibrated": metrics(raw, meas),
        "calibration": {str(r): m.get("calibration") for r, m in lut.metas.items()},
        "n": n,
        "seed": seed,
        "lut": str(lut_path),
        "tables": {str(r): m for r, m in lut.metas.items()},
        "median_price_us": float(np.median([r["price_us"] for r in rows])),
        "end_to_end_timing": {**(next(iter(lut.metas.values())).get("timing") or {}), **(timing or {})},
        "seconds": time.perf_counter() - began,
    }
    with open(out_dir / "validation.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (out_dir / "validation.json").write_text(json.dumps(result, indent=2) + "\n")
    scatter(out_dir / "validation.png", pred, meas, result, lut.space)
    return result


def scatter(path: Path, predicted: np.ndarray, measured: np.ndarray, result: dict[str, Any], space: str) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 5))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.scatter(measured, predicted, s=12, alpha=0.7)
    lo, hi = float(min(measured.min(), predicted.min())), float(max(measured.max(), predicted.max()))
    ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="predicted = measured")
    ax.fill_between([lo, hi], [0.9 * lo, 0.9 * hi], [1.1 * lo, 1.1 * hi], color="0.85", label="+-10 %")
    ax.set_xlabel("measured end-to-end latency (ms, median)")
    ax.set_ylabel("predicted by the table (ms)")
    meta = next(iter(result["tables"].values()))
    ax.set_title(f"{space}, batch {meta['batch']}, {meta['threads']} thread(s), {meta['backend']} on {meta['device']}\n"
                 f"Spearman {result['spearman']:.3f}, Kendall {result['kendall_tau']:.3f}, MAPE {result['mape_pct']:.1f} %", fontsize=9)  # fmt: skip
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
