"""L-BFGS with an optional strong-Wolfe line search — PyTorch's algorithm (after minFunc).

Each :meth:`LBFGS.step` runs up to ``max_iter`` quasi-Newton iterations on the whole parameter
vector θ (all parameters flattened and concatenated). With s_k = θ_{k+1} − θ_k and
y_k = g_{k+1} − g_k (kept only when the curvature yᵀs > 1e-10, at most ``history_size`` pairs),
the search direction is d = −H·g, where H is the inverse-Hessian estimate built by the two-loop
recursion from H₀ = (yᵀs / yᵀy)·I. The step length is ``lr`` (on the very first iteration
min(1, 1/‖g‖₁)·lr), or the point a strong-Wolfe line search finds starting from it:

    f(θ + t·d) ≤ f(θ) + c₁·t·gᵀd   and   |∇f(θ + t·d)ᵀd| ≤ c₂·|gᵀd|   (c₁ = 1e-4, c₂ = 0.9).

The iteration stops early when max|g| ≤ ``tolerance_grad``, when the step or the change of the
loss falls below ``tolerance_change``, or after ``max_eval`` evaluations of the closure.

The work is done on flat NumPy vectors (one concatenated gradient, one direction), and the
parameters are updated in place slice by slice, so a step costs a few vector operations per
iteration and no Python loop over elements.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable

import numpy as np

from .. import backend
from ..autograd import grad_mode
from ..tensor import Tensor
from ._flat import add_step, copy_params, set_params
from .optimizer import Optimizer, check_nonnegative

__all__ = ["LBFGS"]


def _cubic_minimum(x1: float, f1: float, g1: float, x2: float, f2: float, g2: float,
                   bounds: tuple[float, float] | None = None) -> float:
    """The minimiser of the cubic through (x1, f1, f1'=g1) and (x2, f2, f2'=g2), clipped to
    ``bounds`` (default: the interval between x1 and x2); the interval's midpoint when the cubic
    has no real minimiser.

    The arithmetic follows IEEE rules as PyTorch's tensors do: where the cubic degenerates (a
    linear f, so d2 = 0 and g1 = g2, or x1 = x2) a division by zero gives ±inf, which the clip
    turns into a bound, instead of raising ZeroDivisionError."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    x1, f1, g1, x2, f2, g2 = (np.float64(v) for v in (x1, f1, g1, x2, f2, g2))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
        disc = d1 * d1 - g1 * g2
        if not disc >= 0:                     # no real minimiser (or NaN): the midpoint
            return (lo + hi) / 2.0
        d2 = np.sqrt(disc)
        if x1 <= x2:
            x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return float(min(max(x, lo), hi))


def _strong_wolfe(evaluate: Callable, t: float, d, f: float, g, gtd: float, c1: float = 1e-4,
                  c2: float = 0.9, tolerance_change: float = 1e-9, max_ls: int = 25):
    """Find t along d satisfying the strong Wolfe conditions: bracket, then zoom by cubic
    interpolation. ``evaluate(t)`` returns (f(θ + t·d), ∇f(θ + t·d)) and leaves θ unchanged.

    Returns (f_new, g_new, t, number of evaluations).
    """
    d_norm = float(abs(d).max())
    f_new, g_new = evaluate(t)
    evals = 1
    gtd_new = float(g_new @ d)

    # Bracketing: grow t until an interval [t_prev, t] must contain an acceptable point.
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    it = 0
    while it < max_ls:
        if f_new > f + c1 * t * gtd or (it > 1 and f_new >= f_prev):
            pts, fs, gs, gtds = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            pts, fs, gs, gtds = [t], [f_new], [g_new], None
            done = True
            break
        if gtd_new >= 0:
            pts, fs, gs, gtds = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        # Extrapolate: the cubic's minimiser, kept within [t + 0.01·(t − t_prev), 10·t].
        t_next = _cubic_minimum(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = float(g_new @ d)
        it += 1
    if it == max_ls:
        pts, fs, gs, gtds = [0.0, t], [f, f_new], [g, g_new], None

    # Zoom: shrink the bracket [pts[0], pts[1]] until a point satisfies both conditions.
    insufficient = False
    low, high = (0, 1) if fs[0] <= fs[-1] else (1, 0)
    while not done and it < max_ls:
        if abs(pts[1] - pts[0]) * d_norm < tolerance_change:
            break
        t = _cubic_minimum(pts[0], fs[0], gtds[0], pts[1], fs[1], gtds[1])
        # Keep t at least 10 % of the bracket away from its ends when progress stalls.
        a, b = min(pts), max(pts)
        margin = 0.1 * (b - a)
        if min(b - t, t - a) < margin:
            if insufficient or t >= b or t <= a:
                t = b - margin if abs(t - b) < abs(t - a) else a + margin
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = float(g_new @ d)
        it += 1
        if f_new > f + c1 * t * gtd or f_new >= fs[low]:
            pts[high], fs[high], gs[high], gtds[high] = t, f_new, g_new, gtd_new
            low, high = (0, 1) if fs[0] <= fs[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (pts[high] - pts[low]) >= 0:
                pts[high], fs[high], gs[high], gtds[high] = pts[low], fs[low], gs[low], gtds[low]
            pts[low], fs[low], gs[low], gtds[low] = t, f_new, g_new, gtd_new
    return fs[low], gs[low], pts[low], evals


class LBFGS(Optimizer):
    """Limited-memory BFGS, PyTorch's ``torch.optim.LBFGS`` (same arguments, defaults, iterates).

    ``step(closure)`` needs a closure that zeroes the gradients, computes the loss, calls
    ``backward()`` and returns the loss; it is called once or more per iteration. Only one
    parameter group is supported. Memory: ``history_size`` pairs of flat vectors, i.e. about
    2·history_size copies of the parameters.

    The state (kept, as in PyTorch, under the first parameter) holds flat arrays (``d``,
    ``prev_flat_grad``, lists ``old_dirs``/``old_stps``) and Python numbers (``t``, ``ro``,
    ``H_diag``, ``prev_loss``, ``n_iter``, ``func_evals``), so ``state_dict()`` is plain arrays,
    lists and numbers.
    """

    _scalar_state_keys = ("func_evals", "n_iter", "t", "H_diag", "prev_loss")

    def __init__(self, params: Iterable, lr: float = 1, max_iter: int = 20,
                 max_eval: int | None = None, tolerance_grad: float = 1e-7,
                 tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params: list[Tensor] = self.param_groups[0]["params"]

    def _check_hyperparameters(self, group: dict) -> None:
        check_nonnegative("LBFGS", "lr", group["lr"])
        check_nonnegative("LBFGS", "tolerance_grad", group["tolerance_grad"])
        check_nonnegative("LBFGS", "tolerance_change", group["tolerance_change"])
        for name in ("max_iter", "max_eval", "history_size"):
            v = group[name]
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"LBFGS: invalid {name}: {v!r} (must be an integer >= 1)")
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: invalid line_search_fn: {group['line_search_fn']!r} "
                             "(only None and 'strong_wolfe' are supported)")

    def add_param_group(self, param_group: dict) -> None:
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    # -- the flat view of the parameters ------------------------------------------------------
    def _flat_grad(self):
        xp = backend.get_array_module(self._params[0]._data)
        parts = []
        for p in self._params:
            if p.grad is None:
                parts.append(xp.zeros(p._data.size, dtype=p._data.dtype))
            else:
                parts.append(p.grad._data.astype(p._data.dtype, copy=False).reshape(-1))
        return xp.concatenate(parts)

    def _evaluate(self, closure: Callable) -> float:
        with grad_mode.enable_grad():
            return float(closure())

    # -- one step -----------------------------------------------------------------------------
    def step(self, closure: Callable[[], Any]):  # type: ignore[override]
        """Run up to ``max_iter`` L-BFGS iterations; returns the loss from the first closure call."""
        if closure is None:
            raise RuntimeError("LBFGS.step requires a closure that recomputes the loss and its "
                               "gradients (zero_grad, loss = ..., loss.backward(), return loss)")
        group = self.param_groups[0]
        lr = float(group["lr"])
        max_iter, max_eval = int(group["max_iter"]), int(group["max_eval"])
        tolerance_grad = float(group["tolerance_grad"])
        tolerance_change = float(group["tolerance_change"])
        history_size = int(group["history_size"])
        line_search = group["line_search_fn"]

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with grad_mode.enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        if float(abs(g).max()) <= tolerance_grad:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag = state.get("H_diag")
        prev_g, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")

        with grad_mode.no_grad():
            n_iter = 0
            while n_iter < max_iter:
                n_iter += 1
                state["n_iter"] += 1

                # -- direction d = −H·g ----------------------------------------------------
                if state["n_iter"] == 1:
                    d = -g
                    old_dirs, old_stps, ro = [], [], []
                    H_diag = 1.0
                else:
                    y = g - prev_g
                    s = d * t
                    ys = float(y @ s)
                    if ys > 1e-10:  # keep the pair only when the curvature is positive
                        if len(old_dirs) == history_size:
                            old_dirs.pop(0)
                            old_stps.pop(0)
                            ro.pop(0)
                        old_dirs.append(y)
                        old_stps.append(s)
                        ro.append(1.0 / ys)
                        H_diag = ys / float(y @ y)
                    d = self._two_loop(g, old_dirs, old_stps, ro, H_diag)

                if prev_g is None:
                    prev_g = g.copy()
                else:
                    prev_g[...] = g
                prev_loss = loss

                # -- step length -------------------------------------------------------------
                if state["n_iter"] == 1:
                    t = min(1.0, 1.0 / float(abs(g).sum())) * lr
                else:
                    t = lr
                gtd = float(g @ d)
                if gtd > -tolerance_change:  # not a descent direction (numerically)
                    break

                ls_evals = 0
                if line_search is not None:
                    x0 = copy_params(self._params)

                    def evaluate(step: float, x0=x0, d=d):
                        add_step(self._params, step, d)
                        f_t = self._evaluate(closure)
                        g_t = self._flat_grad()
                        set_params(self._params, x0)
                        return f_t, g_t

                    loss, g, t, ls_evals = _strong_wolfe(evaluate, t, d, loss, g, gtd,
                                                         max_ls=max_eval - evals)
                    add_step(self._params, t, d)
                    converged = float(abs(g).max()) <= tolerance_grad
                else:
                    add_step(self._params, t, d)
                    converged = False
                    if n_iter != max_iter:  # no re-evaluation after the last iteration
                        loss = self._evaluate(closure)
                        g = self._flat_grad()
                        converged = float(abs(g).max()) <= tolerance_grad
                        ls_evals = 1
                evals += ls_evals
                state["func_evals"] += ls_evals

                # -- stopping tests ----------------------------------------------------------
                if n_iter == max_iter or evals >= max_eval or converged:
                    break
                if float(abs(d * t).max()) <= tolerance_change:
                    break
                if abs(loss - prev_loss) < tolerance_change:
                    break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                     prev_flat_grad=prev_g, prev_loss=prev_loss)
        return orig_loss

    @staticmethod
    def _two_loop(g, old_dirs: list, old_stps: list, ro: list, H_diag: float):
        """−H·g by the two-loop recursion over the stored (s, y) pairs."""
        k = len(old_dirs)
        al = [0.0] * k
        q = -g
        for i in range(k - 1, -1, -1):
            al[i] = float(old_stps[i] @ q) * ro[i]
            q -= al[i] * old_dirs[i]
        r = q * H_diag
        for i in range(k):
            be = float(old_dirs[i] @ r) * ro[i]
            r += (al[i] - be) * old_stps[i]
        return r
