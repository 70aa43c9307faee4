"""NAdam: Adam with Nesterov momentum and Dozat's momentum-decay schedule."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from .. import backend
from ._flags import implementation_flags
from .optimizer import (Optimizer, check_betas, check_nonnegative, check_positive,
                        decayed_grad, device_grad, ema_square_, lerp_, on_device, zeros_state)

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016), PyTorch's rule. At step t, with ``d = g + λθ`` and ψ = momentum_decay:

        μ_t = β₁·(1 − ½·0.96^{tψ}),  μ_{t+1} likewise;   Π_t = μ_1·μ_2·…·μ_t  (``mu_product``)
        m ← β₁·m + (1 − β₁)·d,   v ← β₂·v + (1 − β₂)·d²,   r = √(v / (1 − β₂ᵗ)) + ε
        θ ← θ − η·(1 − μ_t)/(1 − Π_t) · d / r − η·μ_{t+1}/(1 − Π_t·μ_{t+1}) · m / r

    The second term is the Nesterov look-ahead: the momentum part of the *next* step is applied
    now (the notes' "NADAM = Adam + Nesterov"). With ``decoupled_weight_decay=True`` the decay is
    θ ← θ·(1 − ηλ) before the update instead of λθ in the gradient.
    """

    _scalar_state_keys = ("step", "mu_product")

    def __init__(self, params: Iterable, lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False):
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas,
                        eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        **implementation_flags("NAdam", foreach=foreach,
                                               differentiable=differentiable,
                                               capturable=capturable, has_fused=False))
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict) -> None:
        check_nonnegative("NAdam", "lr", group["lr"])
        check_positive("NAdam", "eps", group["eps"])
        check_betas("NAdam", group["betas"])
        check_nonnegative("NAdam", "weight_decay", group["weight_decay"])
        check_nonnegative("NAdam", "momentum_decay", group["momentum_decay"])

    def _update_group(self, group: dict) -> None:
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        weight_decay, psi = float(group["weight_decay"]), float(group["momentum_decay"])
        decoupled = group["decoupled_weight_decay"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["mu_product"] = 1.0
                state["exp_avg"] = zeros_state(p)
                state["exp_avg_sq"] = zeros_state(p)
            state["step"] += 1
            step = state["step"]
            mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
            mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
            mu_product = state["mu_product"] = state["mu_product"] * mu
            if on_device(p):                      # one fused kernel on the GPU
                backend.update_kernels(p._data).nadam_(
                    p._data, device_grad(p), state["exp_avg"], state["exp_avg_sq"], lr=lr,
                    beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
                    decoupled=decoupled, maximize=group["maximize"], step=step, mu=mu,
                    mu_next=mu_next, mu_product=mu_product)
                p._bump_version()
                continue
            d, owned = decayed_grad(p, lr, weight_decay, decoupled, group["maximize"])
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            tmp = self.scratch_like(p)
            lerp_(exp_avg, d, 1 - beta1, tmp)
            ema_square_(exp_avg_sq, d, beta2, tmp)
            denom = np.divide(exp_avg_sq, 1 - beta2 ** step, out=tmp)
            np.sqrt(denom, out=denom)
            denom += eps
            step_grad = np.divide(d, denom, out=d if owned else None)
            step_grad *= lr * (1.0 - mu) / (1.0 - mu_product)
            p._data -= step_grad
            np.divide(exp_avg, denom, out=step_grad)
            step_grad *= lr * mu_next / (1.0 - mu_product * mu_next)
            p._data -= step_grad
            p._bump_version()
