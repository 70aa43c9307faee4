"""Adagrad: per-coordinate step sizes shrinking with the sum of squared gradients."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from .. import backend
from ._flags import implementation_flags
from .optimizer import (Optimizer, check_nonnegative, check_positive, device_grad,
                        effective_grad, on_device)

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011), PyTorch's rule. With ``d = g + λθ`` and step count t:

        η_t = η / (1 + (t − 1)·lr_decay)
        s ← s + d²                      (s starts at ``initial_accumulator_value``)
        θ ← θ − η_t · d / (√s + ε)

    Coordinates with a history of large gradients take small steps, rarely-updated ones large.
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None):
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value,
                        maximize=maximize,
                        **implementation_flags("Adagrad", foreach=foreach, fused=fused,
                                               differentiable=differentiable,
                                               has_capturable=False))
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict) -> None:
        for name in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value"):
            check_nonnegative("Adagrad", name, group[name])
        check_positive("Adagrad", "eps", group["eps"])

    def _update_group(self, group: dict) -> None:
        lr, lr_decay = float(group["lr"]), float(group["lr_decay"])
        eps, weight_decay = float(group["eps"]), float(group["weight_decay"])
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                state["step"] = 0
                xp = backend.get_array_module(p._data)
                state["sum"] = xp.full_like(p._data, group["initial_accumulator_value"])
            state["step"] += 1
            clr = lr / (1 + (state["step"] - 1) * lr_decay)
            if on_device(p):                      # one fused kernel on the GPU
                backend.update_kernels(p._data).adagrad_(
                    p._data, device_grad(p), state["sum"], clr=clr, eps=eps,
                    weight_decay=weight_decay, maximize=group["maximize"])
                p._bump_version()
                continue
            d, _ = effective_grad(p, weight_decay, group["maximize"])
            total = state["sum"]
            tmp = np.multiply(d, d)
            total += tmp
            np.sqrt(total, out=tmp)
            tmp += eps
            np.divide(d, tmp, out=tmp)
            tmp *= clr
            p._data -= tmp
            p._bump_version()
