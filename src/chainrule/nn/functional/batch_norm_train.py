"""Batch norm with the batch's statistics as one primitive: standardise and scale-shift fused.

Forward: μ, σ² (biased) per channel over every axis but 1, x̂ = (x − μ)·r with r = 1/√(σ² + ε),
y = γ·x̂ + β. Backward, with sums over the same axes and n values per channel:

    ∂L/∂β = Σ g,    ∂L/∂γ = Σ g·x̂,    ∂L/∂x = γ·r·(g − (Σ g + x̂·Σ g·x̂)/n)

so the two sums give the parameters' gradients and the input's with no further reduction. The
arrays are viewed as (N, C, S), S the flattened spatial axes; channel sums add the N rows first
and then each contiguous S block, channel dot products go through one ``einsum`` (no g·x̂ array).
Under ``create_graph`` backward is the same formula in differentiable ops, the statistics
recomputed from x, so second derivatives flow through them.
"""
from __future__ import annotations

from ...autograd.function import Function
from ...tensor import Tensor

__all__ = ["NativeBatchNorm", "batch_moments"]


def _channel_sums(a):
    """Σ over axes 0 and 2 of an (N, C, S) array: shape (C,)."""
    return a.sum(axis=0).sum(axis=-1)


def _channel_dots(xp, a, b):
    """Σ a·b over axes 0 and 2 of two (N, C, S) arrays: shape (C,)."""
    return xp.einsum("ncs,ncs->c", a, b)


def _as_rows(x):
    """An (N, C, *S) array viewed as (N, C, S)."""
    return x.reshape(x.shape[0], x.shape[1], -1)


def batch_moments(xp, x, centred: bool = False):
    """(μ, σ²) of an (N, C, *S) array per channel, shape (C,): the mean and the biased variance,
    the latter from the centred values (two passes: no cancellation). With ``centred`` also
    x − μ, viewed (N, C, S)."""
    x3 = _as_rows(x)
    n = x3.shape[0] * x3.shape[2]
    mu = _channel_sums(x3) / n
    c = x3 - mu[:, None]
    var = _channel_dots(xp, c, c) / n
    return (mu, var, c) if centred else (mu, var)


class NativeBatchNorm(Function):
    """y = γ·x̂ + β, x̂ = (x − μ)/√(σ² + ε) with the batch's per-channel μ, σ² (biased);
    ∂L/∂β = Σg, ∂L/∂γ = Σg·x̂, ∂L/∂x = (γ/√(σ² + ε))·(g − (Σg + x̂·Σg·x̂)/n). (PyTorch's node
    for the same computation is NativeBatchNormBackward0.)"""

    def forward(self, xp, x, weight, bias, eps=1e-5, stats=None):
        """``stats``: (μ, σ², x − μ) from :func:`batch_moments` with ``centred=True`` when the
        caller has them (it needs μ, σ² for the running estimates); else computed here. The
        centred values c = x − μ are saved rather than x̂ = c·r (one pass fewer:
        y = c·(r·γ) + β; backward scales its sums by r instead)."""
        mu, var, c = batch_moments(xp, x, centred=True) if stats is None else stats
        self.eps = eps
        r = 1 / xp.sqrt(var + eps)
        a = r if weight is None else r * weight     # y = c·a + β
        y = c * a[:, None]
        if bias is not None:
            y += bias[:, None]
        self.save(x, c, r, weight)
        return y.reshape(x.shape)

    def backward(self, xp, g):
        x, c, r, weight = self.saved
        if isinstance(x, Tensor):
            return self._graph_backward(xp, g, x, weight)
        nx, nw, nb = self.needs_input_grad
        g3 = g.reshape(c.shape)
        n = c.shape[0] * c.shape[2]
        sum_g = _channel_sums(g3)                   # ∂L/∂β
        sum_gx = _channel_dots(xp, g3, c) * r       # ∂L/∂γ = Σ g·x̂ = r·Σ g·c
        dx = None
        if nx:
            a = r if weight is None else r * weight
            t = c * (sum_gx * r / n)[:, None]       # x̂·mean(g·x̂)
            t += (sum_g / n)[:, None]
            xp.subtract(g3, t, out=t)               # g − mean(g) − x̂·mean(g·x̂)
            t *= a[:, None]
            dx = t.reshape(x.shape)
        return dx, (sum_gx if nw else None), (sum_g if nb else None)

    def _graph_backward(self, xp, g, x, weight):
        """The same gradients from differentiable ops (create_graph), μ and σ² recomputed."""
        nx, nw, nb = self.needs_input_grad
        c = x.shape[1]
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, c) + (1,) * (x.ndim - 2)
        n = x._data.size // c
        centred = x - xp.mean(x, axis=axes, keepdims=True)
        r = 1 / xp.sqrt(xp.mean(centred * centred, axis=axes, keepdims=True) + self.eps)
        xhat = centred * r
        sum_g = xp.sum(g, axis=axes, keepdims=True)
        sum_gx = xp.sum(g * xhat, axis=axes, keepdims=True)
        dx = None
        if nx:
            a = r if weight is None else r * xp.reshape(weight, shape)
            dx = a * (g - (sum_g + xhat * sum_gx) / n)
        return (dx, xp.reshape(sum_gx, (c,)) if nw else None,
                xp.reshape(sum_g, (c,)) if nb else None)
