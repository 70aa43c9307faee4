"""Sampling with PyTorch's names: normal, bernoulli, multinomial, and the in-place random_,
bernoulli_, exponential_; each takes ``generator=`` (a :class:`chainrule.Generator`, or None for
the default one).

As in PyTorch, samples are not differentiable in their parameters: an output drawn from a mean,
std or probability that requires grad is in the graph, but its gradient is zero.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend, dtypes
from ..autograd.function import Function
from ..generator import numpy_generator
from ..tensor import Tensor
from ._args import size_arg

__all__ = ["normal", "bernoulli", "multinomial"]


class Sampled(Function):
    """z = a sample drawn from distribution parameters θ;  ∂L/∂θ = 0 (PyTorch's convention:
    no reparameterisation)."""

    def forward(self, xp, *params, value=None):
        return value

    def backward(self, xp, g):
        zero = g * 0
        return tuple(zero for _ in self.needs_input_grad)


def _sampled(value: np.ndarray, params: list) -> Tensor:
    ts = [p for p in params if isinstance(p, Tensor)]
    if any(t.requires_grad for t in ts):
        return Sampled.apply(*ts, value=value)
    return Tensor._wrap(value, False, None)


def _float_tensor(x, who: str, what: str) -> Tensor:
    if x.dtype.kind != "f":
        raise TypeError(f"{who}: {what} must be a floating tensor, got {np.dtype(x.dtype).name}")
    return x


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None,
           requires_grad: bool = False) -> Tensor:
    """x ~ N(mean, std²) elementwise. Overloads as PyTorch's: tensor mean and/or std (shapes
    broadcast; the result has their dtype), or float mean and std with ``size``."""
    rng = numpy_generator(generator, "normal")
    m_t, s_t = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not m_t and not s_t:
        if size is None:
            raise TypeError("normal: with a float mean and std, size is required (or pass a "
                            "tensor mean or std)")
        if std < 0:
            raise ValueError(f"normal: std must be >= 0, got {std}")
        dt = backend.get_default_dtype() if dtype is None else dtypes.to_dtype(dtype)
        out = Tensor._wrap(rng.normal(mean, std, size_arg((size,))).astype(dt), False, None)
        return out.requires_grad_(True) if requires_grad else out
    if size is not None:
        raise TypeError("normal: size is only for a float mean and std; a tensor mean or std "
                        "gives the shape")
    if m_t:
        _float_tensor(mean, "normal", "mean")
    if s_t:
        _float_tensor(std, "normal", "std")
        if std.numel() and float(std._data.min()) < 0:
            raise ValueError(f"normal: every element of std must be >= 0, found "
                             f"{float(std._data.min())}")
    elif std < 0:
        raise ValueError(f"normal: std must be >= 0, got {std}")
    m = mean._data if m_t else mean
    s = std._data if s_t else std
    dt = dtypes.result_type(mean, std) if m_t and s_t else (mean if m_t else std).dtype
    try:
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
    except ValueError:
        raise ValueError(f"normal: mean of shape {tuple(np.shape(m))} and std of shape "
                         f"{tuple(np.shape(s))} do not broadcast") from None
    value = (m + s * rng.standard_normal(shape)).astype(dt)
    return _sampled(np.ascontiguousarray(np.broadcast_to(value, shape)), [mean, std])


def _probabilities(p, who: str) -> np.ndarray:
    a = p._data if isinstance(p, Tensor) else np.asarray(p, dtype=np.float64)
    if a.size and not (np.all(a >= 0) and np.all(a <= 1)):
        raise ValueError(f"{who}: probabilities must lie in [0, 1], got values in "
                         f"[{float(np.nanmin(a))}, {float(np.nanmax(a))}]"
                         + (" and NaN" if np.isnan(a).any() else ""))
    return a


def bernoulli(input: Tensor, p: float | None = None, *, generator=None) -> Tensor:
    """z ~ Bernoulli(input) elementwise (or Bernoulli(p) for one float ``p``), as 0/1 in
    input's dtype."""
    if not isinstance(input, Tensor):
        raise TypeError(f"bernoulli: input must be a Tensor, got {type(input).__name__}")
    _float_tensor(input, "bernoulli", "input")
    prob = _probabilities(input if p is None else p, "bernoulli")
    u = numpy_generator(generator, "bernoulli").random(input.shape)
    value = (u < prob).astype(input.dtype)
    return _sampled(value, [input] if p is None else [])


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator=None) -> Tensor:
    """Category indices (int64) drawn from each row of the non-negative weights ``input``
    (1-D: (num_samples,); 2-D: (rows, num_samples)). With replacement each draw is independent
    with P(i) = wᵢ/Σw; without, each draw excludes the ones before (sequential sampling, done
    as the top ``num_samples`` of wᵢ/Eᵢ with Eᵢ ~ Exp(1))."""
    who = "multinomial"
    if not isinstance(input, Tensor):
        raise TypeError(f"{who}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (1, 2):
        raise ValueError(f"{who}: input must be 1-D or 2-D, got shape {tuple(input.shape)}")
    _float_tensor(input, who, "input")
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) \
            or num_samples <= 0:
        raise ValueError(f"{who}: num_samples must be a positive int, got {num_samples!r}")
    w = input._data.reshape(-1, input.shape[-1]).astype(np.float64)
    k = w.shape[1]
    if k == 0:
        raise ValueError(f"{who}: input of shape {tuple(input.shape)} has no categories")
    if not replacement and num_samples > k:
        raise ValueError(f"{who}: cannot draw {num_samples} samples without replacement from "
                         f"{k} categories")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"{who}: the weights must be finite and non-negative (input shape "
                         f"{tuple(input.shape)} holds inf, nan or a negative value)")
    total = w.sum(axis=1)
    if np.any(total <= 0):
        rows = np.flatnonzero(total <= 0).tolist()
        raise ValueError(f"{who}: row(s) {rows} of input shape {tuple(input.shape)} have all-zero "
                         "weights: no distribution to draw from")
    rng = numpy_generator(generator, who)
    if replacement:
        cdf = np.cumsum(w, axis=1)
        cdf /= cdf[:, -1:]
        u = rng.random((w.shape[0], num_samples))
        out = np.stack([np.searchsorted(c, r, side="right") for c, r in zip(cdf, u)])
        out = np.minimum(out, k - 1)
    else:
        keys = w / rng.standard_exponential(w.shape)
        out = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    out = out.astype(np.int64)
    return Tensor._wrap(out.reshape(num_samples) if input.ndim == 1 else out, False, None)


# -- in-place random methods -------------------------------------------------------------------
def _random_bounds(t: Tensor, args: tuple, kw: dict) -> tuple:
    """[low, high) for ``random_``: (), (to,), (from, to), or keywords from/to; unbounded means
    [0, 2^mantissa] for floats and [0, max] for integers, as PyTorch."""
    low, high = 0, None
    if "from" in kw or "from_" in kw:
        low = kw.pop("from", kw.pop("from_", 0))
    if "to" in kw:
        high = kw.pop("to")
    if kw:
        raise TypeError(f"random_: unexpected keyword arguments {sorted(kw)}")
    if len(args) == 1:
        high = args[0]
    elif len(args) == 2:
        low, high = args
    elif len(args) > 2:
        raise TypeError(f"random_: takes at most 2 positional arguments, got {len(args)}")
    dt = t.dtype
    if high is None:
        if dt == np.bool_:
            high = 2
        elif dt.kind == "f":
            high = 2 ** (np.finfo(dt).nmant + 1) + 1
        else:
            high = int(np.iinfo(dt).max) + 1
    if not high > low:
        raise ValueError(f"random_: expects from < to, got from={low}, to={high}")
    return int(low), int(high)


def random_(self, *args, generator=None, **kw) -> Tensor:
    """Fill with integers uniform on [from, to) (see :func:`_random_bounds` for the defaults)."""
    self._check_inplace("random_")
    low, high = _random_bounds(self, args, kw)
    rng = numpy_generator(generator, "random_")
    if high - 1 > np.iinfo(np.int64).max:   # uint64-sized ranges
        vals = rng.integers(low, high, self.shape, dtype=np.uint64)
    else:
        vals = rng.integers(low, high, self.shape)
    self._data[...] = vals
    return self


def bernoulli_(self, p=0.5, *, generator=None) -> Tensor:
    """Fill with 1 with probability ``p`` (a float or a tensor broadcastable to self), else 0."""
    self._check_inplace("bernoulli_")
    prob = _probabilities(p, "bernoulli_")
    self._data[...] = numpy_generator(generator, "bernoulli_").random(self.shape) < prob
    return self


def exponential_(self, lambd: float = 1.0, *, generator=None) -> Tensor:
    """Fill with samples of Exp(λ): density λ·e^{−λx} on x ≥ 0."""
    self._check_inplace("exponential_")
    if not lambd > 0 or not math.isfinite(lambd):
        raise ValueError(f"exponential_: lambd must be positive and finite, got {lambd}")
    rng = numpy_generator(generator, "exponential_")
    self._data[...] = rng.standard_exponential(self.shape) / lambd
    return self


def _bernoulli_method(self, p=None, *, generator=None) -> Tensor:
    return bernoulli(self, p, generator=generator)


def _multinomial_method(self, num_samples: int, replacement: bool = False, *,
                        generator=None) -> Tensor:
    return multinomial(self, num_samples, replacement, generator=generator)


def _attach() -> None:
    Tensor.random_ = random_
    Tensor.bernoulli_ = bernoulli_
    Tensor.exponential_ = exponential_
    Tensor.bernoulli = _bernoulli_method
    Tensor.multinomial = _multinomial_method


_attach()
