"""Export round trips: the rebuilt (genotype JSON + state_dict), TorchScript and ONNX models give the
PyTorch logits; the CLI reads a fine-tuning checkpoint; clear errors."""

from __future__ import annotations

import builtins
import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from lightning_nas.config import SpaceConfig
from lightning_nas.data.base import DataSpec
from lightning_nas.export.cli import main
from lightning_nas.export.exporter import export_network, network_weights
from lightning_nas.spaces.nb201.space import NB201Space, nb201_index
from lightning_nas.spaces.network_spec import build_network, network_spec

SPEC = DataSpec("digits", 10, 3, 16, crop_padding=2, flip=False)
GENOTYPE = (3, 0, 4, 1, 2, 3)  # every NB201 op: conv 3x3, none, avg pool, skip, conv 1x1


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _doc() -> dict:
    space_cfg = SpaceConfig(C=4, N=1, full_C=4, full_N=1)
    space = NB201Space(num_classes=10, in_channels=3, resolution=16, C=4, N=1, full_C=4, full_N=1)
    return network_spec(space_cfg, SPEC, space, GENOTYPE, full_size=True)


def _trained_like_weights(doc: dict) -> dict[str, torch.Tensor]:
    """Random weights and non-trivial BatchNorm statistics (eval mode must use them everywhere)."""
    torch.manual_seed(0)
    model = build_network(doc)
    gen = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
    return model.state_dict()


def _logits(doc: dict, weights: dict, x: torch.Tensor) -> np.ndarray:
    model = build_network(doc)
    model.load_state_dict(weights)
    with torch.no_grad():
        return model.eval()(x).numpy()


def test_round_trip_logits_match(tmp_path: Path) -> None:
    doc, weights = _doc(), _trained_like_weights(_doc())
    manifest = export_network(doc, weights, tmp_path / "export", opset=17)
    assert manifest["ok"] and manifest["onnx_opset"] == 17
    files = {k: Path(v) for k, v in manifest["files"].items()}
    assert all(p.stat().st_size > 0 for p in files.values())

    x = torch.randn(5, 3, 16, 16, generator=torch.Generator().manual_seed(7))  # another batch size than traced
    expected = _logits(doc, weights, x)
    assert np.abs(expected).max() > 1e-3  # a meaningful comparison

    rebuilt = json.loads(files["genotype"].read_text())
    assert rebuilt["genotype"] == list(GENOTYPE) and rebuilt["nb201_index"] == nb201_index(GENOTYPE)
    state = torch.load(files["state_dict"], map_location="cpu", weights_only=True)
    np.testing.assert_allclose(_logits(rebuilt, state, x), expected, atol=1e-5)

    scripted = torch.jit.load(str(files["torchscript"]))
    with torch.no_grad():
        np.testing.assert_allclose(scripted(x).numpy(), expected, atol=1e-4, rtol=1e-3)

    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(files["onnx"]), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].name == "input"
    np.testing.assert_allclose(session.run(["logits"], {"input": x.numpy()})[0], expected, atol=1e-4, rtol=1e-3)

    import onnx

    assert onnx.load(str(files["onnx"])).opset_import[0].version == 17


def test_onnx_checker_only_without_onnxruntime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_ort(name: str, *args: object, **kwargs: object) -> object:
        if name == "onnxruntime":
            raise ImportError("no onnxruntime")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ort)
    doc = _doc()
    manifest = export_network(doc, _trained_like_weights(doc), tmp_path, opset=13)
    onnx_check = next(c for c in manifest["checks"] if c["format"] == "onnx")
    assert onnx_check["ok"] and "onnx.checker" in onnx_check["method"] and onnx_check["max_abs_diff"] is None
    assert manifest["onnx_opset"] == 13


def test_cli_exports_finetune_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = _doc()
    weights = _trained_like_weights(doc)
    ckpt = tmp_path / "last.ckpt"  # the layout of a Lightning checkpoint of FinetuneModule
    torch.save({"state_dict": {f"model.{k}": v for k, v in weights.items()}, "epoch": 0}, ckpt)
    (tmp_path / "finetune.json").write_text(json.dumps({"network": doc, "checkpoint": str(ckpt)}))
    assert main([str(tmp_path)]) == 0
    assert "onnx: ok" in capsys.readouterr().out
    state = torch.load(tmp_path / "export" / "state_dict.pt", weights_only=True)
    assert all(torch.equal(state[k], v) for k, v in network_weights(ckpt).items())


def test_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([str(tmp_path / "nope")])
    assert exc.value.code == 2
    assert "run directory not found" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main([str(tmp_path)])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "no finetune.json" in err and len(err.strip().splitlines()) == 1


def test_random_architectures_export(tmp_path: Path) -> None:
    rng = random.Random(3)
    space = NB201Space(num_classes=10, in_channels=3, resolution=16, C=4, N=1, full_C=4, full_N=1)
    for i in range(2):
        genotype = space.sample(rng)
        doc = network_spec(SpaceConfig(C=4, N=1, full_C=4, full_N=1), SPEC, space, genotype, full_size=True)
        assert export_network(doc, build_network(doc).state_dict(), tmp_path / str(i))["ok"]
