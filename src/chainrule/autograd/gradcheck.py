"""gradcheck and gradgradcheck: compare backprop's gradients with finite differences.

For a function f and a fixed random output weighting u, s(x) = ⟨u, f(x)⟩ is a scalar whose
gradient backward computes in one pass. Central differences estimate each component:
∂s/∂xᵢ ≈ (s(x + εeᵢ) − s(x − εeᵢ)) / 2ε, with error O(ε²). Inputs must be float64: in float32
the rounding error of s, about 1e-7·|s|/ε, would swamp the check.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from . import engine

if TYPE_CHECKING:  # the module is imported by chainrule.tensor, so only for annotations
    from ..tensor import Tensor
from .grad_mode import enable_grad, no_grad

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """Backprop and finite differences disagree; the message names the input and element."""


def _tensor_type():
    from ..tensor import Tensor  # late: chainrule.tensor imports this package
    return Tensor


def _outputs(fn, inputs) -> list:
    Tensor = _tensor_type()
    out = fn(*inputs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return [o for o in outs if isinstance(o, Tensor)]


def _weighted_sum(outs, weights) -> float:
    return float(sum(np.sum(o._data.astype(np.float64) * w) for o, w in zip(outs, weights)))


def _fail(msg: str, raise_exception: bool) -> bool:
    if raise_exception:
        raise GradcheckError(msg)
    return False


def gradcheck(fn: Callable, inputs: Sequence[Tensor] | Tensor, eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True,
              max_elements: int = 200, seed: int = 0) -> bool:
    """True if every gradient of ``fn`` at ``inputs`` matches central differences.

    Checks up to ``max_elements`` elements of each input (a random sample beyond that) and,
    for the whole input, one random direction v: ⟨∇s, v⟩ against (s(x+εv) − s(x−εv)) / 2ε.
    A mismatch raises :class:`GradcheckError` naming the input, its worst element and both values
    (or returns False with ``raise_exception=False``).
    """
    Tensor = _tensor_type()
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    diff = list({id(t): t for t in inputs if isinstance(t, Tensor) and t.requires_grad}.values())
    if not diff:
        raise ValueError("gradcheck: no input requires grad")
    position = {id(t): next(i for i, x in enumerate(inputs) if x is t) for t in diff}
    for t in diff:
        if t.dtype != np.float64:
            raise ValueError(f"gradcheck: input {position[id(t)]} has dtype {np.dtype(t.dtype).name}; use float64 "
                             "inputs (finite differences are meaningless in float32)")
    rng = np.random.default_rng(seed)
    with enable_grad():
        outs = _outputs(fn, inputs)
        weights = [rng.standard_normal(o.shape) for o in outs]
        live = [(o, w) for o, w in zip(outs, weights) if o.requires_grad]
        if live:
            analytic = engine.grad([o for o, _ in live], diff,
                                   grad_outputs=[Tensor(w.astype(o.dtype)) for o, w in live],
                                   allow_unused=True)
        else:
            analytic = [None] * len(diff)
    analytic = [np.zeros(t.shape) if g is None else g._data for t, g in zip(diff, analytic)]

    def s_at() -> float:
        with no_grad():
            return _weighted_sum(_outputs(fn, inputs), weights)

    for t, ga in zip(diff, analytic):
        data = t._data            # perturbed in place, element by element (any memory layout)
        idx = np.arange(data.size)
        if data.size > max_elements:
            idx = rng.choice(data.size, max_elements, replace=False)
        numeric = np.empty(len(idx))
        for j, e in enumerate(idx):
            at = np.unravel_index(int(e), data.shape)
            old = data[at]
            data[at] = old + eps
            hi = s_at()
            data[at] = old - eps
            lo = s_at()
            data[at] = old
            numeric[j] = (hi - lo) / (2 * eps)
        got = ga.reshape(-1)[idx]
        err = np.abs(got - numeric) - (atol + rtol * np.abs(numeric))
        bad = ~np.isfinite(got) | ~np.isfinite(numeric)
        if (err > 0).any() or bad.any():
            w = int(np.argmax(np.where(bad, np.inf, err)))
            where = tuple(int(i) for i in np.unravel_index(int(idx[w]), t.shape))
            return _fail(f"gradcheck: gradient of input {position[id(t)]} (shape {tuple(t.shape)}) is "
                         f"wrong at element {where}: backward gives {got[w]:.8g}, finite "
                         f"differences {numeric[w]:.8g} (difference {abs(got[w] - numeric[w]):.3g}"
                         f", tolerance {atol + rtol * abs(numeric[w]):.3g})", raise_exception)

    # One random direction through all inputs at once catches errors between sampled elements.
    vs = [rng.standard_normal(t.shape) for t in diff]
    olds = [t._data.copy() for t in diff]
    for t, v, o in zip(diff, vs, olds):
        t._data[...] = o + eps * v
    hi = s_at()
    for t, v, o in zip(diff, vs, olds):
        t._data[...] = o - eps * v
    lo = s_at()
    for t, o in zip(diff, olds):
        t._data[...] = o
    numeric = (hi - lo) / (2 * eps)
    got = float(sum(np.sum(g * v) for g, v in zip(analytic, vs)))
    if not abs(got - numeric) <= atol + rtol * abs(numeric):
        return _fail(f"gradcheck: directional derivative along a random direction is wrong: "
                     f"backward gives {got:.8g}, finite differences {numeric:.8g}", raise_exception)
    return True


def gradgradcheck(fn: Callable, inputs: Sequence[Tensor] | Tensor, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True,
                  seed: int = 0) -> bool:
    """True if the gradient of ``fn``'s gradient (second derivatives, through
    ``create_graph=True``) matches finite differences of the first gradient: gradcheck applied
    to x ↦ ∂⟨u, fn(x)⟩/∂x for a fixed random u."""
    Tensor = _tensor_type()
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    rng = np.random.default_rng(seed + 1)
    with enable_grad():
        outs = _outputs(fn, inputs)
    weights = [Tensor(rng.standard_normal(o.shape).astype(o.dtype)) for o in outs]

    def first_grad(*xs):
        with enable_grad():
            o = _outputs(fn, xs)
            live = [(a, w) for a, w in zip(o, weights) if a.requires_grad]
            if not live:
                return ()
            gs = engine.grad([a for a, _ in live], [x for x in xs if x.requires_grad],
                             grad_outputs=[w for _, w in live], create_graph=True,
                             allow_unused=True)
        return tuple(g for g in gs if g is not None)

    try:
        return gradcheck(first_grad, inputs, eps=eps, atol=atol, rtol=rtol,
                         raise_exception=raise_exception, seed=seed)
    except GradcheckError as exc:
        raise GradcheckError("gradgradcheck (second derivatives): "
                             + str(exc).removeprefix("gradcheck: ")) from None
