"""Adadelta: step sizes from running averages of squared gradients and squared updates."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from .. import backend
from ._flags import implementation_flags
from .optimizer import (Optimizer, check_interval, check_nonnegative, check_positive,
                        device_grad, effective_grad, ema_square_, on_device, zeros_state)

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), PyTorch's rule. With ``d = g + λθ``:

        v ← ρ·v + (1 − ρ)·d²
        Δ = √(u + ε) / √(v + ε) · d
        u ← ρ·u + (1 − ρ)·Δ²
        θ ← θ − η·Δ                     (η = lr, 1.0 by default as in the paper)

    The ratio of the two RMS values gives the update the units of θ, so no learning rate is
    needed in the original method; PyTorch keeps ``lr`` as a multiplier.
    """

    def __init__(self, params: Iterable, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False, differentiable: bool = False):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        **implementation_flags("Adadelta", foreach=foreach,
                                               differentiable=differentiable,
                                               capturable=capturable, has_fused=False))
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict) -> None:
        check_nonnegative("Adadelta", "lr", group["lr"])
        check_interval("Adadelta", "rho", group["rho"], 0.0, 1.0, high_closed=True)
        check_positive("Adadelta", "eps", group["eps"])
        check_nonnegative("Adadelta", "weight_decay", group["weight_decay"])

    def _update_group(self, group: dict) -> None:
        lr, rho = float(group["lr"]), float(group["rho"])
        eps, weight_decay = float(group["eps"]), float(group["weight_decay"])
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["square_avg"] = zeros_state(p)
                state["acc_delta"] = zeros_state(p)
            state["step"] += 1
            if on_device(p):                      # one fused kernel on the GPU
                backend.update_kernels(p._data).adadelta_(
                    p._data, device_grad(p), state["square_avg"], state["acc_delta"], lr=lr,
                    rho=rho, eps=eps, weight_decay=weight_decay, maximize=group["maximize"])
                p._bump_version()
                continue
            d, _ = effective_grad(p, weight_decay, group["maximize"])
            square_avg, acc_delta = state["square_avg"], state["acc_delta"]
            tmp = ema_square_(square_avg, d, rho)
            std = np.add(square_avg, eps, out=tmp)
            np.sqrt(std, out=std)
            delta = np.add(acc_delta, eps)
            np.sqrt(delta, out=delta)
            delta /= std
            delta *= d
            ema_square_(acc_delta, delta, rho, tmp)
            delta *= lr
            p._data -= delta
            p._bump_version()
