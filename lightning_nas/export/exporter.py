"""The export behind `python -m lightning_nas.export` (`lightning_nas/export/cli.py` documents the files):
write genotype JSON, state_dict, TorchScript and ONNX, and check each against PyTorch's logits."""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from lightning_nas.errors import ConfigError
from lightning_nas.export import DEFAULT_OPSET
from lightning_nas.run_dir import write_json
from lightning_nas.spaces.network_spec import build_network

ATOL, RTOL = 1e-4, 1e-3


@dataclass
class Check:
    format: str
    method: str
    ok: bool
    max_abs_diff: float | None = None


def example_input(doc: dict[str, Any], batch: int, seed: int = 0) -> torch.Tensor:
    d = doc["data"]
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(batch, d["in_channels"], d["resolution"], d["resolution"], generator=gen)


def _compare(fmt: str, method: str, expected: np.ndarray, got: np.ndarray) -> Check:
    diff = float(np.max(np.abs(expected - got))) if expected.shape == got.shape else float("inf")
    ok = expected.shape == got.shape and bool(np.allclose(got, expected, atol=ATOL, rtol=RTOL))
    return Check(fmt, method, ok, diff)


def export_torchscript(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    """Traced (NB201 cells loop over Python tuples, which scripting does not take)."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated in favour of torch.export
        traced = torch.jit.trace(model, example, check_trace=False)
    traced.save(str(path))


def check_torchscript(path: Path, x: torch.Tensor, expected: np.ndarray) -> Check:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        loaded = torch.jit.load(str(path), map_location="cpu")
    with torch.no_grad():
        got = loaded(x).numpy()
    return _compare("torchscript", "torch.jit.load", expected, got)


def export_onnx(model: nn.Module, example: torch.Tensor, path: Path, opset: int) -> None:
    """The TorchScript-based exporter (dynamo=False): it needs no onnxscript."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example,),
            str(path),
            opset_version=opset,
            dynamo=False,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        )


def check_onnx(path: Path, x: torch.Tensor, expected: np.ndarray) -> Check:
    import onnx

    onnx.checker.check_model(str(path))
    try:
        import onnxruntime as ort
    except ImportError:
        return Check("onnx", "onnx.checker (onnxruntime not installed: logits not compared)", True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(["logits"], {"input": x.numpy()})[0]
    return _compare("onnx", f"onnx.checker + onnxruntime {ort.__version__}", expected, got)


def export_network(
    doc: dict[str, Any], state_dict: dict[str, torch.Tensor], out_dir: Path, opset: int = DEFAULT_OPSET
) -> dict[str, Any]:
    """Write the four files and export.json into `out_dir`; returns the manifest (with `ok`)."""
    model = build_network(doc)
    try:
        model.load_state_dict(state_dict)
    except RuntimeError as err:  # missing / unexpected keys or other shapes: torch's message spans lines
        first = " ".join(str(err).split())[:300]
        raise ConfigError(f"the checkpoint's weights do not fit the network in finetune.json: {first}") from None
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "genotype": out_dir / "genotype.json",
        "state_dict": out_dir / "state_dict.pt",
        "torchscript": out_dir / "model.torchscript.pt",
        "onnx": out_dir / "model.onnx",
    }
    write_json(files["genotype"], doc)
    torch.save(model.state_dict(), files["state_dict"])
    export_torchscript(model, example_input(doc, 2), files["torchscript"])
    export_onnx(model, example_input(doc, 2), files["onnx"], opset)
    checks = verify(doc, files, model)
    manifest = {
        "files": {k: str(v) for k, v in files.items()},
        "onnx_opset": opset,
        "onnx_exporter": "torch.onnx.export (TorchScript-based, dynamo=False)",
        "tolerance": {"atol": ATOL, "rtol": RTOL},
        "checks": [asdict(c) for c in checks],
        "ok": all(c.ok for c in checks),
        "torch": torch.__version__,
    }
    write_json(out_dir / "export.json", manifest)
    return manifest


def verify(doc: dict[str, Any], files: dict[str, Path], model: nn.Module) -> list[Check]:
    """Round trips on a seeded batch of 3 (the export traced a batch of 2: the batch axis must be dynamic)."""
    x = example_input(doc, 3, seed=1)
    with torch.no_grad():
        expected = model(x).numpy()
    rebuilt = build_network(json.loads(files["genotype"].read_text()))
    rebuilt.load_state_dict(torch.load(files["state_dict"], map_location="cpu", weights_only=True))
    with torch.no_grad():
        state_check = _compare(
            "state_dict", "genotype.json + load_state_dict", expected, rebuilt.eval()(x).numpy()
        )
    return [
        state_check,
        check_torchscript(files["torchscript"], x, expected),
        check_onnx(files["onnx"], x, expected),
    ]


def network_weights(checkpoint: Path) -> dict[str, torch.Tensor]:
    """The network's state_dict from a fine-tuning (Lightning) checkpoint: `model.` keys, prefix removed."""
    if not checkpoint.is_file():
        raise ConfigError(f"checkpoint not found: {checkpoint}")
    try:  # a Lightning checkpoint holds more than tensors (hyper-parameters, loop state)
        obj = torch.load(checkpoint, map_location="cpu", weights_only=False)
    except Exception as err:  # garbage, truncated or empty files fail in many ways
        reason = " ".join(str(err).split())[:200] or type(err).__name__
        raise ConfigError(f"cannot read checkpoint {checkpoint}: {reason}") from None
    state = obj.get("state_dict", obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict):
        raise ConfigError(f"{checkpoint} holds no state_dict")
    return {k[len("model.") :]: v for k, v in state.items() if isinstance(k, str) and k.startswith("model.")}


def read_finetune_record(run_dir: Path, need_checkpoint: bool) -> dict[str, Any]:
    """finetune.json of `run_dir` with its `network` (and `checkpoint`), or a one-line ConfigError."""
    finetune = run_dir / "finetune.json"
    if not run_dir.is_dir():
        raise ConfigError(f"run directory not found: {run_dir}")
    if not finetune.exists():
        raise ConfigError(
            f"no finetune.json in {run_dir}: fine-tune first (python -m lightning_nas.finetune --run_dir {run_dir})"
        )
    try:
        record = json.loads(finetune.read_text())
    except (OSError, ValueError) as err:
        raise ConfigError(f"corrupt finetune.json in {run_dir}: {err}") from None
    needed = {"network": dict, **({"checkpoint": str} if need_checkpoint else {})}
    bad = [k for k, kind in needed.items() if not isinstance(record, dict) or not isinstance(record.get(k), kind)]
    if bad:
        raise ConfigError(f"corrupt finetune.json in {run_dir}: no valid {', '.join(bad)}; fine-tune again to rewrite it")
    return record


def export_run(run_dir: Path, checkpoint: str | None, out_dir: Path | None, opset: int) -> dict[str, Any]:
    record = read_finetune_record(run_dir, need_checkpoint=checkpoint is None)
    build_network(record["network"])  # a damaged description fails before the checkpoint is read
    ckpt = Path(checkpoint) if checkpoint else Path(record["checkpoint"])
    return export_network(record["network"], network_weights(ckpt), out_dir or run_dir / "export", opset)
