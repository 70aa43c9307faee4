"""The :class:`Optimizer` base: parameter groups, per-parameter state, checkpoints.

Mirrors ``torch.optim.Optimizer``. An optimizer holds ``param_groups`` (a list of dicts, each with
its ``'params'`` and its own hyperparameters, missing ones filled from ``defaults``) and ``state``
(per-parameter dicts: momentum buffers, running averages, step counts). A subclass validates its
hyperparameters in :meth:`_check_hyperparameters` and updates one group in :meth:`_update_group`;
the base supplies ``step(closure)``, ``zero_grad``, ``add_param_group`` and the checkpoint
layout. Optimizers that need another shape of step (L-BFGS calls the closure many times) override
:meth:`step` itself.

Updates are done in place on ``p._data`` (the array), with the parameter's dtype kept, and bump
``p._version`` so that autograd notices a parameter changed under a saved graph.
"""
from __future__ import annotations

import numbers
from collections import defaultdict
from typing import Any, Callable, Iterable

import numpy as np

from .. import backend
from ..autograd import grad_mode
from ..tensor import Tensor
from ._axpy import axpy_

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marks a hyperparameter that has no default and must be given (``lr`` of some optimizers)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


# -- hyperparameter checks shared by the optimizers ---------------------------------------------
def _number(owner: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r} "
                        f"({type(value).__name__})")
    return value


def check_nonnegative(owner: str, name: str, value: Any) -> None:
    """Raise ValueError unless ``value >= 0`` (NaN fails)."""
    if not 0.0 <= _number(owner, name, value):
        raise ValueError(f"{owner}: invalid {name}: {value!r} (must be >= 0)")


def check_positive(owner: str, name: str, value: Any) -> None:
    """Raise ValueError unless ``value > 0`` (NaN fails)."""
    if not 0.0 < _number(owner, name, value):
        raise ValueError(f"{owner}: invalid {name}: {value!r} (must be > 0)")


def check_interval(owner: str, name: str, value: Any, low: float, high: float,
                   high_closed: bool = False) -> None:
    """Raise ValueError unless ``low <= value < high`` (``<= high`` when ``high_closed``)."""
    value = _number(owner, name, value)
    ok = low <= value <= high if high_closed else low <= value < high
    if not ok:
        bracket = "]" if high_closed else ")"
        raise ValueError(f"{owner}: invalid {name}: {value!r} (must be in [{low:g}, {high:g}"
                         f"{bracket})")


def check_betas(owner: str, betas: Any) -> None:
    """``betas`` is a pair with each entry in [0, 1)."""
    try:
        b1, b2 = betas
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: invalid betas: {betas!r} (must be a pair of numbers in "
                         "[0, 1))") from None
    check_interval(owner, "betas[0]", b1, 0.0, 1.0)
    check_interval(owner, "betas[1]", b2, 0.0, 1.0)


def effective_grad(p: Tensor, weight_decay: float, maximize: bool):
    """The gradient an update uses: ``±g + weight_decay·θ`` (−g when maximizing).

    Returns ``(d, owned)``: ``owned`` is False when ``d`` is the parameter's own ``.grad`` array,
    which the caller must then not modify.
    """
    g = p.grad._data
    if g.shape != p._data.shape:
        raise RuntimeError(f"optimizer step: a parameter of shape {tuple(p._data.shape)} has a gradient "
                           f"of shape {tuple(g.shape)}")
    if g.dtype != p._data.dtype:
        g = g.astype(p._data.dtype)
    if weight_decay != 0:
        d = g.copy()                            # C order, whatever the layout of g
        if maximize:
            np.negative(d, out=d)
        axpy_(d, weight_decay, p._data)          # PyTorch's grad.add(param, alpha=weight_decay)
        return d, True
    if maximize:
        return np.negative(g), True
    return g, False


def device_grad(p: Tensor):
    """``p``'s gradient array for a fused device kernel: shape checked, cast to ``p``'s dtype."""
    g = p.grad._data
    if g.shape != p._data.shape:
        raise RuntimeError(f"optimizer step: a parameter of shape {tuple(p._data.shape)} has a gradient "
                           f"of shape {tuple(g.shape)}")
    return g if g.dtype == p._data.dtype else g.astype(p._data.dtype)


def on_device(p: Tensor) -> bool:
    """True when ``p`` lives on a GPU (its update then runs as one fused backend kernel)."""
    return type(p._data) is not np.ndarray


def zeros_state(p: Tensor):
    """A zero array shaped, typed and placed like ``p`` (optimizer state)."""
    return backend.get_array_module(p._data).zeros_like(p._data)


def decayed_grad(p: Tensor, lr: float, weight_decay: float, decoupled: bool, maximize: bool):
    """Adam-style weight decay, then the gradient to use: decoupled (AdamW) shrinks θ by
    (1 − lr·λ) in place and returns ±g; coupled (L2) returns ±g + λθ. Returns ``(d, owned)``
    as :func:`effective_grad` does."""
    if decoupled:
        if weight_decay != 0:
            p._data *= 1 - lr * weight_decay
        return effective_grad(p, 0.0, maximize)
    return effective_grad(p, weight_decay, maximize)


def lerp_(start, end, weight: float, scratch) -> None:
    """start ← start + weight·(end − start), in place, evaluated as PyTorch's ``lerp_`` does."""
    np.subtract(end, start, out=scratch)
    if weight < 0.5:
        scratch *= weight
        start += scratch
    else:
        scratch *= 1 - weight
        np.subtract(end, scratch, out=start)


def ema_square_(avg, d, beta: float, work=None):
    """avg ← β·avg + (1 − β)·d², in place, as PyTorch's ``mul_(β).addcmul_(d, d, value=1 − β)``;
    ``work`` (allocated when None) is left holding (1 − β)·d² and returned for reuse."""
    avg *= beta
    work = np.multiply(d, 1 - beta, out=work)
    work *= d
    avg += work
    return work


def _scalar(value: Any) -> Any:
    """NumPy scalars and 0-d arrays -> Python numbers (so no float64 leaks into float32 math)."""
    if isinstance(value, np.generic) or (backend.is_array(value) and value.ndim == 0):
        return value.item()
    return value


class Optimizer:
    """Base class of all optimizers.

    ``params`` is an iterable of Tensors, or of dicts ``{'params': [...], 'lr': ..., ...}`` that
    give a parameter group its own hyperparameters. ``defaults`` holds the hyperparameters a group
    does not set.
    """

    #: state entries that are scalars even though a checkpoint may store them as 0-d arrays
    _scalar_state_keys: tuple = ("step",)

    def __init__(self, params: Iterable, defaults: dict):
        self.defaults = dict(defaults)
        self._scratch: dict = {}
        if not any(v is required for v in self.defaults.values()):
            self._check_hyperparameters(self.defaults)  # groups are checked as they are added
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError(f"{self._name}: params should be an iterable of Tensors or dicts, "
                            "got a Tensor (wrap it in a list)")
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{self._name}: params should be an ordered iterable (list, tuple, "
                            "generator), not a set: a set's order changes between runs, which "
                            "would scramble state_dict indices")
        groups = list(params)
        if not groups:
            raise ValueError(f"{self._name}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @property
    def _name(self) -> str:
        return type(self).__name__

    # -- what subclasses provide ------------------------------------------------------------
    def _check_hyperparameters(self, group: dict) -> None:
        """Raise ValueError (naming the argument and value) for an invalid hyperparameter."""

    def _update_group(self, group: dict) -> None:
        """Apply one update to every parameter of ``group`` that has a gradient."""
        raise NotImplementedError(f"{self._name} does not implement _update_group")

    # -- the public interface -----------------------------------------------------------------
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters (with optional hyperparameters of its own) to optimize."""
        if not isinstance(param_group, dict):
            raise TypeError(f"{self._name}: a parameter group must be a dict, got "
                            f"{type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if params is None:
            raise ValueError(f"{self._name}: a parameter group needs a 'params' entry")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{self._name}: a group's params should be an ordered iterable, not "
                            "a set")
        params = list(params)
        seen: set = set()
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{self._name}: can only optimize Tensors, but parameter {i} of "
                                f"the group is a {type(p).__name__}")
            if p.grad_fn is not None:
                raise ValueError(f"{self._name}: can't optimize a non-leaf Tensor (parameter {i} "
                                 f"of the group, shape {tuple(p.shape)}, was made by an op)")
            if p.dtype.kind != "f":
                raise TypeError(f"{self._name}: can only optimize real floating-point Tensors, "
                                f"parameter {i} has dtype {np.dtype(p.dtype).name}")
            if id(p) in seen:
                raise ValueError(f"{self._name}: parameter {i} (shape {tuple(p.shape)}) appears twice "
                                 "in the same parameter group")
            seen.add(id(p))
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"{self._name}: parameter group didn't specify a value of "
                                 f"required optimization parameter {name}")
            group.setdefault(name, default)
        self._check_hyperparameters(group)
        for other in self.param_groups:
            if any(id(q) in seen for q in other["params"]):
                raise ValueError(f"{self._name}: some parameters appear in more than one "
                                 "parameter group")
        self.param_groups.append(group)

    def scratch_like(self, p: Tensor) -> np.ndarray:
        """A work array shaped like ``p``, reused across parameters and steps (never state):
        an update writes its temporaries here instead of allocating (and page-faulting) a fresh
        parameter-sized array every step."""
        key = (p._data.shape, p._data.dtype)
        buf = self._scratch.get(key)
        if buf is None:
            buf = self._scratch[key] = np.empty_like(p._data)
        return buf

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (``None``), or zero it in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif p.grad.grad_fn is not None or p.grad.requires_grad:
                    p.grad = Tensor._wrap(np.zeros_like(p.grad._data), False, None)
                else:
                    p.grad._data[...] = 0

    def step(self, closure: Callable[[], Any] | None = None):
        """Update the parameters once from their ``.grad``.

        ``closure``, if given, re-evaluates the model (zero the gradients, compute the loss, call
        backward) and is run with gradients enabled before the update; its loss is returned.
        """
        loss = None
        if closure is not None:
            with grad_mode.enable_grad():
                loss = closure()
        with grad_mode.no_grad():
            for group in self.param_groups:
                self._update_group(group)
        return loss

    # -- checkpoints ------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """The optimizer's state in PyTorch's layout, as a snapshot.

        ``{'state': {index: {name: value}}, 'param_groups': [{..hyperparameters..,
        'params': [index, ...]}]}``: parameters are numbered 0, 1, 2 ... across the groups in
        order. State values are NumPy arrays (copies) or Python numbers, nested in lists where an
        optimizer keeps histories; group values are Python numbers, bools, strings and
        tuples/lists of them — nothing that needs pickle.
        """
        index: dict = {}
        groups = []
        for group in self.param_groups:
            packed = {k: _plain(v) for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                s = self.state.get(p)
                if s:
                    state[index[id(p)]] = {k: _snapshot(v) for k, v in s.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a :meth:`state_dict` onto this optimizer's parameters (matched by position).

        Hyperparameters come from the checkpoint; floating-point state arrays are cast to their
        parameter's dtype. Integer keys may arrive as strings (as after a JSON round trip).
        """
        try:
            saved_groups = state_dict["param_groups"]
            saved_state = state_dict["state"]
        except (KeyError, TypeError):
            raise ValueError(f"{self._name}.load_state_dict: expected a dict with 'state' and "
                             "'param_groups'") from None
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{self._name}.load_state_dict: loaded state dict has "
                             f"{len(saved_groups)} parameter groups, the optimizer has "
                             f"{len(self.param_groups)}")
        for i, (g, s) in enumerate(zip(self.param_groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(f"{self._name}.load_state_dict: parameter group {i} has "
                                 f"{len(s['params'])} parameters in the loaded state dict but "
                                 f"{len(g['params'])} in the optimizer")
        id_map = {}
        for g, s in zip(self.param_groups, saved_groups):
            for idx, p in zip(s["params"], g["params"]):
                id_map[int(idx)] = p
        new_groups = []
        for g, s in zip(self.param_groups, saved_groups):
            new = {k: _restore_hyper(v, g.get(k)) for k, v in s.items() if k != "params"}
            for name, default in self.defaults.items():
                new.setdefault(name, g.get(name, default))
            new["params"] = g["params"]
            self._check_hyperparameters(new)
            new_groups.append(new)
        new_state: defaultdict = defaultdict(dict)
        for key, entries in saved_state.items():
            p = id_map.get(int(key))
            if p is None:
                continue
            new_state[p] = {k: self._restore_state_value(k, v, p) for k, v in entries.items()}
        self.param_groups = new_groups
        self.state = new_state

    def _restore_state_value(self, key: str, value: Any, p: Tensor) -> Any:
        if key in self._scalar_state_keys:
            return _scalar(value)
        return _restore_state(value, p)

    def __repr__(self) -> str:
        lines = [f"{self._name} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _plain(value: Any) -> Any:
    """A hyperparameter as a plain Python value."""
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return _scalar(value)


def _snapshot(value: Any) -> Any:
    if backend.is_array(value):
        return value.copy()
    if isinstance(value, (list, tuple)):
        return type(value)(_snapshot(v) for v in value)
    return _scalar(value)


def _restore_hyper(value: Any, current: Any) -> Any:
    value = _plain(value)
    if isinstance(current, tuple) and isinstance(value, list):
        return tuple(value)  # betas come back from JSON as a list
    return value


def _restore_state(value: Any, p: Tensor) -> Any:
    """Copy a checkpointed state value onto ``p``: arrays cast to ``p``'s dtype when floating."""
    if isinstance(value, Tensor):
        value = value._data
    if isinstance(value, (list, tuple)):
        return type(value)(_restore_state(v, p) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    if backend.is_array(value) or hasattr(value, "__array__"):
        arr = value if backend.is_array(value) else np.asarray(value)  # e.g. a torch tensor
        arr = arr.astype(p.dtype, copy=True) if arr.dtype.kind == "f" else arr.copy()
        if isinstance(p._data, np.ndarray):
            return arr if isinstance(arr, np.ndarray) else arr.get()  # CuPy -> host
        return backend.get_array_module(p._data).asarray(arr)
    return value
