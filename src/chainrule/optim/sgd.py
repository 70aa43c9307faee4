"""Stochastic gradient descent, with (Nesterov) momentum, dampening and weight decay."""
from __future__ import annotations

from typing import Iterable

from ._axpy import axpby_, axpy_
from .. import backend
from ._flags import implementation_flags
from .optimizer import (Optimizer, check_nonnegative, device_grad, effective_grad, on_device,
                        zeros_state)

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""SGD, PyTorch's rule. With ``d = g + λθ`` (``−g`` if ``maximize``):

    - plain:     θ ← θ − η·d
    - momentum:  v ← d on the first step, then v ← μ·v + (1 − τ)·d  (τ = dampening);
      θ ← θ − η·v, or with ``nesterov`` θ ← θ − η·(d + μ·v).

    **The notes' form.** The lecture notes write momentum as m_{k+1} = β·m_k − α∇f(θ_k),
    θ_{k+1} = θ_k + m_{k+1}. With μ = β, τ = 0 and a constant η = α this is the same trajectory
    under m = −η·v: m_{k+1} = −η(β·v_k + g_k) = β·m_k − η·g_k (and m_1 = −η·g_1 = −η·v_1 since
    m_0 = 0). PyTorch's velocity is in gradient units, so changing η mid-run rescales the whole
    accumulated velocity at once instead of only the new gradient term. Under a constant gradient
    g, v → g/(1 − μ): the terminal step is η·g/(1 − μ), ten times plain SGD's for μ = 0.9.

    The notes' Nesterov step evaluates the gradient at the look-ahead point:
    m_{k+1} = β·m_k − α∇f(θ_k + β·m_k), θ_{k+1} = θ_k + m_{k+1}. PyTorch stores the look-ahead
    point itself as the parameter, φ = θ + β·m: then φ_{k+1} = φ_k + β·m_{k+1} − α∇f(φ_k), which
    with m = −η·v is φ ← φ − η·(∇f(φ) + μ·v), PyTorch's ``nesterov`` update. The gradient is
    thus taken at the stored parameters and no second evaluation is needed.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        **implementation_flags("SGD", foreach=foreach, fused=fused,
                                               differentiable=differentiable,
                                               has_capturable=False))
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict) -> None:
        check_nonnegative("SGD", "lr", group["lr"])
        check_nonnegative("SGD", "momentum", group["momentum"])
        check_nonnegative("SGD", "weight_decay", group["weight_decay"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"SGD: nesterov=True requires momentum > 0 and dampening = 0, got momentum="
                f"{group['momentum']!r}, dampening={group['dampening']!r}")

    def _update_group(self, group: dict) -> None:
        lr = float(group["lr"])
        momentum = float(group["momentum"])
        dampening = float(group["dampening"])
        weight_decay = float(group["weight_decay"])
        nesterov, maximize = group["nesterov"], group["maximize"]
        for p in group["params"]:
            if p.grad is None:
                continue
            if on_device(p):
                self._fused_update(p, lr, momentum, dampening, weight_decay, nesterov, maximize)
                continue
            d, owned = effective_grad(p, weight_decay, maximize)
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = d.copy()
                else:
                    axpby_(buf, 1 - dampening, d, momentum)  # v ← μ·v + (1 − τ)·d
                if nesterov:                       # d + μ·v, PyTorch's grad.add(buf, alpha=μ)
                    if not owned:
                        d = d.copy()
                    axpy_(d, momentum, buf)
                else:
                    d = buf
            axpy_(p._data, -lr, d, self.scratch_like(p))  # θ ← θ − η·d in one pass
            p._bump_version()

    def _fused_update(self, p, lr: float, momentum: float, dampening: float, weight_decay: float,
                      nesterov: bool, maximize: bool) -> None:
        """The whole update of one GPU parameter in one backend kernel."""
        buf, first = None, False
        if momentum != 0:
            state = self.state[p]
            buf = state.get("momentum_buffer")
            if buf is None:
                buf, first = state.setdefault("momentum_buffer", zeros_state(p)), True
        backend.update_kernels(p._data).sgd_(
            p._data, device_grad(p), buf, lr=lr, momentum=momentum, dampening=dampening,
            weight_decay=weight_decay, nesterov=nesterov, maximize=maximize, first=first)
        p._bump_version()
