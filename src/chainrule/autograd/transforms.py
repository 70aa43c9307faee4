"""Function transforms (``chainrule.func``): grad, grad_and_value, vjp, jacrev, hessian, hvp.

Each takes a function of Tensors and returns a function (or a value), as in ``torch.func`` and
HIPS autograd, so they compose: ``hessian(f) == jacrev(jacrev(f))``, ``grad(grad(f))``.

How one transform works: the differentiated arguments are replaced by inputs of the transform's
own — a fresh leaf that requires grad, or, when the caller's tensor is itself being
differentiated by an outer transform, an alias node that keeps the path to it — ``f`` runs on
them, and :func:`chainrule.autograd.grad` pulls cotangents back: for y = f(x) and a cotangent u,
the vector-Jacobian product is uᵀ·∂y/∂x. The gradient is built with ``create_graph=True`` only
when something outside the transform (an outer transform, a closed-over parameter) can still
differentiate the result; otherwise results come back detached and backward runs on raw arrays.
The caller's tensors are never modified.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .function import Function
from .grad_mode import enable_grad, is_grad_enabled
from . import engine

__all__ = ["grad", "grad_and_value", "vjp", "jacrev", "jacobian", "hessian", "hvp"]


def _Tensor():
    from ..tensor import Tensor  # late: chainrule.tensor imports this package
    return Tensor


class _Alias(Function):
    """z = x as a new graph node (so a transform can tell its own input apart);  ∂z/∂x = 1."""

    name = "alias"

    def forward(self, xp, x):
        return x.view()

    def backward(self, xp, g):
        return (g,)


# -- tracing: run f on the transform's own inputs ------------------------------------------------
def _argnums(argnums, nargs: int, fname: str) -> tuple:
    many = isinstance(argnums, (tuple, list))
    nums = tuple(argnums) if many else (argnums,)
    if not nums:
        raise ValueError(f"{fname}: argnums must not be empty")
    out = []
    for a in nums:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{fname}: argnums must be an int or a tuple of ints, got {argnums!r}")
        if not -nargs <= a < nargs:
            raise ValueError(f"{fname}: argnums {a} is out of range for a function called with "
                             f"{nargs} positional argument(s)")
        out.append(int(a) % nargs)
    return tuple(out)


def _own_input(x, fname: str, i: int, outer: bool):
    """The transform's stand-in for the caller's tensor ``x`` (argument ``i``)."""
    Tensor = _Tensor()
    if not isinstance(x, Tensor):
        raise TypeError(f"{fname}: argument {i} must be a Tensor to be differentiated, got "
                        f"{type(x).__name__}")
    if x.dtype.kind not in "fc":
        raise TypeError(f"{fname}: argument {i} has dtype {np.dtype(x.dtype).name}; only floating-point tensors "
                        "can be differentiated")
    if outer and x.requires_grad:
        return _Alias.apply(x)                       # stay connected to the outer graph
    return Tensor._wrap(x._data.view(), True, None)   # a fresh leaf sharing the caller's data


def _reaches_outside(outputs, own: set) -> bool:
    """True if ``outputs`` depend on a tensor requiring grad other than the transform's own."""
    stack, seen = [], set()
    for o in outputs:
        if o.grad_fn is not None:
            stack.append(o.grad_fn)
        elif o.requires_grad and id(o) not in own:
            return True
    while stack:
        node = stack.pop()
        if node.inputs is None:                      # a released graph: not ours
            return True
        for t, need in zip(node.inputs, node.needs_input_grad):
            if not need:
                continue
            if t.grad_fn is None:
                if id(t) not in own:
                    return True
            elif t.grad_fn not in seen:
                seen.add(t.grad_fn)
                stack.append(t.grad_fn)
    return False


def _trace(f: Callable, args: tuple, kwargs: dict, argnums, fname: str, has_aux: bool):
    """Run ``f`` with its differentiated arguments replaced: (output, aux, inputs, create_graph)."""
    nums = _argnums(argnums, len(args), fname)
    outer = is_grad_enabled()
    xs = [_own_input(args[i], fname, i, outer) for i in nums]
    new_args = list(args)
    for i, x in zip(nums, xs):
        new_args[i] = x
    with enable_grad():
        out = f(*new_args, **kwargs)
    aux = None
    if has_aux:
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise TypeError(f"{fname}(has_aux=True): the function must return a pair "
                            f"(output, aux), got {type(out).__name__}")
        out, aux = out
    outs = _as_outputs(out, fname)
    connected = outer and (any(x.grad_fn is not None for x in xs)
                           or _reaches_outside(outs, {id(x) for x in xs}))
    return out, aux, xs, connected


def _as_outputs(out, fname: str) -> list:
    Tensor = _Tensor()
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    for o in outs:
        if not isinstance(o, Tensor):
            raise TypeError(f"{fname}: the function must return a Tensor (or a tuple of Tensors), "
                            f"got {type(o).__name__}")
    return outs


# -- pulling cotangents back ---------------------------------------------------------------------
def _pullback(outputs: Sequence, xs: Sequence, cotangents: Sequence, create_graph: bool) -> tuple:
    """Σ_k u_kᵀ·∂y_k/∂x for every x: one backward pass; zeros for inputs the outputs ignore."""
    Tensor = _Tensor()
    live = [(y, u) for y, u in zip(outputs, cotangents) if y.requires_grad]
    create_graph = create_graph or any(
        isinstance(u, Tensor) and u.requires_grad for _, u in live)
    if live:
        gs = engine.grad([y for y, _ in live], list(xs), [u for _, u in live],
                         retain_graph=True, create_graph=create_graph, allow_unused=True)
    else:
        gs = (None,) * len(xs)
    return tuple(Tensor._wrap(np.zeros_like(x._data), False, None) if g is None else g
                 for x, g in zip(xs, gs))


def _detached(value, connected: bool):
    """``value`` as the transform hands it back: cut from the transform's graph unless an
    outer one still needs it."""
    Tensor = _Tensor()
    if connected:
        return value
    if isinstance(value, Tensor):
        return value.detach()
    if isinstance(value, (tuple, list)):
        return type(value)(_detached(v, False) for v in value)
    if isinstance(value, dict):
        return {k: _detached(v, False) for k, v in value.items()}
    return value


def _pick(gs: tuple, argnums):
    return gs if isinstance(argnums, (tuple, list)) else gs[0]


def _scalar(out, fname: str):
    Tensor = _Tensor()
    if not isinstance(out, Tensor) or out._data.size != 1:
        what = f"shape {tuple(out.shape)}" if isinstance(out, Tensor) else type(out).__name__
        raise RuntimeError(f"{fname}: the function must return a one-element Tensor, got {what}; "
                           "use jacrev or vjp for non-scalar outputs")
    return out


# -- the transforms ------------------------------------------------------------------------------
def grad_and_value(f: Callable, argnums: int | tuple = 0, has_aux: bool = False) -> Callable:
    """A function returning (∇f, f) at its arguments; with ``has_aux``, (∇f, (f, aux)).
    ``f`` must return a one-element Tensor; the gradient is w.r.t. argument(s) ``argnums``."""
    def wrapper(*args, **kwargs):
        out, aux, xs, connected = _trace(f, args, kwargs, argnums, "grad", has_aux)
        _scalar(out, "grad")
        gs = _pullback([out], xs, [None], connected)
        g = _pick(_detached(gs, connected), argnums)
        value = _detached(out, connected)
        return (g, (value, _detached(aux, connected))) if has_aux else (g, value)
    return wrapper


def grad(f: Callable, argnums: int | tuple = 0, has_aux: bool = False) -> Callable:
    """A function returning ∇f (∂f/∂args[argnums]); with ``has_aux``, (∇f, aux)."""
    gv = grad_and_value(f, argnums, has_aux)

    def wrapper(*args, **kwargs):
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g
    return wrapper


def vjp(f: Callable, *primals, has_aux: bool = False):
    """(f(*primals), vjp_fn) where vjp_fn(u) = uᵀ·∂f/∂primals, one gradient per primal (a tuple).

    ``u`` has the structure of f's output (a Tensor, or a tuple of them); vjp_fn may be called
    many times. With ``has_aux`` returns (output, vjp_fn, aux).
    """
    Tensor = _Tensor()
    out, aux, xs, connected = _trace(f, primals, {}, tuple(range(len(primals))), "vjp", has_aux)
    outs = _as_outputs(out, "vjp")

    def vjp_fn(cotangents):
        us = list(cotangents) if isinstance(cotangents, (tuple, list)) else [cotangents]
        if len(us) != len(outs):
            raise ValueError(f"vjp_fn: expected {len(outs)} cotangent(s), got {len(us)}")
        for k, (y, u) in enumerate(zip(outs, us)):
            if tuple(np.shape(u)) != tuple(y.shape):
                raise ValueError(f"vjp_fn: cotangent {k} has shape {tuple(np.shape(u))} but the "
                                 f"output has shape {tuple(y.shape)}")
        us = [u if isinstance(u, Tensor) else Tensor._wrap(np.asarray(u, y.dtype), False, None)
              for y, u in zip(outs, us)]
        return _detached(_pullback(outs, xs, us, connected), connected)

    result = (_detached(out, connected), vjp_fn)
    return result + (_detached(aux, connected),) if has_aux else result


def _jacobian_rows(y, xs, connected: bool) -> tuple:
    """∂y/∂x for every x, shape y.shape + x.shape: one backward per element of y (its rows)."""
    Tensor = _Tensor()
    from .. import ops

    n = y._data.size
    rows = []
    for k in range(n):
        e = np.zeros(n, dtype=y.dtype)
        e[k] = 1
        rows.append(_pullback([y], xs, [Tensor._wrap(e.reshape(y.shape), False, None)],
                              connected))
    jac = []
    for i, x in enumerate(xs):
        shape = tuple(y.shape) + tuple(x.shape)
        if n == 0:
            jac.append(Tensor._wrap(np.zeros(shape, dtype=x.dtype), False, None))
        elif connected:
            jac.append(ops.reshape(ops.stack([r[i] for r in rows]), shape))
        else:
            jac.append(Tensor._wrap(np.stack([r[i]._data for r in rows]).reshape(shape),
                                    False, None))
    return tuple(jac)


def jacrev(f: Callable, argnums: int | tuple = 0, has_aux: bool = False) -> Callable:
    """A function returning the Jacobian ∂f/∂args[argnums], of shape out.shape + in.shape, built
    row by row with one reverse pass per output element. A tuple ``argnums`` gives a tuple of
    Jacobians; a tuple output gives a tuple (one entry per output)."""
    def wrapper(*args, **kwargs):
        out, aux, xs, connected = _trace(f, args, kwargs, argnums, "jacrev", has_aux)
        outs = _as_outputs(out, "jacrev")
        jacs = [_pick(_jacobian_rows(y, xs, connected), argnums) for y in outs]
        jac = tuple(jacs) if isinstance(out, (tuple, list)) else jacs[0]
        return (jac, _detached(aux, connected)) if has_aux else jac
    return wrapper


jacobian = jacrev


def hessian(f: Callable, argnums: int | tuple = 0) -> Callable:
    """A function returning the Hessian ∂²f/∂x², shape out.shape + in.shape + in.shape: the
    Jacobian of the Jacobian. For a tuple ``argnums``, H[i][j] = ∂²f/∂xᵢ∂xⱼ."""
    return jacrev(jacrev(f, argnums), argnums)


def hvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), H·v) for a scalar ``func``, without forming H (as
    ``torch.autograd.functional.hvp``): H·v = ∇ₓ⟨∇ₓf(x), v⟩, two reverse passes.

    ``inputs`` and ``v`` are a Tensor or matching tuples of Tensors. With ``create_graph`` the
    results stay differentiable w.r.t. inputs that require grad. ``strict`` raises when H·v is
    independent of an input instead of returning zeros.
    """
    Tensor = _Tensor()
    single = isinstance(inputs, Tensor)
    xs_in = (inputs,) if single else tuple(inputs)
    if v is None:
        if not all(x._data.size == 1 for x in xs_in):
            raise RuntimeError("hvp: v can be omitted only when every input has one element")
        vs = [Tensor._wrap(np.ones_like(x._data), False, None) for x in xs_in]
    else:
        vs = [v] if single else list(v)
    if len(vs) != len(xs_in):
        raise ValueError(f"hvp: v has {len(vs)} entries but inputs has {len(xs_in)}")
    for i, (x, u) in enumerate(zip(xs_in, vs)):
        if tuple(np.shape(u)) != tuple(x.shape):
            raise ValueError(f"hvp: v[{i}] has shape {tuple(np.shape(u))} but inputs[{i}] has "
                             f"shape {tuple(x.shape)}")
    vs = [u if isinstance(u, Tensor) else Tensor._wrap(np.asarray(u, x.dtype), False, None)
          for x, u in zip(xs_in, vs)]

    keep = create_graph and is_grad_enabled()
    xs = [_own_input(x, "hvp", i, keep) for i, x in enumerate(xs_in)]
    with enable_grad():
        out = _scalar(func(*xs), "hvp")
        gs = _pullback([out], xs, [None], True)
        dot = None
        for g, u in zip(gs, vs):
            if g.requires_grad:
                term = (g * u).sum()
                dot = term if dot is None else dot + term
        if dot is None:
            hv = tuple(Tensor._wrap(np.zeros_like(x._data), False, None) for x in xs)
            unused = list(range(len(xs)))
        else:
            raw = engine.grad(dot, xs, create_graph=keep, allow_unused=True)
            unused = [i for i, h in enumerate(raw) if h is None]
            hv = tuple(Tensor._wrap(np.zeros_like(x._data), False, None) if h is None else h
                       for x, h in zip(xs, raw))
    if strict and unused:
        raise RuntimeError(f"hvp(strict=True): the Hessian-vector product does not depend on "
                           f"input(s) {unused}")
    out, hv = _detached(out, keep), _detached(hv, keep)
    return out, (hv[0] if single else hv)
