"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from .. import backend
from ._flags import implementation_flags
from .optimizer import (Optimizer, check_nonnegative, check_positive, device_grad,
                        effective_grad, ema_square_, lerp_, on_device, zeros_state)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e), PyTorch's rule. With ``d = g + λθ``:

        v ← α·v + (1 − α)·d²
        centered:  ḡ ← α·ḡ + (1 − α)·d,  r = √(v − ḡ²) + ε   (a running standard deviation)
        otherwise: r = √v + ε
        momentum μ > 0:  b ← μ·b + d / r,  θ ← θ − η·b;   else θ ← θ − η·d / r

    **The notes' form.** The notes write s ← γ·s + ∇f ⊗ ∇f, θ ← θ − α·∇f ⊘ s, with neither the
    square root nor ε. Dividing by s itself makes the step scale like 1/∇f (its units are those of
    1/gradient), so the notes' rule is read with √s, as in Hinton's RMSprop; ε keeps the division
    finite where a gradient has been zero. The notes' accumulator weights the new term by 1 where
    PyTorch weights it by 1 − α: with α = γ and both started at 0, v = (1 − γ)·s, so the notes'
    step α_notes·∇f/√s is PyTorch's with lr = α_notes·√(1 − γ) (and ε → 0).
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize,
                        **implementation_flags("RMSprop", foreach=foreach,
                                               differentiable=differentiable,
                                               capturable=capturable, has_fused=False))
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict) -> None:
        for name in ("lr", "momentum", "weight_decay", "alpha"):
            check_nonnegative("RMSprop", name, group[name])
        check_positive("RMSprop", "eps", group["eps"])

    def _update_group(self, group: dict) -> None:
        lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
        weight_decay, momentum = float(group["weight_decay"]), float(group["momentum"])
        centered = group["centered"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["square_avg"] = zeros_state(p)
                if momentum > 0:
                    state["momentum_buffer"] = zeros_state(p)
                if centered:
                    state["grad_avg"] = zeros_state(p)
            state["step"] += 1
            if on_device(p):                      # one fused kernel on the GPU
                backend.update_kernels(p._data).rmsprop_(
                    p._data, device_grad(p), state["square_avg"],
                    state["grad_avg"] if centered else None,
                    state["momentum_buffer"] if momentum > 0 else None, lr=lr, alpha=alpha,
                    eps=eps, weight_decay=weight_decay, momentum=momentum,
                    maximize=group["maximize"])
                p._bump_version()
                continue
            d, _ = effective_grad(p, weight_decay, group["maximize"])
            square_avg = state["square_avg"]
            avg = ema_square_(square_avg, d, alpha)
            if centered:
                grad_avg = state["grad_avg"]
                lerp_(grad_avg, d, 1 - alpha, avg)
                np.multiply(grad_avg, grad_avg, out=avg)
                np.subtract(square_avg, avg, out=avg)
                np.sqrt(avg, out=avg)
            else:
                np.sqrt(square_avg, out=avg)
            avg += eps
            if momentum > 0:
                buf = state["momentum_buffer"]
                buf *= momentum
                np.divide(d, avg, out=avg)
                buf += avg
                np.multiply(buf, lr, out=avg)
            else:
                np.divide(d, avg, out=avg)
                avg *= lr
            p._data -= avg
            p._bump_version()

