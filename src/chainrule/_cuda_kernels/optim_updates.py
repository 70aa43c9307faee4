"""Fused optimizer updates on CuPy arrays: one kernel per parameter per step.

Each function reads the gradient, updates the optimizer state and the parameter in place in a
single elementwise pass, where the NumPy path makes several. Scalars (learning rate, betas,
bias corrections) are computed on the host from Python numbers, as PyTorch does, and passed as
kernel arguments of the parameter's dtype, so no step waits for the GPU. The arithmetic follows
PyTorch's formulas (``lerp`` for first moments, ``β·v + (1 − β)·d²`` for second ones).

Also the generic ``axpy_`` / ``axpby_`` the CPU takes from BLAS, for code shared by both.
"""
from __future__ import annotations

from ._compile import elementwise

__all__ = ["axpy_", "axpby_", "sgd_", "adam_", "rmsprop_", "adagrad_", "adadelta_", "nadam_"]

# d: the gradient an update uses, ±g (+ λθ for coupled weight decay); `sgn` is −1 to maximize
_GRAD = "T d = sgn * g;\n"
_COUPLED = "d += wd * p;\n"


def axpy_(y, alpha: float, x, scratch=None) -> None:
    """y ← y + α·x in place, in one kernel."""
    elementwise("T x, T a", "T y", "y += a * x", "cr_axpy")(x, y.dtype.type(alpha), y)


def axpby_(y, alpha: float, x, beta: float, scratch=None) -> None:
    """y ← α·x + β·y in place, in one kernel."""
    elementwise("T x, T a, T b", "T y", "y = a * x + b * y", "cr_axpby")(
        x, y.dtype.type(alpha), y.dtype.type(beta), y)


def sgd_(p, g, buf, *, lr: float, momentum: float, dampening: float, weight_decay: float,
         nesterov: bool, maximize: bool, first: bool) -> None:
    """SGD: d = ±g + λθ; v ← d (first step) or μ·v + (1 − τ)·d; θ ← θ − η·(d + μ·v or v)."""
    t = p.dtype.type
    sgn = t(-1 if maximize else 1)
    if buf is None:
        body = _GRAD + (_COUPLED if weight_decay else "") + "p -= lr * d;"
        elementwise("T g, T sgn, T wd, T lr", "T p", body, "cr_sgd")(
            g, sgn, t(weight_decay), t(lr), p)
        return
    body = (_GRAD + (_COUPLED if weight_decay else "")
            + ("buf = d;\n" if first else "buf = mu * buf + damp1 * d;\n")
            + ("p -= lr * (d + mu * buf);" if nesterov else "p -= lr * buf;"))
    name = f"cr_sgd_momentum_{int(first)}{int(nesterov)}"
    elementwise("T g, T sgn, T wd, T lr, T mu, T damp1", "T p, T buf", body, name)(
        g, sgn, t(weight_decay), t(lr), t(momentum), t(1 - dampening), p, buf)


_LERP = "m += (1 - b1) * (d - m);\n"          # PyTorch's m.lerp_(d, 1 − β₁)
_EMA_SQ = "v = b2 * v + (1 - b2) * d * d;\n"


def adam_(p, g, m, v, vmax, *, lr: float, beta1: float, beta2: float, eps: float,
          weight_decay: float, decoupled: bool, maximize: bool, step: int) -> None:
    """Adam / AdamW: m, v updated; θ ← θ − η/(1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + ε), one kernel."""
    t = p.dtype.type
    decay = ""
    if weight_decay:
        decay = "p *= 1 - lr * wd;\n" if decoupled else _COUPLED
    second = "v"
    if vmax is not None:
        decay_end = "vmax = max(vmax, v);\n"
        second = "vmax"
    else:
        decay_end = ""
    body = (_GRAD + decay + _LERP + _EMA_SQ + decay_end
            + f"p -= step_size * (m / (sqrt({second}) / bc2 + eps));")
    outs = "T p, T m, T v" + (", T vmax" if vmax is not None else "")
    name = f"cr_adam_{int(bool(weight_decay))}{int(decoupled)}{int(vmax is not None)}"
    args = [g, t(-1 if maximize else 1), t(weight_decay), t(lr), t(beta1), t(beta2), t(eps),
            t(lr / (1 - beta1 ** step)), t((1 - beta2 ** step) ** 0.5), p, m, v]
    if vmax is not None:
        args.append(vmax)
    elementwise("T g, T sgn, T wd, T lr, T b1, T b2, T eps, T step_size, T bc2", outs, body,
                name)(*args)


def rmsprop_(p, g, sq, gavg, buf, *, lr: float, alpha: float, eps: float,
             weight_decay: float, momentum: float, maximize: bool) -> None:
    """RMSprop: v ← α·v + (1 − α)·d²; r = √(v − ḡ²) + ε (centered) or √v + ε; momentum
    b ← μ·b + d/r, θ ← θ − η·b, else θ ← θ − η·d/r — one kernel."""
    t = p.dtype.type
    body = _GRAD + (_COUPLED if weight_decay else "") + "sq = a * sq + (1 - a) * d * d;\n"
    outs = ["T p", "T sq"]
    args = [g, t(-1 if maximize else 1), t(weight_decay), t(lr), t(alpha), t(eps),
            t(momentum)]
    if gavg is not None:
        body += "gavg += (1 - a) * (d - gavg);\nT r = sqrt(sq - gavg * gavg) + eps;\n"
        outs.append("T gavg")
    else:
        body += "T r = sqrt(sq) + eps;\n"
    if buf is not None:
        body += "buf = mu * buf + d / r;\np -= lr * buf;"
        outs.append("T buf")
    else:
        body += "p -= lr * (d / r);"
    arrays = [a for a in (p, sq, gavg, buf) if a is not None]
    name = f"cr_rmsprop_{int(gavg is not None)}{int(buf is not None)}"
    elementwise("T g, T sgn, T wd, T lr, T a, T eps, T mu", ", ".join(outs), body, name)(
        *args, *arrays)


def adagrad_(p, g, total, *, clr: float, eps: float, weight_decay: float,
             maximize: bool) -> None:
    """Adagrad: s ← s + d²; θ ← θ − η_t · d / (√s + ε) — one kernel."""
    t = p.dtype.type
    body = (_GRAD + (_COUPLED if weight_decay else "")
            + "s += d * d;\np -= clr * (d / (sqrt(s) + eps));")
    elementwise("T g, T sgn, T wd, T clr, T eps", "T p, T s", body, "cr_adagrad")(
        g, t(-1 if maximize else 1), t(weight_decay), t(clr), t(eps), p, total)


def adadelta_(p, g, sq, acc, *, lr: float, rho: float, eps: float, weight_decay: float,
              maximize: bool) -> None:
    """Adadelta: v ← ρv + (1 − ρ)d²; Δ = √(u + ε)/√(v + ε)·d; u ← ρu + (1 − ρ)Δ²; θ ← θ − ηΔ."""
    t = p.dtype.type
    body = (_GRAD + (_COUPLED if weight_decay else "")
            + "v = rho * v + (1 - rho) * d * d;\n"
            "T delta = sqrt(u + eps) / sqrt(v + eps) * d;\n"
            "u = rho * u + (1 - rho) * delta * delta;\n"
            "p -= lr * delta;")
    elementwise("T g, T sgn, T wd, T lr, T rho, T eps", "T p, T v, T u", body, "cr_adadelta")(
        g, t(-1 if maximize else 1), t(weight_decay), t(lr), t(rho), t(eps), p, sq, acc)


def nadam_(p, g, m, v, *, lr: float, beta1: float, beta2: float, eps: float,
           weight_decay: float, decoupled: bool, maximize: bool, step: int, mu: float,
           mu_next: float, mu_product: float) -> None:
    """NAdam: m, v as Adam; r = √(v/(1 − β₂ᵗ)) + ε;
    θ ← θ − η(1 − μ_t)/(1 − Π_t)·d/r − η·μ_{t+1}/(1 − Π_t·μ_{t+1})·m/r — one kernel."""
    t = p.dtype.type
    decay = ""
    if weight_decay:
        decay = "p *= 1 - lr * wd;\n" if decoupled else _COUPLED
    body = (_GRAD + decay + _LERP + _EMA_SQ
            + "T r = sqrt(v / bc2) + eps;\n"
            "p -= c1 * (d / r);\np -= c2 * (m / r);")
    name = f"cr_nadam_{int(bool(weight_decay))}{int(decoupled)}"
    elementwise("T g, T sgn, T wd, T lr, T b1, T b2, T eps, T bc2, T c1, T c2",
                "T p, T m, T v", body, name)(
        g, t(-1 if maximize else 1), t(weight_decay), t(lr), t(beta1), t(beta2), t(eps),
        t(1 - beta2 ** step), t(lr * (1.0 - mu) / (1.0 - mu_product)),
        t(lr * mu_next / (1.0 - mu_product * mu_next)), p, m, v)
