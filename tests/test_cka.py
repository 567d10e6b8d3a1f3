"""Property tests for linear CKA, the RMI score and the beta-weighted RMI + CE loss."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from lightning_nas.rmi.cka import linear_cka, per_layer_cka
from lightning_nas.rmi.loss import rmi_loss


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


@pytest.mark.parametrize(
    "dead", [torch.zeros(32, 10), torch.full((32, 10), 3.0), torch.ones(32, 1) * torch.arange(10.0)]
)
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


def test_per_layer_cka_pairs_the_taps_in_order(feats):
    x, y = feats
    per_layer = per_layer_cka([x, y, x], [x, x, torch.zeros_like(x)])
    assert per_layer.tolist() == pytest.approx([1.0, linear_cka(y, x).item(), 0.0], abs=1e-5)
    with pytest.raises(ValueError, match="1 reference taps vs 2 candidate taps"):
        per_layer_cka([x], [x, x])


def _logits_and_labels() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(2)
    return torch.randn(8, 5, generator=g).requires_grad_(True), torch.randint(0, 5, (8,), generator=g)


@pytest.mark.parametrize("beta", [0.25, 0.8])
def test_rmi_loss_is_the_beta_weighted_sum(beta):
    logits, y = _logits_and_labels()
    cka = torch.tensor([0.9, 0.4, 0.1])
    loss, parts = rmi_loss(cka, logits, y, beta)
    ce = F.cross_entropy(logits, y).item()
    assert parts["cka_loss"].item() == pytest.approx(0.1 + 0.6 + 0.9)
    assert parts["ce"].item() == pytest.approx(ce)
    assert loss.item() == pytest.approx(beta * 1.6 + (1 - beta) * ce, rel=1e-6)
    assert parts["loss"] is loss


def test_rmi_loss_beta_one_is_only_the_cka_term():
    logits, y = _logits_and_labels()
    with torch.no_grad():
        logits[0, y[0]] = float("-inf")  # an infinite CE must not reach a loss that does not weigh it
    cka = torch.tensor([0.5, 0.25], requires_grad=True)
    loss, parts = rmi_loss(cka, logits, y, 1.0)
    assert torch.isinf(parts["ce"])
    assert loss.item() == pytest.approx(1.25)
    grad_logits, grad_cka = torch.autograd.grad(loss, [logits, cka], allow_unused=True)
    assert grad_logits is None or not grad_logits.any()
    assert grad_cka.tolist() == [-1.0, -1.0]


def test_rmi_loss_beta_zero_is_cross_entropy():
    logits, y = _logits_and_labels()
    cka = torch.tensor([float("nan"), 0.3], requires_grad=True)  # a broken CKA term of weight 0
    loss, _ = rmi_loss(cka, logits, y, 0.0)
    assert loss.item() == pytest.approx(F.cross_entropy(logits, y).item())
    grad_logits, grad_cka = torch.autograd.grad(loss, [logits, cka], allow_unused=True)
    assert torch.isfinite(grad_logits).all() and grad_logits.abs().sum() > 0
    assert grad_cka is None or not grad_cka.any()


@pytest.mark.parametrize("beta", [0.5, 1.0])
def test_rmi_loss_gradient_is_finite_for_dead_taps(feats, beta):
    x, _ = feats
    logits, y = _logits_and_labels()
    live = x[:8].clone().requires_grad_(True)
    dead = torch.zeros(8, 10, requires_grad=True)  # e.g. a cell cut off from its input
    constant = torch.full((8, 6), 2.0, requires_grad=True)
    ref = [x[:8], x[8:16], x[16:24]]
    cka = torch.stack([linear_cka(r, f) for r, f in zip(ref, [live, dead, constant], strict=True)])
    loss, parts = rmi_loss(cka, logits, y, beta)
    loss.backward()
    assert parts["cka_loss"].item() == pytest.approx(0.0 + 1.0 + 1.0, abs=1e-5)
    for t in (live, dead, constant):
        assert t.grad is not None and torch.isfinite(t.grad).all()
    assert logits.grad is None if beta == 1.0 else torch.isfinite(logits.grad).all()
    assert live.grad.abs().max() < 1e-5  # CKA 1 with its own reference: a maximum, zero gradient
    assert torch.isfinite(loss)


def test_rmi_loss_refuses_beta_outside_0_1():
    logits, y = _logits_and_labels()
    with pytest.raises(ValueError, match="beta"):
        rmi_loss(torch.tensor([0.5]), logits, y, 1.5)
