"""Cross-entropy (a fused log-softmax + NLL primitive) and the NLL loss, plus the reduction
helpers every loss shares.

Every form of cross-entropy is one rule: ℓᵢ = −Σ_c q_ic · log softmax(xᵢ)_c, where q holds the
per-class weights of sample i. For a class index t it is w_t·onehot(t) (zero for ``ignore_index``);
label smoothing ε mixes in ε/C of every class, q = (1 − ε)·w_t·onehot(t) + (ε/C)·w; probability
targets give q = w ⊙ ((1 − ε)·p + ε/C). The gradient is then ∂ℓᵢ/∂xᵢ = (Σ_c q_ic)·softmax(xᵢ) − qᵢ:
one pass forward, one backward, finite at any logit.

On a GPU nothing here waits for the device: targets are checked there and a bad one is reported
at the next sync (the logged loss's ``.item()``), and the fused path handles ``ignore_index`` on
the device instead of being chosen by host reductions.
"""
from __future__ import annotations

import numpy as np

from ... import backend, devices, ops
from ...autograd.function import Function
from ...tensor import Tensor
from .activation import _log_softmax_raw

__all__ = ["cross_entropy", "nll_loss"]

_REDUCTIONS = ("mean", "sum", "none")


def legacy_reduction(size_average, reduce, reduction: str) -> str:
    """PyTorch's deprecated ``size_average``/``reduce`` flags translated to ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    if reduce is False:
        return "none"
    return "sum" if size_average is False else "mean"


def check_reduction(name: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def reduce_loss(name: str, loss: Tensor, reduction: str) -> Tensor:
    """The per-element ``loss`` averaged ('mean'), added up ('sum') or returned as is ('none')."""
    check_reduction(name, reduction)
    if reduction == "mean":
        return ops.mean(loss)
    if reduction == "sum":
        return ops.sum(loss)
    return loss


def check_tensor(name: str, what: str, x) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: {what} must be a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: {what} must be floating point, got dtype {np.dtype(x.dtype).name}")


class LogSoftmaxNLL(Function):
    """ℓᵢ = −Σ_c q_ic·log softmax(xᵢ)_c over the last axis of x (M, C);
    ∂ℓᵢ/∂x_ic = (Σ_c' q_ic')·softmax(xᵢ)_c − q_ic,  ∂ℓᵢ/∂q_ic = −log softmax(xᵢ)_c."""

    def forward(self, xp, x, q):
        logp = x - x.max(axis=-1, keepdims=True)               # one pass each, in place
        logp -= xp.log(xp.sum(xp.exp(logp), axis=-1, keepdims=True))
        self.save(x, q, logp)
        return -xp.einsum("ij,ij->i", q, logp)

    def backward(self, xp, g):
        x, q, logp = self.saved
        if isinstance(x, Tensor):  # create_graph: rebuild log-softmax from x so it is differentiable
            logp = _log_softmax_raw(xp, x, -1)
        nx, nq = self.needs_input_grad
        g = xp.expand_dims(g, -1)
        gx = gq = None
        if nx:
            gx = g * (xp.exp(logp) * xp.sum(q, axis=-1, keepdims=True) - q)
        if nq:
            gq = -g * logp
        return gx, gq


class IndexCrossEntropyMean(Function):
    """The common case in one node: L = −(1/N) Σᵢ log softmax(xᵢ)_{tᵢ} for logits x (N, C) and
    class indices t;  ∂L/∂x = (softmax(x) − onehot(t)) / N."""

    def forward(self, xp, x, t):
        n = x.shape[0]
        z = x - x.max(axis=1, keepdims=True)
        e = xp.exp(z)
        s = e.sum(axis=1, keepdims=True)
        rows = xp.arange(n)
        loss = (xp.log(s[:, 0]) - z[rows, t]).sum() / x.dtype.type(n)   # mean() costs ≈ 5 µs
        e /= s                                   # softmax, kept for backward
        self.t, self.rows = t, rows
        self.saved = (x, e)
        return xp.asarray(loss, dtype=x.dtype)

    def backward(self, xp, g):
        x, p = self.saved
        n = x.shape[0]
        if isinstance(g, Tensor):  # create_graph: a softmax that is itself differentiable
            onehot = backend.get_array_module(self.rows).zeros(x.shape, dtype=x.dtype)
            onehot[self.rows, self.t] = 1
            return (g / n * (xp.exp(_log_softmax_raw(xp, x, -1)) - onehot),)
        gx = p.copy()
        gx[self.rows, self.t] -= 1
        gx *= g / n
        return (gx,)


class IndexCrossEntropyMeanMasked(Function):
    """The fused mean over targets that are not ``ignore_index``, with no host decision (the
    GPU's path): with v_i = [t_i ≠ ignore] and V = Σ v_i,
    L = −(1/V) Σᵢ v_i·log softmax(xᵢ)_{tᵢ};  ∂L/∂xᵢ = v_i·(softmax(xᵢ) − onehot(tᵢ)) / V
    (V = 0 gives NaN, as in PyTorch)."""

    def forward(self, xp, x, t, ignore_index=-100):
        n, c = x.shape
        valid = t != ignore_index
        bad = valid & ((t < 0) | (t >= c))
        if type(t) is np.ndarray:
            if bad.any():
                raise IndexError(f"cross_entropy: target {t[bad][0]} is out of bounds for {c} "
                                 f"classes (ignore_index={ignore_index})")
        else:
            devices.defer_check(bad.any(), _bad_target_message("cross_entropy", c, ignore_index))
        safe = xp.where(valid & ~bad, t, 0)      # a bad target reads class 0 until reported
        z = x - x.max(axis=1, keepdims=True)
        e = xp.exp(z)
        s = e.sum(axis=1, keepdims=True)
        rows = xp.arange(n)
        vf = valid.astype(x.dtype)
        count = vf.sum()
        loss = ((xp.log(s[:, 0]) - z[rows, safe]) * vf).sum() / count
        e /= s
        self.rows, self.safe, self.vf, self.count = rows, safe, vf, count
        self.saved = (x, e)
        return xp.asarray(loss, dtype=x.dtype)

    def backward(self, xp, g):
        x, p = self.saved
        scale = (self.vf / self.count)[:, None]
        if isinstance(g, Tensor):  # create_graph: a softmax that is itself differentiable
            am = backend.get_array_module(self.vf)
            onehot = am.zeros(x.shape, dtype=x.dtype)
            onehot[self.rows, self.safe] = 1
            return ((g * scale) * (xp.exp(_log_softmax_raw(xp, x, -1)) - onehot),)
        gx = p.copy()
        gx[self.rows, self.safe] -= 1
        gx *= g * scale
        return (gx,)


def _bad_target_message(name: str, c: int, ignore_index: int) -> str:
    return (f"{name}: a target is out of bounds for {c} classes (ignore_index={ignore_index}); "
            "found on the GPU and reported at this sync")


def _classes_last(x: Tensor) -> Tensor:
    """(C,) → (1, C);  (N, C) as is;  (N, C, d1, …) → (N·d1·…, C)."""
    if x.ndim == 1:
        return ops.reshape(x, (1, x.shape[0]))
    if x.ndim == 2:
        return x
    order = (0,) + tuple(range(2, x.ndim)) + (1,)
    return ops.reshape(ops.transpose(x, order), (-1, x.shape[1]))


def _batch_shape(x: Tensor) -> tuple:
    """The shape of the per-sample loss: the input's shape without the class dimension."""
    return () if x.ndim == 1 else (x.shape[0],) + tuple(x.shape[2:])


def _class_weight(name: str, weight, c: int, dtype) -> np.ndarray | None:
    if weight is None:
        return None
    w = weight._data if isinstance(weight, Tensor) else weight
    if not backend.is_array(w):
        w = np.asarray(w)
    if w.shape != (c,):
        raise ValueError(f"{name}: weight must have one entry per class, shape ({c},), got "
                         f"{tuple(w.shape)}")
    return w.astype(dtype, copy=False)


def _indices(name: str, input: Tensor, target) -> np.ndarray:
    t = target._data if isinstance(target, Tensor) else target
    if not backend.is_array(t):
        t = np.asarray(t)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{name}: class-index targets must be integers, got dtype {np.dtype(t.dtype).name}")
    expected = _batch_shape(input)
    if t.shape != expected:
        raise ValueError(f"{name}: input of shape {tuple(input.shape)} needs a target of shape "
                         f"{expected}, got {tuple(t.shape)}")
    return t.reshape(-1)


def _index_weights(name: str, t: np.ndarray, c: int, w, ignore_index: int, dtype):
    """(safe indices, per-sample weight w_t — 0 where ignored, the valid mask)."""
    xp = np if type(t) is np.ndarray else backend.get_array_module(t)
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= c))
    if xp is not np:                      # checked on the device, reported at the next sync
        devices.defer_check(bad.any(), _bad_target_message(name, c, ignore_index))
    elif bad.any():
        raise IndexError(f"{name}: target {t[bad][0]} is out of bounds for {c} classes "
                         f"(ignore_index={ignore_index})")
    safe = xp.where(valid & ~bad, t, 0) if xp is not np else xp.where(valid, t, 0)
    wt = (w[safe] if w is not None else xp.ones(t.shape, dtype)) * valid
    return safe, wt.astype(dtype, copy=False), valid


def _mean(total: Tensor, denom: float) -> Tensor:
    """total / denom; 0/0 (every target ignored) is NaN, as in PyTorch, without a warning. A
    device ``denom`` stays on the device (no sync)."""
    if not isinstance(denom, (int, float, np.generic, np.ndarray)):
        return ops.divide(total, Tensor._wrap(denom, False, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        return ops.divide(total, float(denom))


def cross_entropy(input: Tensor, target, weight=None, size_average=None,
                  ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """−log softmax(x)_t for logits x (N, C, …) and class indices t (N, …), or
    −Σ_c p_c log softmax(x)_c for class probabilities p shaped like x. ``weight`` rescales classes
    ('mean' then divides by Σ w_t over non-ignored targets), ``ignore_index`` drops targets,
    ``label_smoothing`` ε blends the target with the uniform distribution."""
    name = "cross_entropy"
    reduction = legacy_reduction(size_average, reduce, reduction)
    check_reduction(name, reduction)
    check_tensor(name, "input", input)
    if input.ndim == 0:
        raise ValueError(f"{name}: input must have a class dimension, got a 0-d tensor")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing}")
    c = input.shape[1] if input.ndim >= 2 else input.shape[0]
    dtype = input.dtype
    w = _class_weight(name, weight, c, dtype)
    x = _classes_last(input)
    tdata = target._data if isinstance(target, Tensor) else np.asarray(target)
    if tdata.dtype.kind == "f":  # class probabilities
        if tuple(tdata.shape) != tuple(input.shape):
            raise ValueError(f"{name}: probability targets must have the input's shape "
                             f"{tuple(input.shape)}, got {tuple(tdata.shape)}")
        p = _classes_last(ops.cast(target if isinstance(target, Tensor) else Tensor(tdata),
                                   dtype))
        if label_smoothing > 0:
            p = ops.add(ops.multiply(p, 1.0 - label_smoothing), label_smoothing / c)
        q = ops.multiply(p, w) if w is not None else p
        loss = LogSoftmaxNLL.apply(x, q)
        denom = x.shape[0]
    else:
        t = _indices(name, input, target)
        if type(t) is not np.ndarray or not isinstance(input._data, np.ndarray):
            devices.check_same_device(name, (input._data, t))
            if reduction == "mean" and input.ndim == 2 and w is None and label_smoothing == 0:
                return IndexCrossEntropyMeanMasked.apply(input, t, ignore_index=ignore_index)
        if (reduction == "mean" and input.ndim == 2 and w is None and label_smoothing == 0
                and t.size and 0 <= np.minimum.reduce(t) and np.maximum.reduce(t) < c
                and (not 0 <= ignore_index < c or not (t == ignore_index).any())):
            return IndexCrossEntropyMean.apply(input, t)    # every target a class, none ignored
        safe, wt, valid = _index_weights(name, t, c, w, ignore_index, dtype)
        xp = np if type(t) is np.ndarray else backend.get_array_module(t)
        if label_smoothing > 0:  # ε/C of every class (weighted), then the target's share
            q = xp.empty(x.shape, dtype=dtype)
            q[...] = (label_smoothing / c) * (w if w is not None else 1.0)
            q = xp.where(valid[:, None], q, 0)     # no boolean-mask store: no sync
        else:
            q = xp.zeros(x.shape, dtype=dtype)
        q[xp.arange(t.size), safe] += (1.0 - label_smoothing) * wt
        loss = LogSoftmaxNLL.apply(x, q)
        denom = wt.sum(dtype=dtype)
    if reduction == "none":
        return ops.reshape(loss, _batch_shape(input))
    total = ops.sum(loss)
    return total if reduction == "sum" else _mean(total, denom)


def nll_loss(input: Tensor, target, weight=None, size_average=None, ignore_index: int = -100,
             reduce=None, reduction: str = "mean") -> Tensor:
    """ℓ = −w_t·x_t for log-probabilities x (N, C, …) and class indices t;  ∂ℓ/∂x_t = −w_t.
    'mean' divides by Σ w_t over the targets that are not ``ignore_index``."""
    name = "nll_loss"
    reduction = legacy_reduction(size_average, reduce, reduction)
    check_reduction(name, reduction)
    check_tensor(name, "input", input)
    if input.ndim == 0:
        raise ValueError(f"{name}: input must have a class dimension, got a 0-d tensor")
    c = input.shape[1] if input.ndim >= 2 else input.shape[0]
    w = _class_weight(name, weight, c, input.dtype)
    t = _indices(name, input, target)
    safe, wt, _ = _index_weights(name, t, c, w, ignore_index, input.dtype)
    picked = ops.take_along_axis(_classes_last(input), safe[:, None].astype(np.intp), 1)
    loss = ops.multiply(ops.reshape(picked, (-1,)), -wt)
    if reduction == "none":
        return ops.reshape(loss, _batch_shape(input))
    total = ops.sum(loss)
    return total if reduction == "sum" else _mean(total, wt.sum(dtype=input.dtype))
