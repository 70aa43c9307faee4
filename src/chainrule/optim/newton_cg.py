"""Newton–CG ("Hessian-free"): truncated conjugate gradient on Hessian-vector products.

One Newton iteration at θ with gradient g and Hessian H solves (H + λI)·p = −g approximately by
conjugate gradient, which needs only products H·v. Each is one extra reverse pass through the
gradient's own graph (double backward): H·v = ∇_θ⟨∇_θ f(θ), v⟩. No Hessian is ever formed, and
the memory is a handful of flat vectors, O(number of parameters). CG stops (Nocedal & Wright,
Algorithm 7.1) when

- the residual is small: ‖(H + λI)p + g‖ ≤ η·‖g‖ with η = ``cg_tol`` (default 1e-5: nearly the
  exact Newton step), or with ``cg_tol='forcing'`` the forcing term η = min(0.5, √‖g‖) of
  Nocedal & Wright, which spends fewer products far from a minimum and still converges
  superlinearly (but crawls along narrow valleys such as Rosenbrock's);
- a direction of non-positive curvature dᵀ(H + λI)d ≤ 0 appears: the iterate so far is kept (it
  is still a descent direction), or −g is used if it happens on the first CG iteration;
- ``max_cg_iter`` products have been spent.

The step θ ← θ + t·p then takes the first t in lr, lr/2, lr/4 ... with the Armijo condition
f(θ + t·p) ≤ f(θ) + c₁·t·gᵀp (forward passes only, no gradients).
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable

import numpy as np

from .. import backend
from ..autograd import engine, grad_mode
from ..tensor import Tensor
from ._flat import add_step, copy_params, set_params
from .optimizer import Optimizer, check_interval, check_nonnegative

__all__ = ["NewtonCG"]


class NewtonCG(Optimizer):
    """Line-search Newton–CG with Hessian-vector products by double backward.

    ``step(closure)`` runs up to ``max_iter`` Newton iterations. **The closure returns the loss
    and must not call** ``backward()``: NewtonCG differentiates the loss itself, once with
    ``create_graph=True`` for the gradient and again through that gradient for each H·v. The
    line search calls the closure under ``no_grad``. After a step, each parameter's ``.grad`` holds
    the (detached) gradient at the start of the last iteration.

    Arguments: ``lr`` the first trial step of the line search (1 is the Newton step);
    ``max_iter`` Newton iterations per step; ``max_cg_iter`` H·v products per iteration (default
    min(number of parameters, 250)); ``cg_tol`` the relative residual at which CG stops (or
    ``'forcing'`` for min(0.5, √‖g‖)); ``damping`` λ ≥ 0 added to the Hessian's diagonal
    (Levenberg–Marquardt style, useful far from a minimum); ``c1`` the Armijo constant;
    ``backtrack`` the factor t shrinks by; ``max_ls`` line-search trials; ``tolerance_grad``
    stop when max|g| is at most this; ``tolerance_change`` stop when the loss or the step changes
    by less.

    Work counters (cumulative, never reset by the optimizer): ``n_grad_evals`` (closure calls with
    a gradient), ``n_hvps`` (Hessian-vector products), ``n_func_evals`` (forward-only closure
    calls in the line search) and ``n_iter`` (Newton iterations).
    """

    _scalar_state_keys = ("n_iter", "n_grad_evals", "n_hvps", "n_func_evals")

    def __init__(self, params: Iterable, lr: float = 1.0, max_iter: int = 1,
                 max_cg_iter: int | None = None, cg_tol: float | str = 1e-5,
                 damping: float = 0.0, c1: float = 1e-4, backtrack: float = 0.5,
                 max_ls: int = 30, tolerance_grad: float = 1e-10,
                 tolerance_change: float = 1e-12):
        defaults = dict(lr=lr, max_iter=max_iter, max_cg_iter=max_cg_iter, cg_tol=cg_tol,
                        damping=damping, c1=c1, backtrack=backtrack, max_ls=max_ls,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("NewtonCG doesn't support per-parameter options (parameter groups)")
        self._params: list[Tensor] = self.param_groups[0]["params"]

    def _check_hyperparameters(self, group: dict) -> None:
        name = "NewtonCG"
        check_nonnegative(name, "lr", group["lr"])
        check_nonnegative(name, "damping", group["damping"])
        check_nonnegative(name, "tolerance_grad", group["tolerance_grad"])
        check_nonnegative(name, "tolerance_change", group["tolerance_change"])
        check_interval(name, "c1", group["c1"], 0.0, 1.0)
        check_interval(name, "backtrack", group["backtrack"], 0.0, 1.0)
        if not group["backtrack"] > 0:
            raise ValueError(f"{name}: invalid backtrack: {group['backtrack']!r} (must be in "
                             "(0, 1))")
        if group["cg_tol"] != "forcing":
            check_interval(name, "cg_tol", group["cg_tol"], 0.0, 1.0)
        for key in ("max_iter", "max_cg_iter", "max_ls"):
            v = group[key]
            if v is None and key == "max_cg_iter":
                continue
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name}: invalid {key}: {v!r} (must be an integer >= 1)")

    def add_param_group(self, param_group: dict) -> None:
        if self.param_groups:
            raise ValueError("NewtonCG doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    # -- counters (kept in the state so that they survive a state_dict round trip) ------------
    @property
    def _counters(self) -> dict:
        s = self.state[self._params[0]]
        for k in self._scalar_state_keys:
            s.setdefault(k, 0)
        return s

    n_iter = property(lambda self: self._counters["n_iter"])
    n_grad_evals = property(lambda self: self._counters["n_grad_evals"])
    n_hvps = property(lambda self: self._counters["n_hvps"])
    n_func_evals = property(lambda self: self._counters["n_func_evals"])

    # -- evaluations --------------------------------------------------------------------------
    def _loss_with_graph(self, closure: Callable) -> Tensor:
        with grad_mode.enable_grad():
            loss = closure()
        if not isinstance(loss, Tensor) or loss._data.size != 1:
            what = f"shape {tuple(loss.shape)}" if isinstance(loss, Tensor) else type(loss).__name__
            raise TypeError(f"NewtonCG: the closure must return the loss as a one-element Tensor, "
                            f"got {what}")
        return loss

    def _gradient(self, closure: Callable):
        """(detached loss, gradient Tensors carrying their graph, flat gradient array)."""
        loss = self._loss_with_graph(closure)
        self._counters["n_grad_evals"] += 1
        xp = backend.get_array_module(self._params[0]._data)
        if not loss.requires_grad:
            grads = [None] * len(self._params)
        else:
            try:
                grads = engine.grad(loss, self._params, create_graph=True, allow_unused=True)
            except RuntimeError as e:
                raise RuntimeError(
                    "NewtonCG: could not differentiate the closure's loss; the closure must "
                    "return the loss without calling backward() (NewtonCG differentiates it "
                    f"twice itself). Original error: {e}") from e
        flat = xp.concatenate([
            (xp.zeros(p._data.size, p._data.dtype) if g is None
             else g._data.astype(p._data.dtype, copy=False).reshape(-1))
            for p, g in zip(self._params, grads)])
        for p, g in zip(self._params, grads):
            p.grad = Tensor._wrap(xp.zeros_like(p._data) if g is None else g._data.copy(),
                                  False, None)
        return loss.detach(), grads, flat

    def _hvp(self, grads, v):
        """H·v as a flat array: one reverse pass through the gradient's graph."""
        self._counters["n_hvps"] += 1
        xp = backend.get_array_module(v)
        outs, vs, offset = [], [], 0
        for p, g in zip(self._params, grads):
            n = p._data.size
            if g is not None and g.requires_grad:
                outs.append(g)
                vs.append(Tensor._wrap(v[offset:offset + n].reshape(p._data.shape), False, None))
            offset += n
        if not outs:  # the loss is linear in the parameters
            return xp.zeros_like(v)
        hv = engine.grad(outs, self._params, vs, retain_graph=True, allow_unused=True)
        return xp.concatenate([
            (xp.zeros(p._data.size, p._data.dtype) if h is None
             else h._data.astype(p._data.dtype, copy=False).reshape(-1))
            for p, h in zip(self._params, hv)])

    def _value(self, closure: Callable) -> float:
        self._counters["n_func_evals"] += 1
        with grad_mode.no_grad():
            return float(closure())

    # -- the algorithm ------------------------------------------------------------------------
    def _cg(self, grads, g, damping: float, tol: float, max_cg: int):
        """Approximately solve (H + λI)·p = −g; returns p (a descent direction)."""
        p = g * 0
        r = g.copy()              # residual (H + λI)·p + g at p = 0
        d = -r
        rr = float(r @ r)
        stop = (tol * math.sqrt(rr)) ** 2
        for j in range(max_cg):
            hd = self._hvp(grads, d)
            if damping:
                hd += damping * d
            curvature = float(d @ hd)
            if curvature <= 0:    # non-positive curvature: H is not positive definite along d
                return -g if j == 0 else p
            alpha = rr / curvature
            p += alpha * d
            r += alpha * hd
            rr_new = float(r @ r)
            if rr_new <= stop:
                break
            d *= rr_new / rr
            d -= r
            rr = rr_new
        return p

    def step(self, closure: Callable[[], Any]):  # type: ignore[override]
        """Run up to ``max_iter`` Newton–CG iterations; returns the loss (detached) at the
        starting point."""
        if closure is None:
            raise RuntimeError("NewtonCG.step requires a closure that computes and returns the "
                               "loss (without calling backward)")
        group = self.param_groups[0]
        lr, damping = float(group["lr"]), float(group["damping"])
        c1, backtrack, max_ls = float(group["c1"]), float(group["backtrack"]), int(group["max_ls"])
        tolerance_grad = float(group["tolerance_grad"])
        tolerance_change = float(group["tolerance_change"])
        n_params = sum(p._data.size for p in self._params)
        max_cg = group["max_cg_iter"] or min(n_params, 250)
        counters = self._counters
        first_loss = None
        for _ in range(int(group["max_iter"])):
            loss_t, grads, g = self._gradient(closure)
            loss = float(loss_t)
            if first_loss is None:
                first_loss = loss_t
            gmax = float(abs(g).max()) if g.size else 0.0
            if gmax <= tolerance_grad:
                break
            gnorm = float(np.sqrt(float(g @ g)))
            tol = group["cg_tol"]
            if tol == "forcing":
                tol = min(0.5, math.sqrt(gnorm))
            with grad_mode.no_grad():
                direction = self._cg(grads, g, damping, tol, int(max_cg))
            del grads  # frees the gradient's graph
            counters["n_iter"] += 1

            gtd = float(g @ direction)
            x0 = copy_params(self._params)
            t, accepted, f_new = lr, False, loss
            for _ in range(max_ls):
                add_step(self._params, t, direction)
                f_new = self._value(closure)
                if math.isfinite(f_new) and f_new <= loss + c1 * t * gtd:
                    accepted = True
                    break
                set_params(self._params, x0)
                t *= backtrack
            if not accepted:
                break
            if abs(f_new - loss) < tolerance_change or \
                    float(abs(direction).max()) * t <= tolerance_change:
                break
        return first_loss
