"""Adamax: Adam with the infinity norm in place of the second moment (Kingma & Ba, 2015)."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from ._flags import implementation_flags
from .optimizer import (Optimizer, check_betas, check_nonnegative, check_positive,
                        effective_grad, lerp_, zeros_state)

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Adamax, PyTorch's rule. At step t, with ``d = g + λθ``:

        m ← β₁·m + (1 − β₁)·d,   u ← max(β₂·u, |d| + ε)
        θ ← θ − η/(1 − β₁ᵗ) · m / u

    The update runs on the parameter's array module (NumPy, or CuPy on a GPU: no fused kernel).
    """

    def __init__(self, params: Iterable, lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False):
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas,
                        eps=eps, weight_decay=weight_decay, maximize=maximize,
                        **implementation_flags("Adamax", foreach=foreach,
                                               differentiable=differentiable,
                                               capturable=capturable, has_fused=False))
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict) -> None:
        check_nonnegative("Adamax", "lr", group["lr"])
        check_positive("Adamax", "eps", group["eps"])
        check_betas("Adamax", group["betas"])
        check_nonnegative("Adamax", "weight_decay", group["weight_decay"])

    def _update_group(self, group: dict) -> None:
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        weight_decay = float(group["weight_decay"])
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["exp_avg"] = zeros_state(p)
                state["exp_inf"] = zeros_state(p)
            state["step"] += 1
            step = state["step"]
            d, _ = effective_grad(p, weight_decay, group["maximize"])
            exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
            tmp = self.scratch_like(p)
            lerp_(exp_avg, d, 1 - beta1, tmp)
            exp_inf *= beta2
            bound = np.abs(d, out=tmp)
            bound += eps
            np.maximum(exp_inf, bound, out=exp_inf)
            upd = np.divide(exp_avg, exp_inf, out=tmp)
            upd *= lr / (1.0 - beta1 ** step)
            p._data -= upd
            p._bump_version()
