"""Lazy modules: layers whose input size is inferred from the first batch (PyTorch's
``nn.LazyLinear``, ``nn.LazyConv1d/2d``, ``nn.LazyBatchNorm1d/2d``).

Until the first forward the weights are :class:`UninitializedParameter` placeholders. The first
call reads the input size (the last dim for Linear, the channel dim for Conv and BatchNorm),
materializes every placeholder in place with its shape, initialises it exactly as the eager layer
would (same initialiser, same order, so the same generator draws), and turns the module into the
eager class (``type(m) is Linear`` afterwards). The Parameter objects stay the same ones, so an
optimizer built before the first forward trains them.

``load_state_dict`` into a lazy module infers the size from the loaded shapes and materializes it
(without drawing randoms when every placeholder is loaded); unlike PyTorch, which waits for the
next forward, the module becomes the eager class at once, with its size attribute set.
"""
from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ..tensor import Tensor
from .conv import Conv1d, Conv2d
from .linear import Linear
from .normalization import BatchNorm1d, BatchNorm2d
from .placement import place_new
from .parameter import UninitializedBuffer, UninitializedParameter, is_lazy

__all__ = ["LazyModuleMixin", "LazyLinear", "LazyConv1d", "LazyConv2d", "LazyBatchNorm1d",
           "LazyBatchNorm2d", "plan_lazy_loads"]


def _infer_parameters(module: "LazyModuleMixin", args: tuple) -> None:
    """The forward pre-hook a lazy module runs once: materialize from the inputs, become eager."""
    module.initialize_parameters(*args)
    if module.has_uninitialized_params():
        raise RuntimeError(f"{module._get_name()}: module has not been fully initialized")
    module._become_eager()


class LazyModuleMixin:
    """Mixed in before an eager layer class. A layer provides ``_size_attr`` (the attribute the
    input fixes: ``in_features``), ``_size_from_input(input)``, ``_size_from_state(shapes)`` and
    ``_shapes(size)`` (name → shape of every tensor the size determines)."""

    cls_to_become: type | None = None
    _size_attr = ""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._initialize_hook = self.register_forward_pre_hook(_infer_parameters)

    def has_uninitialized_params(self) -> bool:
        """True while some parameter or buffer of this module is still a placeholder."""
        return any(is_lazy(t) for t in itertools.chain(self._parameters.values(),
                                                        self._buffers.values()))

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and getattr(self, self._size_attr) != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Any, *args, **kwargs) -> None:
        """Read the size from ``input``, materialize the placeholders and initialise them as the
        eager layer's ``reset_parameters`` does."""
        if self.has_uninitialized_params():
            if not isinstance(input, Tensor):
                raise TypeError(f"{self._get_name()}: expected a Tensor input to infer its "
                                f"shapes from, got {type(input).__name__}")
            self._materialize(self._size_from_input(input))
            self.reset_parameters()

    def _materialize(self, size: int) -> None:
        setattr(self, self._size_attr, int(size))
        for name, shape in self._shapes(int(size)).items():
            t = self._parameters.get(name, self._buffers.get(name))
            if is_lazy(t):
                t.materialize(shape)

    def _become_eager(self) -> None:
        hook = self.__dict__.pop("_initialize_hook", None)
        if hook is not None:
            hook.remove()
        if self.cls_to_become is not None:
            self.__class__ = self.cls_to_become

    def _lazy_names(self) -> list[str]:
        return [n for n, t in itertools.chain(self._parameters.items(), self._buffers.items())
                if is_lazy(t)]

    def _plan_load(self, state_dict, prefix: str, errors: list) -> "_LoadPlan | None":
        """The shapes a load would give this module's placeholders (None: nothing to infer)."""
        names = self._lazy_names()
        given = {n: _shape_of(state_dict[prefix + n]) for n in names
                 if prefix + n in state_dict and not is_lazy(state_dict[prefix + n])}
        if not given:
            return None
        try:
            size = self._size_from_state(given)
        except ValueError as exc:
            errors.append(f"{prefix}{self._get_name()}: {exc}")
            return _LoadPlan(self, None, {prefix + n: None for n in names}, False)
        shapes = self._shapes(size)
        return _LoadPlan(self, size, {prefix + n: shapes[n] for n in names},
                         complete=len(given) == len(names))


class _LoadPlan:
    """What loading a state dict does to one lazy module once every check has passed."""

    def __init__(self, module: LazyModuleMixin, size: int | None, shapes: dict, complete: bool):
        self.module, self.size, self.shapes, self.complete = module, size, shapes, complete

    def apply(self) -> None:
        m = self.module
        if self.size is None or not m.has_uninitialized_params():
            return
        m._materialize(self.size)
        if not self.complete:    # some placeholders get no values: initialise as eager
            m.reset_parameters()
        m._become_eager()


def _shape_of(value: Any) -> tuple:
    return tuple(value.shape) if hasattr(value, "shape") else np.shape(value)


def plan_lazy_loads(module, state_dict, errors: list) -> tuple[list, dict]:
    """For ``load_state_dict``: a plan per lazy module under ``module`` and the expected shape of
    each placeholder's key (None where the size could not be inferred; the error is in
    ``errors``). Nothing is changed until the plans are applied."""
    plans, expected = [], {}
    for path, m in module.named_modules(remove_duplicate=False):
        if isinstance(m, LazyModuleMixin):
            plan = m._plan_load(state_dict, f"{path}." if path else "", errors)
            if plan is not None:
                plans.append(plan)
                expected.update(plan.shapes)
    return plans, expected


def _check_ndim(module, input: Tensor, allowed: tuple, what: str) -> None:
    if input.ndim not in allowed:
        want = " or ".join(f"{d}D" for d in allowed)
        raise ValueError(f"{module._get_name()}: expected {want} input ({what}) to infer its "
                         f"shapes, got input of shape {tuple(input.shape)}")


class LazyLinear(LazyModuleMixin, Linear):
    """Linear with ``in_features`` taken from the last dim of the first input."""

    cls_to_become = Linear
    _size_attr = "in_features"

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(0, 0, False)
        self.out_features = out_features
        self.weight = UninitializedParameter(dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(dtype=dtype)
        place_new(self, device)

    def _size_from_input(self, input: Tensor) -> int:
        if input.ndim == 0:
            raise ValueError(f"{self._get_name()}: expected an input with a feature dim, got a "
                             "0-D tensor")
        return input.shape[-1]

    def _size_from_state(self, shapes: dict) -> int:
        if len(shapes.get("weight", ())) != 2:
            raise ValueError("in_features comes from a 2-D 'weight' (out_features, "
                             f"in_features), got {shapes}")
        return shapes["weight"][1]

    def _shapes(self, size: int) -> dict:
        return {"weight": (self.out_features, size), "bias": (self.out_features,)}


class _LazyConvNd(LazyModuleMixin):
    _size_attr = "in_channels"

    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__(0, out_channels, kernel_size, stride, padding, dilation, groups, False,
                         padding_mode)
        self.weight = UninitializedParameter(dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(dtype=dtype)
        place_new(self, device)

    def _size_from_input(self, input: Tensor) -> int:
        n = self._dims
        _check_ndim(self, input, (n + 1, n + 2), "(C, *spatial) or (N, C, *spatial)")
        channels = input.shape[0] if input.ndim == n + 1 else input.shape[1]
        self._check_groups(channels)
        return channels

    def _check_groups(self, channels: int) -> None:
        if channels % self.groups:
            raise ValueError(f"{self._get_name()}: in_channels ({channels}) must be divisible by "
                             f"groups ({self.groups})")

    def _size_from_state(self, shapes: dict) -> int:
        if len(shapes.get("weight", ())) != self._dims + 2:
            raise ValueError(f"in_channels comes from a {self._dims + 2}-D 'weight' "
                             f"(out_channels, in_channels/groups, *kernel_size), got {shapes}")
        return shapes["weight"][1] * self.groups

    def _shapes(self, size: int) -> dict:
        weight = (self.out_channels, size // self.groups) + self.kernel_size
        return {"weight": weight, "bias": (self.out_channels,)}


class LazyConv1d(_LazyConvNd, Conv1d):
    """Conv1d with ``in_channels`` taken from the first input's channel dim."""

    cls_to_become = Conv1d


class LazyConv2d(_LazyConvNd, Conv2d):
    """Conv2d with ``in_channels`` taken from the first input's channel dim."""

    cls_to_become = Conv2d


class _LazyBatchNorm(LazyModuleMixin):
    _size_attr = "num_features"

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None) -> None:
        super().__init__(0, eps, momentum, affine, track_running_stats, dtype=dtype)
        if affine:
            self.weight = UninitializedParameter(dtype=dtype)
            self.bias = UninitializedParameter(dtype=dtype)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(dtype=dtype)
            self.running_var = UninitializedBuffer(dtype=dtype)
        place_new(self, device)

    def _size_from_input(self, input: Tensor) -> int:
        _check_ndim(self, input, self._expected_dims, "channels in dim 1")
        return input.shape[1]

    def _size_from_state(self, shapes: dict) -> int:
        bad = {k: s for k, s in shapes.items() if len(s) != 1}
        if bad:
            raise ValueError(f"num_features comes from 1-D entries, got {bad}")
        return next(iter(shapes.values()))[0]

    def _shapes(self, size: int) -> dict:
        return {name: (size,) for name in ("weight", "bias", "running_mean", "running_var")}


class LazyBatchNorm1d(_LazyBatchNorm, BatchNorm1d):
    """BatchNorm1d with ``num_features`` taken from the first input's dim 1."""

    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyBatchNorm, BatchNorm2d):
    """BatchNorm2d with ``num_features`` taken from the first input's dim 1."""

    cls_to_become = BatchNorm2d
