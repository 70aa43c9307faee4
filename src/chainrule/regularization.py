"""L1 and L2 penalties to add to a loss, and parameter groups for (decoupled) weight decay.

    loss = data_loss + l2_penalty(model, 1e-4, exclude_bias_and_norm=True)

``l2_penalty`` is λ·Σ‖θ‖₂² (gradient 2λθ) and ``l1_penalty`` is λ·Σ‖θ‖₁ (gradient λ·sign θ, 0 at
θ = 0); both are ordinary differentiable Tensors, so they go through backward with the loss.

**Penalty versus weight decay.** An L2 penalty changes the *loss*; its gradient then goes through
whatever the optimizer does to gradients. Weight decay changes the *update*: θ ← θ − ηλθ − (the
optimizer's step). For plain SGD (and SGD with momentum) the two coincide exactly:
``SGD(weight_decay=λ)`` adds λθ to the gradient, which is the gradient of (λ/2)‖θ‖², so
``l2_penalty(params, λ/2)`` with ``weight_decay=0`` gives the same trajectory (note the factor
1/2). For adaptive optimizers they do not: Adam divides the whole gradient, penalty included, by
√v̂, so weights with large gradients are barely regularised and weights with small ones very
strongly. (PyTorch's ``Adam(weight_decay=λ)`` is this coupled L2 penalty too.) Decoupled weight
decay — ``AdamW``, θ ← θ·(1 − ηλ) before the Adam step — shrinks every weight at the same rate
whatever its gradient history; that is why AdamW exists (Loshchilov & Hutter, 2019).

Which parameters: ``params`` may be a Module (its ``named_parameters()``), an iterable of
Tensors, of ``(name, Tensor)`` pairs, or of parameter-group dicts (``{'params': [...], 'l2': λ}``,
the same dicts an optimizer takes; a group's own ``'l2'`` / ``'l1'`` entry overrides ``lam``). With
``exclude_bias_and_norm=True`` biases and normalisation parameters are left out: every parameter
with at most one dimension, every name ending in ``bias``, and every parameter of a normalisation
layer (BatchNorm, LayerNorm, or any module whose class name contains ``Norm``) — they have few
entries, set offsets and scales, and penalising them only hurts.
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from . import backend
from .tensor import Tensor

__all__ = ["l1_penalty", "l2_penalty", "select_parameters", "weight_decay_groups"]


def _is_module(obj: Any) -> bool:
    from .nn.module import Module  # late: nn is built on top of this layer's imports
    return isinstance(obj, Module)


def _norm_layer(module: Any) -> bool:
    from .nn.normalization import LayerNorm, _BatchNorm
    return isinstance(module, (_BatchNorm, LayerNorm)) or "Norm" in type(module).__name__


def _excluded(name: str | None, p: Tensor, in_norm: bool) -> bool:
    return in_norm or p.ndim <= 1 or (name is not None and name.endswith("bias"))


def _named_module_parameters(module) -> list[tuple[str, Tensor, bool]]:
    """(name, parameter, belongs to a norm layer), each parameter once."""
    out, seen = [], set()
    for path, m in module.named_modules():
        norm = _norm_layer(m)
        for name, p in m._parameters.items():
            if p is None or id(p) in seen:
                continue
            seen.add(id(p))
            out.append((f"{path}.{name}" if path else name, p, norm))
    return out


def select_parameters(params: Any, exclude_bias_and_norm: bool = False,
                      fname: str = "select_parameters") -> list[tuple[str | None, Tensor]]:
    """The ``(name, Tensor)`` pairs a penalty covers (``name`` is None where unknown)."""
    if _is_module(params):
        entries = _named_module_parameters(params)
    else:
        if isinstance(params, Tensor):
            params = [params]
        entries = []
        for i, item in enumerate(params):
            if isinstance(item, Tensor):
                entries.append((None, item, False))
            elif (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
                  and isinstance(item[1], Tensor)):
                entries.append((item[0], item[1], False))
            else:
                raise TypeError(f"{fname}: expected a Module, Tensors, (name, Tensor) pairs or "
                                f"parameter-group dicts, but item {i} is a "
                                f"{type(item).__name__}")
    return [(name, p) for name, p, norm in entries
            if not (exclude_bias_and_norm and _excluded(name, p, norm))]


def _check_lam(fname: str, lam: Any, name: str = "lam") -> float:
    if isinstance(lam, bool) or not isinstance(lam, numbers.Real) or not lam >= 0:
        raise ValueError(f"{fname}: {name} must be a real number >= 0, got {lam!r}")
    return float(lam)


def _groups(params: Any, lam: Any, key: str, fname: str) -> list[tuple[float, list]]:
    """[(λ, [(name, Tensor), ...])] — one entry, or one per parameter-group dict."""
    if not _is_module(params) and not isinstance(params, Tensor):
        params = list(params)
        if params and all(isinstance(g, dict) for g in params):
            out = []
            for i, g in enumerate(params):
                if "params" not in g:
                    raise ValueError(f"{fname}: parameter group {i} has no 'params' entry")
                out.append((_check_lam(fname, g.get(key, lam)), g["params"]))
            return out
        if any(isinstance(g, dict) for g in params):
            raise TypeError(f"{fname}: mix of parameter-group dicts and other items")
    return [(_check_lam(fname, lam), params)]


def _penalty(params: Any, lam: Any, exclude: bool, key: str, term) -> Tensor:
    fname = f"{key}_penalty"
    total = None
    for g_lam, group in _groups(params, lam, key, fname):
        if g_lam == 0:
            continue
        s = None
        for _, p in select_parameters(group, exclude, fname):
            if p.dtype.kind != "f":
                raise TypeError(f"{fname}: parameters must be floating point, got {np.dtype(p.dtype).name} "
                                f"(shape {tuple(p.shape)})")
            t = term(p)
            s = t if s is None else s + t
        if s is not None:
            s = s * g_lam
            total = s if total is None else total + s
    if total is None:
        return Tensor(np.zeros((), dtype=backend.get_default_dtype()))
    return total


def l2_penalty(params: Any, lam: float, *, exclude_bias_and_norm: bool = False) -> Tensor:
    """λ·Σ‖θ‖₂² over the selected parameters (gradient 2λθ).

    ``SGD(weight_decay=w)`` equals adding ``l2_penalty(params, w / 2)`` to the loss; Adam's
    ``weight_decay`` is this coupled penalty too, while AdamW's decoupled decay is not (see the
    module docstring). Parameter groups may set their own ``'l2'``.
    """
    return _penalty(params, lam, exclude_bias_and_norm, "l2", lambda p: (p * p).sum())


def l1_penalty(params: Any, lam: float, *, exclude_bias_and_norm: bool = False) -> Tensor:
    """λ·Σ‖θ‖₁ over the selected parameters (gradient λ·sign θ, 0 at θ = 0).

    Unlike L2, its pull towards zero does not fade as θ shrinks, so it drives weights to exactly
    zero under proximal updates and towards it under gradient descent (sparsity). Parameter
    groups may set their own ``'l1'``.
    """
    return _penalty(params, lam, exclude_bias_and_norm, "l1", lambda p: p.abs().sum())


def weight_decay_groups(module: Any, weight_decay: float) -> list[dict]:
    """Two parameter groups for an optimizer: ``weight_decay`` for the weights and 0 for biases
    and normalisation parameters (the usual set-up for AdamW)::

        opt = optim.AdamW(weight_decay_groups(model, 0.05), lr=1e-3)
    """
    if not _is_module(module):
        raise TypeError(f"weight_decay_groups: expected a Module, got {type(module).__name__}")
    _check_lam("weight_decay_groups", weight_decay, "weight_decay")
    decay = {id(p) for _, p in select_parameters(module, True)}
    entries = _named_module_parameters(module)
    return [{"params": [p for _, p, _ in entries if id(p) in decay],
             "weight_decay": weight_decay},
            {"params": [p for _, p, _ in entries if id(p) not in decay], "weight_decay": 0.0}]
