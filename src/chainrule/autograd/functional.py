"""``chainrule.autograd.functional``: PyTorch's ``torch.autograd.functional`` (jacobian, hessian,
vjp, jvp, hvp, vhp), with its signatures, over the composable transforms of
:mod:`chainrule.autograd.transforms` (``chainrule.func``).

``inputs`` is a Tensor or a tuple of Tensors, passed to ``func`` as separate arguments; results
have the structure of ``inputs`` (and, for jacobian, of the outputs). For y = f(x):

* ``vjp``: uᵀ·∂y/∂x (one reverse pass);
* ``jvp``: ∂y/∂x·v, as the vjp of the vjp: ∂/∂u ⟨uᵀ·∂y/∂x, v⟩ (two reverse passes);
* ``jacobian``: ∂y/∂x, shape y.shape + x.shape; ``hessian``: ∂²f/∂x², for a scalar f;
* ``hvp``: H·v and ``vhp``: vᵀ·H (the same vector for a twice-differentiable f: H is symmetric).

``create_graph=False`` gives results cut from the graph; ``True`` keeps them differentiable with
respect to inputs that require grad. ``strict=True`` raises when an output does not depend on
an input (vjp, jvp, hvp, vhp check it; jacobian and hessian accept it and return zeros there).
``vectorize`` and the strategy arguments are accepted: Jacobians are always built row by row
in reverse mode here.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from . import transforms as T
from .grad_mode import enable_grad, no_grad, set_grad_enabled
from . import engine

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]

_STRATEGIES = ("reverse-mode", "forward-mode")


def _inputs(inputs, fname: str):
    Tensor = T._Tensor()
    single = isinstance(inputs, Tensor)
    xs = (inputs,) if single else tuple(inputs)
    for i, x in enumerate(xs):
        if not isinstance(x, Tensor):
            raise TypeError(f"{fname}: inputs must be a Tensor or a tuple of Tensors; entry {i} "
                            f"is a {type(x).__name__}")
    return single, xs


def _vectors(v, xs_or_ys, single: bool, fname: str, what: str):
    """``v`` as a list of Tensors matching ``xs_or_ys`` in shape (ones allowed to be omitted
    only for one-element tensors)."""
    Tensor = T._Tensor()
    if v is None:
        if not all(x._data.size == 1 for x in xs_or_ys):
            raise RuntimeError(f"{fname}: v can be omitted only when every {what} has one "
                               "element")
        return [Tensor._wrap(np.ones_like(x._data), False, None) for x in xs_or_ys]
    vs = [v] if isinstance(v, Tensor) or single else list(v)
    if len(vs) != len(xs_or_ys):
        raise ValueError(f"{fname}: v has {len(vs)} entries but there are {len(xs_or_ys)} "
                         f"{what}s")
    out = []
    for i, (x, u) in enumerate(zip(xs_or_ys, vs)):
        if tuple(np.shape(u)) != tuple(x.shape):
            raise ValueError(f"{fname}: v[{i}] has shape {tuple(np.shape(u))} but {what} {i} has "
                             f"shape {tuple(x.shape)}")
        out.append(u if isinstance(u, Tensor) else Tensor._wrap(np.asarray(u, x.dtype),
                                                                 False, None))
    return out


def _mode(create_graph: bool):
    return enable_grad() if create_graph else no_grad()


def _strict_check(fn: Callable, xs, fname: str) -> None:
    """strict=True: every input must reach some output."""
    with enable_grad():
        leaves = [T._Tensor()._wrap(x._data.view(), True, None) for x in xs]
        outs = T._as_outputs(fn(*leaves), fname)
        live = [o for o in outs if o.requires_grad]
        used = (engine.grad(live, leaves, [T._Tensor()._wrap(np.ones_like(o._data), False, None)
                                           for o in live], allow_unused=True)
                if live else (None,) * len(leaves))
    unused = [i for i, g in enumerate(used) if g is None]
    if unused:
        raise RuntimeError(f"{fname}(strict=True): the output does not depend on input(s) "
                           f"{unused}")


def vjp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), vᵀ·∂func/∂inputs)."""
    single, xs = _inputs(inputs, "vjp")
    if strict:
        _strict_check(func, xs, "vjp")
    with _mode(create_graph):
        out, pull = T.vjp(func, *xs)
        outs = T._as_outputs(out, "vjp")
        us = _vectors(v, outs, not isinstance(out, tuple), "vjp", "output")
        gs = pull(tuple(us) if isinstance(out, tuple) else us[0])
    return out, (gs[0] if single else tuple(gs))


def jvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), ∂func/∂inputs·v), through two reverse passes."""
    Tensor = T._Tensor()
    single, xs = _inputs(inputs, "jvp")
    vs = _vectors(v, xs, single, "jvp", "input")
    if strict:
        _strict_check(func, xs, "jvp")
    with enable_grad():
        leaves = [x if create_graph and x.requires_grad else Tensor._wrap(x._data.view(), True,
                                                                         None) for x in xs]
        out = func(*leaves)
        outs = T._as_outputs(out, "jvp")
        us = [Tensor._wrap(np.zeros_like(o._data), True, None) for o in outs]
        live = [(o, u) for o, u in zip(outs, us) if o.requires_grad]
        gs = (engine.grad([o for o, _ in live], leaves, [u for _, u in live], retain_graph=True,
                          create_graph=True, allow_unused=True) if live else ())
        dot = None
        for g, u in zip(gs, vs):
            if g is not None and g.requires_grad:
                term = (g * u).sum()
                dot = term if dot is None else dot + term
        raw = (engine.grad(dot, us, create_graph=create_graph, allow_unused=True)
               if dot is not None else (None,) * len(us))
    jv = [Tensor._wrap(np.zeros_like(o._data), False, None) if r is None
          else (r if create_graph else r.detach()) for o, r in zip(outs, raw)]
    if not create_graph:
        out = T._detached(out, False)
    return out, (tuple(jv) if isinstance(out, tuple) else jv[0])


def jacobian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """∂func/∂inputs: a Tensor, a tuple per input, and a tuple per output of those."""
    if strategy not in _STRATEGIES:
        raise ValueError(f"jacobian: strategy must be one of {_STRATEGIES}, got {strategy!r}")
    single, xs = _inputs(inputs, "jacobian")
    if strict:
        _strict_check(func, xs, "jacobian")
    with _mode(create_graph):
        return T.jacrev(func, 0 if single else tuple(range(len(xs))))(*xs)


def hessian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """∂²func/∂inputs² for a scalar func; H[i][j] = ∂²f/∂xᵢ∂xⱼ for a tuple of inputs."""
    if outer_jacobian_strategy not in _STRATEGIES:
        raise ValueError(f"hessian: outer_jacobian_strategy must be one of {_STRATEGIES}, got "
                         f"{outer_jacobian_strategy!r}")
    single, xs = _inputs(inputs, "hessian")
    if strict:
        _strict_check(func, xs, "hessian")

    def scalar(*args):
        return T._scalar(func(*args), "hessian").reshape(())
    with _mode(create_graph):
        return T.hessian(scalar, 0 if single else tuple(range(len(xs))))(*xs)


def hvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), H·v) for a scalar func."""
    with set_grad_enabled(True):
        return T.hvp(func, inputs, v, create_graph=create_graph, strict=strict)


def vhp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), vᵀ·H) for a scalar func: ∇ₓ⟨∇ₓf, v⟩, the same pass as hvp."""
    return hvp(func, inputs, v, create_graph=create_graph, strict=strict)
