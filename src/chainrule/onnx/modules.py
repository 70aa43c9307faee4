"""Module-level patterns: layers written as one ONNX op instead of their recorded primitives.

The exporter knows, through forward hooks, which recorded ops each module produced. For the
layers below the whole range becomes one ONNX node, which keeps the module's own parameters
and buffers as initializers under their ``state_dict`` names and is what ONNX tools expect:

* BatchNorm1d/2d in evaluation with running statistics → ``BatchNormalization`` (the
  primitives would bake √(running_var + ε) into an anonymous constant);
* LayerNorm → ``LayerNormalization`` from opset 17 (below: its primitives, decomposed);
* GELU → ``Gelu`` from opset 20, where ONNX has it (below: its primitives, erf or tanh);
* LeakyReLU, ELU, PReLU → ``LeakyRelu``, ``Elu``, ``PRelu`` (their primitives compare x > 0
  and select; that form is exported too, for the functional calls);
* Conv1d/Conv2d with ``groups`` > 1 → ``Conv(group=…)`` where chainrule ran the grouped
  convolution as im2col + batched matmul (no oneDNN, or float64), which has no direct ONNX form;
  where oneDNN ran it as one conv op, that op's own emitter writes the same node.

A pattern returns None to decline (then the primitives are exported one by one).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .. import nn
from ..autograd.record import RecordedOp
from ..tensor import Tensor
from .graph import ExportError, GraphBuilder

__all__ = ["PATTERNS", "pattern_for"]

#: pattern(g, module, path, input_tensor, ops_of_the_module) -> output name, or None to decline
Pattern = Callable[[GraphBuilder, Any, str, Tensor, Sequence[RecordedOp]], "str | None"]


def _param_or(g: GraphBuilder, module, attr: str, path: str, fill: float, n: int, dtype) -> str:
    """The module's parameter ``attr`` (bound under its state_dict name), or a constant."""
    t = getattr(module, attr, None)
    if isinstance(t, Tensor) and g.has(t):
        return g.name(t)
    return g.initializer(np.full(n, fill, dtype=dtype), "const")


def _batch_norm(g, module, path, x, ops):
    """BatchNormalization(x, γ, β, running_mean, running_var, ε); the module ran in evaluation
    mode (export sets it), so without running statistics it normalised with the batch's."""
    if module.running_mean is None or module.running_var is None:
        return None
    for buf in (module.running_mean, module.running_var):
        if not g.has(buf):
            return None
    dtype = np.dtype(x.dtype)
    c = module.num_features
    ins = [g.name(x), _param_or(g, module, "weight", path, 1.0, c, dtype),
           _param_or(g, module, "bias", path, 0.0, c, dtype),
           g.name(module.running_mean), g.name(module.running_var)]
    if np.dtype(module.running_mean.dtype) != dtype:
        ins[3:] = [g.node("Cast", [n], "stat", to=g.helper.np_dtype_to_tensor_dtype(dtype))
                   for n in ins[3:]]
    return g.node("BatchNormalization", ins, "batch_norm", epsilon=float(module.eps))


def _layer_norm(g, module, path, x, ops):
    """LayerNormalization(x, γ, β, axis = −len(normalized_shape), ε) (opset ≥ 17)."""
    if g.opset < 17:
        return None
    shape = tuple(module.normalized_shape)
    n = int(np.prod(shape))
    dtype = np.dtype(x.dtype)
    scale = _param_or(g, module, "weight", path, 1.0, n, dtype)
    bias = _param_or(g, module, "bias", path, 0.0, n, dtype)
    if len(shape) > 1:   # a parameter-free module gets flat constants: give them the shape
        if getattr(module, "weight", None) is None:
            scale = g.node("Reshape", [scale, g.ints(shape)], "scale")
        if getattr(module, "bias", None) is None:
            bias = g.node("Reshape", [bias, g.ints(shape)], "bias")
    return g.node("LayerNormalization", [g.name(x), scale, bias], "layer_norm",
                  axis=-len(shape), epsilon=float(module.eps))


def _gelu(g, module, path, x, ops):
    """Gelu(approximate='none' | 'tanh') (opset ≥ 20)."""
    if g.opset < 20:
        return None
    return g.node("Gelu", [g.name(x)], "gelu", approximate=str(module.approximate))


def _leaky_relu(g, module, path, x, ops):
    """LeakyRelu(x, α = negative_slope)."""
    return g.node("LeakyRelu", [g.name(x)], "leaky_relu", alpha=float(module.negative_slope))


def _elu(g, module, path, x, ops):
    """Elu(x, α)."""
    return g.node("Elu", [g.name(x)], "elu", alpha=float(module.alpha))


def _prelu(g, module, path, x, ops):
    """PRelu(x, a) with one slope per channel (dim 1), the slope shaped (C, 1, …)."""
    w = module.weight
    if not g.has(w):
        return None
    slope = g.name(w)
    n = int(np.prod(w.shape))
    if n > 1:
        if x.ndim < 2:
            return None
        slope = g.node("Reshape", [slope, g.ints([n] + [1] * (x.ndim - 2))], "slope")
    return g.node("PRelu", [g.name(x), slope], "prelu")


def _grouped_conv(g, module, path, x, ops):
    """Conv(x, W, b, group) read from the module's im2col (Unfold) op."""
    if getattr(module, "groups", 1) == 1 or any(r.op == "conv" for r in ops):
        return None                     # one conv op (oneDNN ran it): its own emitter
    unfold = next((r for r in ops if r.op == "unfold"), None)
    if unfold is None or unfold.inputs[0] is not x:
        raise ExportError(f"onnx.export: cannot export grouped convolution in module "
                          f"'{path}' with padding_mode={module.padding_mode!r} "
                          "(only zero padding)")
    p = unfold.params
    ins = [g.name(x), g.name(module.weight)]
    if module.bias is not None:
        ins.append(g.name(module.bias))
    pads = [int(lo) for lo, _ in p["pads"]] + [int(hi) for _, hi in p["pads"]]
    return g.node("Conv", ins, "conv", kernel_shape=[int(k) for k in p["kernel"]],
                  strides=[int(s) for s in p["stride"]],
                  dilations=[int(d) for d in p["dilation"]], pads=pads,
                  group=int(module.groups))


#: module class -> pattern; subclasses match too
PATTERNS: list[tuple[type, Pattern]] = [
    (nn.BatchNorm1d, _batch_norm),
    (nn.BatchNorm2d, _batch_norm),
    (nn.LayerNorm, _layer_norm),
    (nn.GELU, _gelu),
    (nn.LeakyReLU, _leaky_relu),
    (nn.ELU, _elu),
    (nn.PReLU, _prelu),
    (nn.Conv1d, _grouped_conv),
    (nn.Conv2d, _grouped_conv),
]


def pattern_for(module: Any) -> Pattern | None:
    """The pattern that writes ``module`` as one ONNX op, if any."""
    for cls, pattern in PATTERNS:
        if isinstance(module, cls):
            return pattern
    return None
