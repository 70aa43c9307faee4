"""Adam (momentum + RMSprop with bias correction), its AMSGrad variant, and AdamW."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from .. import backend
from ._flags import implementation_flags
from .optimizer import (Optimizer, check_betas, check_nonnegative, check_positive,
                        decayed_grad, device_grad, ema_square_, lerp_, on_device, zeros_state)

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), PyTorch's rule. At step t, with ``d = g + λθ``:

        m ← β₁·m + (1 − β₁)·d            (first moment: momentum)
        v ← β₂·v + (1 − β₂)·d²           (second moment: RMSprop's average)
        amsgrad:  v̂ ← max(v̂, v), and v̂ replaces v below
        θ ← θ − η/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)

    The factors 1/(1 − βᵗ) undo the bias of averages started at zero. ``weight_decay`` here is an
    L2 penalty added to the gradient, so it is divided by √v like the rest of the gradient; with
    ``decoupled_weight_decay=True`` (that is :class:`AdamW`) θ ← θ·(1 − ηλ) is applied instead,
    before the update, and the gradient is left alone.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False):
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas,
                        eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay,
                        **implementation_flags(type(self).__name__, foreach=foreach, fused=fused,
                                               differentiable=differentiable,
                                               capturable=capturable))
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict) -> None:
        name = self._name
        check_nonnegative(name, "lr", group["lr"])
        check_positive(name, "eps", group["eps"])
        check_betas(name, group["betas"])
        check_nonnegative(name, "weight_decay", group["weight_decay"])

    def _update_group(self, group: dict) -> None:
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        weight_decay = float(group["weight_decay"])
        decoupled, amsgrad = group["decoupled_weight_decay"], group["amsgrad"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["exp_avg"] = zeros_state(p)
                state["exp_avg_sq"] = zeros_state(p)
                if amsgrad:
                    state["max_exp_avg_sq"] = zeros_state(p)
            state["step"] += 1
            step = state["step"]
            if on_device(p):                      # one fused kernel on the GPU
                backend.update_kernels(p._data).adam_(
                    p._data, device_grad(p), state["exp_avg"], state["exp_avg_sq"],
                    state.get("max_exp_avg_sq") if amsgrad else None, lr=lr, beta1=beta1,
                    beta2=beta2, eps=eps, weight_decay=weight_decay, decoupled=decoupled,
                    maximize=group["maximize"], step=step)
                p._bump_version()
                continue
            d, _ = decayed_grad(p, lr, weight_decay, decoupled, group["maximize"])
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            tmp = self.scratch_like(p)
            lerp_(exp_avg, d, 1 - beta1, tmp)
            ema_square_(exp_avg_sq, d, beta2, tmp)
            step_size = lr / (1 - beta1 ** step)
            bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
            if amsgrad:
                second = state["max_exp_avg_sq"]
                np.maximum(second, exp_avg_sq, out=second)
            else:
                second = exp_avg_sq
            denom = np.sqrt(second, out=tmp)
            denom /= bias_correction2_sqrt
            denom += eps
            np.divide(exp_avg, denom, out=denom)
            denom *= step_size
            p._data -= denom
            p._bump_version()


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019):

        θ ← θ·(1 − ηλ), then the Adam update with the plain gradient.

    With an L2 penalty (``Adam(weight_decay=λ)``) the decay term λθ is scaled by 1/√v like the
    gradient, so weights with large gradient history are barely regularised; decoupling applies
    the same relative shrinkage to every weight. Default ``weight_decay`` is 1e-2, as in PyTorch.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True,
                         foreach=foreach, capturable=capturable, differentiable=differentiable,
                         fused=fused)
