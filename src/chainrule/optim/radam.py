"""RAdam: Adam with the variance of its adaptive step rectified (Liu et al., 2020)."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from ._flags import implementation_flags
from .optimizer import (Optimizer, check_betas, check_nonnegative, check_positive,
                        decayed_grad, ema_square_, lerp_, zeros_state)

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""RAdam, PyTorch's rule. At step t, with ``d = g + λθ`` (or θ ← θ·(1 − ηλ) first when
    ``decoupled_weight_decay``):

        m ← β₁·m + (1 − β₁)·d,   v ← β₂·v + (1 − β₂)·d²
        ρ_∞ = 2/(1 − β₂) − 1,    ρ_t = ρ_∞ − 2t·β₂ᵗ/(1 − β₂ᵗ)
        ρ_t > 5:  θ ← θ − η·m/(1 − β₁ᵗ) · √(1 − β₂ᵗ)/(√v + ε) · r_t,
                  r_t = √((ρ_t − 4)(ρ_t − 2)ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2)ρ_t))
        else:     θ ← θ − η·m/(1 − β₁ᵗ)          (plain momentum while v is too noisy)

    The update runs on the parameter's array module (NumPy, or CuPy on a GPU: no fused kernel).
    """

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False):
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas,
                        eps=eps, weight_decay=weight_decay, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay,
                        **implementation_flags("RAdam", foreach=foreach,
                                               differentiable=differentiable,
                                               capturable=capturable, has_fused=False))
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict) -> None:
        check_nonnegative("RAdam", "lr", group["lr"])
        check_positive("RAdam", "eps", group["eps"])
        check_betas("RAdam", group["betas"])
        check_nonnegative("RAdam", "weight_decay", group["weight_decay"])

    def _update_group(self, group: dict) -> None:
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        weight_decay = float(group["weight_decay"])
        rho_inf = 2.0 / (1.0 - beta2) - 1.0
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["exp_avg"] = zeros_state(p)
                state["exp_avg_sq"] = zeros_state(p)
            state["step"] += 1
            step = state["step"]
            d, _ = decayed_grad(p, lr, weight_decay, group["decoupled_weight_decay"],
                                group["maximize"])
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            tmp = self.scratch_like(p)
            lerp_(exp_avg, d, 1 - beta1, tmp)
            ema_square_(exp_avg_sq, d, beta2, tmp)
            bias1, bias2 = 1.0 - beta1 ** step, 1.0 - beta2 ** step
            upd = np.divide(exp_avg, bias1, out=tmp)
            upd *= lr
            rho_t = rho_inf - 2.0 * step * beta2 ** step / bias2
            if rho_t > 5.0:
                rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                        / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                adaptive = np.sqrt(exp_avg_sq)
                adaptive += eps
                np.divide(bias2 ** 0.5, adaptive, out=adaptive)
                upd *= adaptive
                upd *= rect
            p._data -= upd
            p._bump_version()
