"""The nuclear norm of a matrix (or of each matrix in a batch), through the SVD.

For X = U Σ Vᵀ (reduced SVD), ‖X‖_* = Σᵢ σᵢ and ∂‖X‖_*/∂X = U Vᵀ (exact where X has full rank;
where singular values vanish it is one subgradient, the one PyTorch's SVD gives too).
The backward treats U Vᵀ as a constant: first derivatives only (no create_graph through it).
"""
from __future__ import annotations

from ..autograd.function import Function


class NuclearNorm(Function):
    """z = ‖X‖_* = Σ σᵢ(X) over the last two axes;  ∂z/∂X = U·Vᵀ where X = U·Σ·Vᵀ."""
    name = "nuclear_norm"

    def forward(self, xp, x):
        u, s, vh = xp.linalg.svd(x, full_matrices=False)
        self.uvh = u @ vh
        return s.sum(axis=-1)

    def backward(self, xp, g):
        return (g[..., None, None] * self.uvh,)


def nuclear_norm(x):
    """Σ of the singular values of each matrix in the last two axes of ``x``."""
    if x.ndim < 2:
        raise ValueError(f"nuclear_norm: needs a matrix (or a batch of them), got shape "
                         f"{tuple(x.shape)}")
    if x.dtype.kind not in "fc":
        raise TypeError(f"nuclear_norm: expected a floating-point input, got {str(x.dtype).removeprefix('chainrule.')}")
    return NuclearNorm.apply(x)
