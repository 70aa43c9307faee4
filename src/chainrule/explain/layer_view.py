"""``cr.explain.layers(model, x, y, loss_fn)``: backprop at the scale of layers, for one batch.

Per layer (each Linear, convolution and normalisation module): its output shape, the mean and
standard deviation of its activation, ‖δ‖ (δ = ∂L/∂output arriving from above), the gradient
norm of each of its parameters — all measured by the gradient-health monitor's own
:class:`~chainrule.train.health.LayerCollector`, so the two always agree — and, for linear
layers, the Jacobian-product view of the notes: the weight's gradient is the product of the δ
arriving at the layer and the activation entering it,

    ∂L/∂W_l = Σ over the batch δ_l · a_{l−1}ᵀ   (PyTorch's W is (out, in): δᵀ·a),

computed here from the recorded δ and input (``cr.autograd.record()`` runs alongside) and
checked against the gradient the engine accumulated.

The model's ``.grad`` fields are left as they were: the batch's gradients are measured, then
the previous ones put back.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

__all__ = ["layers", "LayerView", "JacobianProduct"]


@dataclass
class JacobianProduct:
    """∂L/∂W = δᵀ·a_prev for one linear layer, from the recorded δ and input."""

    delta_shape: tuple[int, ...]     #: δ_l: (batch…, out)
    input_shape: tuple[int, ...]     #: a_{l−1}: (batch…, in)
    grad_shape: tuple[int, ...]      #: (out, in)
    norm: float                      #: ‖δᵀ·a‖
    matches: bool                    #: equals the weight's accumulated gradient
    calls: int = 1                   #: times the layer ran (shared weights: summed)

    def __str__(self) -> str:
        check = "= ‖∇W‖ ✓" if self.matches else "≠ ‖∇W‖ (the weight is also used elsewhere)"
        return (f"δ {self.delta_shape}ᵀ · a {self.input_shape} → {self.grad_shape}, "
                f"‖·‖ {self.norm:.4g} {check}")


def _g(x: float | None) -> str:
    return "-" if x is None else f"{x:.4g}"


@dataclass
class LayerView:
    """The per-layer numbers of one batch; ``print()`` it, or ``figure()``/``save()`` it."""

    loss: float
    batch: int
    layers: dict[str, Any]                        #: name -> LayerStats (from the collector)
    products: dict[str, JacobianProduct] = field(default_factory=dict)

    def __str__(self) -> str:
        head = (f"{'layer':<14} {'kind':<14} {'out shape':<14} {'act mean':>9} {'act std':>9} "
                f"{'‖δ‖':>9}  gradient norms")
        rows = [f"layer view of one batch ({self.batch} items): loss {self.loss:.6g}", "",
                head]
        for s in self.layers.values():
            shape = "-" if s.out_shape is None else str(tuple(s.out_shape))
            grads = ", ".join(f"‖∇{p}‖ {_g(ps.grad_norm)}" for p, ps in s.params.items()) or "-"
            kind = s.kind if s.activation is None else f"{s.kind}+{s.activation}"
            rows.append(f"{s.name[:14]:<14} {kind[:14]:<14} {shape:<14} {_g(s.act_mean):>9} "
                        f"{_g(s.act_std):>9} {_g(s.delta_norm):>9}  {grads}")
        if self.products:
            rows += ["", "Jacobian products: ∂L/∂W_l = δ_lᵀ·a_{l−1} (summed over the batch)"]
            rows += [f"  {name}: {p}" for name, p in self.products.items()]
        return "\n".join(rows)

    def figure(self):
        """A matplotlib Figure: activation mean ± std, ‖δ‖ and ‖∇W‖ per layer."""
        try:
            from matplotlib.figure import Figure
        except ImportError:
            raise ImportError("the layer view's figure needs matplotlib: pip install "
                              "'chainrule[viz]'") from None
        stats = list(self.layers.values())
        names = [s.name for s in stats]
        at = np.arange(len(stats))
        fig = Figure(figsize=(max(6.0, 1.1 * len(stats) + 3.0), 7.5))
        axes = fig.subplots(3, 1, sharex=True)
        mean = [np.nan if s.act_mean is None else s.act_mean for s in stats]
        std = [np.nan if s.act_std is None else s.act_std for s in stats]
        axes[0].errorbar(at, mean, yerr=std, fmt="o", capsize=4)
        axes[0].set_ylabel("activation\nmean ± std")
        for ax, values, label in (
                (axes[1], [s.delta_norm for s in stats], "‖δ‖ from above"),
                (axes[2], [s.grad_norm for s in stats], "‖∇W‖")):
            heights = [np.nan if v is None else v for v in values]
            ax.bar(at, heights, color="#4c72b0")
            if all(v is not None and v > 0 for v in values) and values:
                ax.set_yscale("log")
            ax.set_ylabel(label)
        axes[2].set_xticks(at, names, rotation=30, ha="right")
        axes[0].set_title(f"layer view of one batch ({self.batch} items), loss {self.loss:.4g}")
        fig.tight_layout()
        return fig

    def save(self, path: Any) -> None:
        """Write the figure (``.png`` or ``.svg``) atomically."""
        import io
        from ..io import write_bytes
        p = Path(path)
        fmt = p.suffix.lower().lstrip(".")
        if fmt not in ("png", "svg"):
            raise ValueError(f"layer view: cannot tell the format of {str(p)!r} from its suffix "
                             f"{p.suffix!r}; use .png or .svg")
        buf = io.BytesIO()
        self.figure().savefig(buf, format=fmt, dpi=110)
        write_bytes(p, buf.getvalue(), what="the layer view")


def _linear_products(model: Any, rec: Any) -> dict[str, JacobianProduct]:
    from .. import nn
    found: dict[str, JacobianProduct] = {}
    for name, module in model.named_modules():
        if not isinstance(module, nn.Linear) or module.weight.grad is None:
            continue
        calls = [r for r in rec.ops if r.op == "linear" and len(r.inputs) > 1
                 and r.inputs[1] is module.weight and rec.delta(r.output) is not None]
        if not calls:
            continue
        total = None
        for r in calls:
            a = np.asarray(r.inputs[0]._data, dtype=np.float64)
            d = np.asarray(rec.delta(r.output), dtype=np.float64)
            part = d.reshape(-1, d.shape[-1]).T @ a.reshape(-1, a.shape[-1])
            total = part if total is None else total + part
        grad = np.asarray(module.weight.grad._data, dtype=np.float64)
        scale = max(float(np.abs(grad).max(initial=0.0)), 1e-30)
        matches = bool(np.allclose(total, grad, rtol=1e-4, atol=1e-5 * scale))
        first = calls[0]
        found[name or "(model)"] = JacobianProduct(
            tuple(rec.delta(first.output).shape), tuple(first.inputs[0].shape),
            tuple(total.shape), float(math.sqrt(float(np.sum(total * total)))), matches,
            len(calls))
    return found


def layers(model: Any, x: Any, y: Any, loss_fn: Callable) -> LayerView:
    """Run ``loss_fn(model(x), y)`` forward and backward once and gather the layer view (see
    the module docstring). ``model``'s mode (train/eval) is used as it is."""
    from .. import autograd
    from ..tensor import Tensor
    from ..train.health import LayerCollector
    if not hasattr(model, "named_modules"):
        raise TypeError(f"layers: model must be a Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"layers: loss_fn must be callable, got {type(loss_fn).__name__}")
    x = x if isinstance(x, Tensor) else Tensor._wrap(np.asarray(x), False, None)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("layers: the model has no parameter that requires grad")
    previous = [p.grad for p in params]
    for p in params:
        p.grad = None
    try:
        with autograd.record() as rec, LayerCollector(model) as col:
            loss = loss_fn(model(x), y)
            if not isinstance(loss, Tensor) or loss._data.size != 1:
                raise ValueError(f"layers: loss_fn must return a scalar Tensor, got "
                                 f"{getattr(loss, 'shape', type(loss).__name__)}")
            loss.backward()
        view = LayerView(float(loss._data.reshape(())), int(x.shape[0]) if x.ndim else 1,
                         col.stats(), _linear_products(model, rec))
    finally:
        for p, g in zip(params, previous):
            p.grad = g
    return view
