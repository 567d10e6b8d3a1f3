"""Property tests for linear CKA and the RMI score."""

from __future__ import annotations

import pytest
import torch

from lightning_nas.rmi.cka import LinearCKA, linear_cka, rmi_score


def feature_space_cka(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Eq. 2 literally, on column-centred float64 features."""
    x = x.reshape(len(x), -1).double()
    y = y.reshape(len(y), -1).double()
    x, y = x - x.mean(0), y - y.mean(0)
    return torch.linalg.norm(x.T @ y) ** 2 / (torch.linalg.norm(x.T @ x) * torch.linalg.norm(y.T @ y))


@pytest.fixture
def feats() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 64, generator=g)
    y = x[:, :40] @ torch.randn(40, 48, generator=g) + 0.5 * torch.randn(32, 48, generator=g)
    return x, y


def test_identical_features_score_one(feats):
    x, _ = feats
    assert linear_cka(x, x).item() == pytest.approx(1.0, abs=1e-5)
    conv = torch.randn(16, 8, 4, 4)
    assert linear_cka(conv, conv).item() == pytest.approx(1.0, abs=1e-5)


def test_matches_feature_space_formula(feats):
    x, y = feats
    assert linear_cka(x, y).item() == pytest.approx(feature_space_cka(x, y).item(), rel=1e-5)
    big = torch.randn(32, 16, 32, 32)  # d = 16384, the NB201 stage-1 size
    other = big.flip(0) + big
    assert linear_cka(big, other).item() == pytest.approx(feature_space_cka(big, other).item(), rel=1e-4)


@pytest.mark.parametrize("side", ["x", "y"])
def test_invariant_to_orthogonal_transform_and_isotropic_scaling(feats, side):
    x, y = feats
    base = linear_cka(x, y).item()
    g = torch.Generator().manual_seed(1)
    if side == "x":
        q, _ = torch.linalg.qr(torch.randn(64, 64, generator=g))
        x = 7.5 * x @ q
    else:
        q, _ = torch.linalg.qr(torch.randn(48, 48, generator=g))
        y = 0.01 * y @ q
    assert linear_cka(x, y).item() == pytest.approx(base, rel=1e-4)


def test_symmetric_and_bounded(feats):
    x, y = feats
    a, b = linear_cka(x, y).item(), linear_cka(y, x).item()
    assert a == pytest.approx(b, rel=1e-6)
    assert 0.0 <= a <= 1.0


@pytest.mark.parametrize("dead", [torch.zeros(32, 10), torch.full((32, 10), 3.0), torch.ones(32, 1) * torch.arange(10.0)])
def test_dead_features_score_zero_without_nan(feats, dead):
    x, _ = feats
    dead = dead.clone().requires_grad_(True)
    value = linear_cka(dead, x)
    assert value.item() == 0.0
    value.backward()
    assert torch.isfinite(dead.grad).all()
    assert linear_cka(dead.detach(), dead.detach()).item() == 0.0


def test_gradient_flows_for_live_features(feats):
    x, y = feats
    x = x.clone().requires_grad_(True)
    linear_cka(x, y).backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_torchmetrics_metric_equals_functional(feats):
    x, y = feats
    metric = LinearCKA()
    metric.update(x[:16], y[:16])
    metric.update(x[16:], y[16:])
    assert metric.compute().item() == pytest.approx(linear_cka(x, y).item(), rel=1e-6)


def test_rmi_is_sum_over_layer_pairs(feats):
    x, y = feats
    total, per_layer = rmi_score([x, y, x], [x, x, torch.zeros_like(x)])
    assert per_layer.tolist() == pytest.approx([1.0, linear_cka(y, x).item(), 0.0], abs=1e-5)
    assert total.item() == pytest.approx(per_layer.sum().item())
    with pytest.raises(ValueError):
        rmi_score([x], [x, x])
