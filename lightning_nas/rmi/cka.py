"""Linear CKA (RMI-NAS / HW-EvRSNAS Eq. 2) through n x n Gram matrices.

    CKA(X, Y) = <Kc, Lc>_F / (||Kc||_F ||Lc||_F),  K = X X^T, Kc = H K H  (H centres the columns of X)

equals ||X^T Y||_F^2 / (||X^T X||_F ||Y^T Y||_F) on column-centred X, Y, but costs n x n instead of
d x d memory. Norms are square roots of plain sums of squares (torch's fp32 `matrix_norm` on CPU
loses accuracy on large matrices). A dead tap (all-zero or constant features) scores 0, never NaN.
"""

from __future__ import annotations

import torch

# Below this fraction of the uncentred Gram norm a centred Gram matrix is taken as zero (dead tap).
_DEAD_RTOL = 1e-6


def centered_gram(x: torch.Tensor) -> torch.Tensor:
    """H (X X^T) H for features `x` of shape (n, ...), flattened per sample."""
    x = x.reshape(x.shape[0], -1)
    x = x - x.mean(dim=0, keepdim=True)
    return x @ x.T


def _frobenius(m: torch.Tensor) -> torch.Tensor:
    return m.square().sum().sqrt()


def cka_from_grams(k: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """CKA of two centred Gram matrices; 0 where either side is dead."""
    nk, ng = _frobenius(k), _frobenius(g)
    denom = nk * ng
    alive = denom > torch.finfo(denom.dtype).tiny
    return torch.where(alive, (k * g).sum() / torch.where(alive, denom, torch.ones_like(denom)), torch.zeros_like(denom))


def linear_cka(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Linear CKA between features `x` (n, ...) and `y` (n, ...); differentiable, in [0, 1]."""
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"CKA needs the same number of samples, got {x.shape[0]} and {y.shape[0]}")
    return cka_from_grams(_centered_or_zero(x), _centered_or_zero(y))


def _centered_or_zero(x: torch.Tensor) -> torch.Tensor:
    """Centred Gram matrix, set to exactly zero when the features are (numerically) constant."""
    flat = x.reshape(x.shape[0], -1)
    k = centered_gram(flat)
    scale = flat.square().sum()  # = trace of the uncentred Gram matrix
    dead = k.diagonal().sum() <= _DEAD_RTOL * scale
    return torch.where(dead, torch.zeros_like(k), k)


def per_layer_cka(reference: list[torch.Tensor], candidate: list[torch.Tensor]) -> torch.Tensor:
    """Linear CKA of each matched tap pair (reference i against candidate i), stacked: their sum is the RMI
    (HW-EvRSNAS Eq. 2); `1 - CKA_i` enters the training loss (Eq. 3)."""
    if len(reference) != len(candidate):
        raise ValueError(f"{len(reference)} reference taps vs {len(candidate)} candidate taps")
    return torch.stack([linear_cka(r, c) for r, c in zip(reference, candidate, strict=True)])
