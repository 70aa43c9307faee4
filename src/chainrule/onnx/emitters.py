"""The op table: each chainrule primitive (by its ``name``) → a function writing ONNX nodes.

An emitter takes the :class:`~.graph.GraphBuilder` and the :class:`RecordedOp` and returns the
name of the ONNX value holding the op's output. Inputs that are Tensors are already bound;
constants (numbers, arrays) become initializers of the output's dtype. An op missing from
:data:`EMITTERS` cannot be exported (the exporter names it and the module it ran in).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ..autograd.record import RecordedOp
from ..tensor import Tensor
from .graph import ExportError, GraphBuilder
from .shapes import expand_target, reshape_target

__all__ = ["EMITTERS", "Emitter"]

Emitter = Callable[[GraphBuilder, RecordedOp], str]
EMITTERS: dict[str, Emitter] = {}


def _arg(g: GraphBuilder, op: RecordedOp, i: int) -> str:
    return g.value(op.inputs[i], like=op.output)


def _param(op: RecordedOp, key: str, position: int, default=None):
    """A parameter given by keyword (``apply(x, p=3)``) or positionally (the fast path)."""
    if key in op.params:
        return op.params[key]
    return op.inputs[position] if len(op.inputs) > position else default


def _simple(onnx_op: str, arity: int) -> Emitter:
    def emit(g: GraphBuilder, op: RecordedOp) -> str:
        return g.node(onnx_op, [_arg(g, op, i) for i in range(arity)], op.op)
    emit.__doc__ = f"→ {onnx_op}"
    return emit


for _name, _onnx, _n in [("add", "Add", 2), ("sub", "Sub", 2), ("mul", "Mul", 2),
                         ("div", "Div", 2), ("pow", "Pow", 2), ("maximum", "Max", 2),
                         ("minimum", "Min", 2), ("matmul", "MatMul", 2), ("neg", "Neg", 1),
                         ("exp", "Exp", 1), ("log", "Log", 1), ("sqrt", "Sqrt", 1),
                         ("abs", "Abs", 1), ("sin", "Sin", 1), ("cos", "Cos", 1),
                         ("tanh", "Tanh", 1), ("sigmoid", "Sigmoid", 1), ("relu", "Relu", 1),
                         ("erf", "Erf", 1), ("sign", "Sign", 1), ("clone", "Identity", 1)]:
    EMITTERS[_name] = _simple(_onnx, _n)


def _register(*names: str) -> Callable[[Emitter], Emitter]:
    def deco(fn: Emitter) -> Emitter:
        for n in names:
            EMITTERS[n] = fn
        return fn
    return deco


def _scalar(g: GraphBuilder, value: float, like) -> str:
    return g.const(np.asarray(value), np.dtype(like.dtype))


# -- elementwise -------------------------------------------------------------------------------
@_register("powscalar")
def _powscalar(g, op):
    """x^p → Pow(x, p)."""
    return g.node("Pow", [_arg(g, op, 0), _scalar(g, _param(op, "p", 1), op.output)], "pow")


@_register("powscalarbase")
def _powscalarbase(g, op):
    """b^y → Pow(b, y)."""
    return g.node("Pow", [_scalar(g, _param(op, "base", 1, 1.0), op.output), _arg(g, op, 0)],
                  "pow")


@_register("log1p")
def _log1p(g, op):
    """log(1 + x) → Log(Add(x, 1))."""
    return g.node("Log", [g.node("Add", [_arg(g, op, 0), _scalar(g, 1.0, op.output)])], "log1p")


@_register("step")
def _step(g, op):
    """1 if x > 0 else 0 → Cast(Greater(x, 0))."""
    x = op.inputs[0]
    positive = g.node("Greater", [g.name(x), _scalar(g, 0.0, x)])
    return g.node("Cast", [positive], "step", to=_onnx_dtype(g, op.output.dtype))


@_register("clip")
def _clip(g, op):
    """min(max(x, lo), hi) with constant bounds → Clip(x, lo, hi) ('' for a missing bound)."""
    lo, hi = op.params.get("lo"), op.params.get("hi")
    ins = [_arg(g, op, 0), "" if lo is None else _scalar(g, lo, op.output),
           "" if hi is None else _scalar(g, hi, op.output)]
    while ins[-1] == "":
        ins.pop()
    return g.node("Clip", ins, "clip")


@_register("clampbounds")
def _clampbounds(g, op):
    """min(max(x, lo), hi) with tensor bounds → Max then Min."""
    out = _arg(g, op, 0)
    lo, hi = _param(op, "lo", 1), _param(op, "hi", 2)
    if lo is not None:
        out = g.node("Max", [out, g.value(lo, like=op.output)], "clamp")
    if hi is not None:
        out = g.node("Min", [out, g.value(hi, like=op.output)], "clamp")
    return out


@_register("softplus")
def _softplus(g, op):
    """ln(1 + e^{βx})/β, and x where βx > threshold → Softplus, Greater, Where."""
    x, out = _arg(g, op, 0), op.output
    beta, threshold = op.params.get("beta", 1.0), op.params.get("threshold", 20.0)
    bx = x if beta == 1 else g.node("Mul", [x, _scalar(g, beta, out)])
    soft = g.node("Softplus", [bx])
    if beta != 1:
        soft = g.node("Div", [soft, _scalar(g, beta, out)])
    over = g.node("Greater", [bx, _scalar(g, threshold, out)])
    return g.node("Where", [over, x, soft], "softplus")


@_register("cast")
def _cast(g, op):
    """x.astype(dtype) → Cast."""
    return g.node("Cast", [_arg(g, op, 0)], "cast", to=_onnx_dtype(g, op.output.dtype))


@_register("where")
def _where(g, op):
    """c ? x : y → Where. chainrule's condition is an array; one computed from the data (a
    recorded comparison, or ``t > 0`` for one of the op's inputs as in LeakyReLU, ELU, PReLU)
    was written as ONNX ops by the exporter (``g.array_names``); any other is the same on every
    input (the exporter checked) and is stored as a constant."""
    cond = op.inputs[0]
    cond_name = g.array_names.get(id(cond))
    if cond_name is None:
        cond_arr = cond._data if isinstance(cond, Tensor) else np.asarray(cond)
        cond_name = g.value(cond) if isinstance(cond, Tensor) else g.const(cond_arr.astype(bool))
    return g.node("Where", [cond_name, _arg(g, op, 1), _arg(g, op, 2)], "where")


def _onnx_dtype(g: GraphBuilder, dtype) -> int:
    return g.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


# -- layers ------------------------------------------------------------------------------------
@_register("linear")
def _linear(g, op):
    """x·Wᵀ + b → Gemm(transB=1) for a matrix x, else MatMul(x, Transpose(W)) + b."""
    x, w = op.inputs[0], op.inputs[1]
    b = op.inputs[2] if len(op.inputs) > 2 and op.inputs[2] is not None else None
    names = [g.name(x), g.value(w, like=op.output)]
    if x.ndim == 2:
        if b is not None:
            names.append(g.value(b, like=op.output))
        return g.node("Gemm", names, "linear", transB=1)
    out = g.node("MatMul", [names[0], g.node("Transpose", [names[1]], "weight_t", perm=[1, 0])],
                 "linear")
    return out if b is None else g.node("Add", [out, g.value(b, like=op.output)], "linear")


def _pads(pads) -> list[int]:
    """((lo₁, hi₁), (lo₂, hi₂), …) → ONNX's [lo₁, lo₂, …, hi₁, hi₂, …]."""
    return [int(lo) for lo, _ in pads] + [int(hi) for _, hi in pads]


@_register("conv")
def _conv(g, op):
    """Cross-correlation with stride, dilation, padding and groups (grouped ones run as one
    node on oneDNN) → Conv."""
    ins = [g.value(t, like=op.output) for t in op.inputs if t is not None]
    kernel = [int(k) for k in op.inputs[1].shape[2:]]
    return g.node("Conv", ins, "conv", kernel_shape=kernel,
                  strides=[int(s) for s in op.params["stride"]],
                  dilations=[int(d) for d in op.params["dilation"]],
                  pads=_pads(op.params["pads"]), group=int(op.params.get("groups", 1)))


@_register("maxpool")
def _maxpool(g, op):
    """Window maxima → MaxPool (padding never wins, as chainrule's −∞ padding)."""
    p = op.params
    return g.node("MaxPool", [_arg(g, op, 0)], "maxpool",
                  kernel_shape=[int(k) for k in p["kernel"]],
                  strides=[int(s) for s in p["stride"]],
                  dilations=[int(d) for d in p["dilation"]], pads=_pads(p["pads"]))


@_register("windowsum")
def _windowsum(g, op):
    """Σ over each window (zero padding) → AveragePool(count_include_pad) · |window|."""
    p = op.params
    avg = g.node("AveragePool", [_arg(g, op, 0)], "window_mean",
                 kernel_shape=[int(k) for k in p["kernel"]],
                 strides=[int(s) for s in p["stride"]], pads=_pads(p["pads"]),
                 count_include_pad=1)
    return g.node("Mul", [avg, _scalar(g, math.prod(p["kernel"]), op.output)], "window_sum")


@_register("softmax", "logsoftmax")
def _softmax(g, op):
    """e^{xᵢ}/Σⱼe^{xⱼ} (or its log) along one axis → Softmax / LogSoftmax (opset ≥ 13
    semantics: the axis alone)."""
    kind = "Softmax" if op.op == "softmax" else "LogSoftmax"
    return g.node(kind, [_arg(g, op, 0)], op.op, axis=int(op.params.get("axis", -1)))


@_register("normalize")
def _normalize(g, op):
    """x̂ = (x − μ)/√(σ² + ε) over ``axes`` (σ² biased) → ReduceMean, Sub, Mul, ReduceMean,
    Add, Sqrt, Div."""
    if op.params.get("stats") is not None:
        raise ExportError(f"onnx.export: cannot export {g.where}: it normalises with the batch's "
                          "statistics (batch norm in training mode, or without running stats)")
    axes = [int(a) for a in op.params.get("axes", ())]
    x = _arg(g, op, 0)
    mu = g.reduce("ReduceMean", x, axes, True, "mean")
    centred = g.node("Sub", [x, mu], "centred")
    var = g.reduce("ReduceMean", g.node("Mul", [centred, centred]), axes, True, "var")
    std = g.node("Sqrt", [g.node("Add", [var, _scalar(g, op.params.get("eps", 1e-5),
                                                      op.output)])], "std")
    return g.node("Div", [centred, std], "normalized")


@_register("nativebatchnorm")
def _native_batch_norm(g, op):
    """Batch norm with the batch's own statistics (training mode): refused, as above."""
    raise ExportError(f"onnx.export: cannot export {g.where}: it normalises with the batch's "
                      "statistics (batch norm in training mode, or without running stats)")


# -- reductions --------------------------------------------------------------------------------
def _reduction(onnx_op: str) -> Emitter:
    def emit(g: GraphBuilder, op: RecordedOp) -> str:
        axis = op.params.get("axis")
        axes = None if axis is None else ([axis] if isinstance(axis, (int, np.integer))
                                          else list(axis))
        return g.reduce(onnx_op, _arg(g, op, 0), axes, op.params.get("keepdims", False), op.op)
    emit.__doc__ = f"→ {onnx_op}"
    return emit


for _name, _onnx in [("sum", "ReduceSum"), ("mean", "ReduceMean"), ("amax", "ReduceMax"),
                     ("amin", "ReduceMin"), ("prod", "ReduceProd"),
                     ("logsumexp", "ReduceLogSumExp")]:
    EMITTERS[_name] = _reduction(_onnx)


# -- shapes ----------------------------------------------------------------------------------
@_register("reshape")
def _reshape(g, op):
    """A new shape → Reshape, the target from :func:`.shapes.reshape_target` (0 or −1 where
    the output's size follows the batch)."""
    x = op.inputs[0]
    target = reshape_target(g, tuple(x.shape), tuple(op.output.shape), g.twin)
    return g.node("Reshape", [g.name(x), target], "reshape")


@_register("transpose")
def _transpose(g, op):
    """Permuted axes → Transpose."""
    x = op.inputs[0]
    axes = op.params.get("axes")
    perm = list(range(x.ndim))[::-1] if axes is None else [int(a) % x.ndim for a in axes]
    return g.node("Transpose", [g.name(x)], "transpose", perm=perm)


@_register("broadcastto")
def _broadcast_to(g, op):
    """x repeated to a shape → Expand, the shape from :func:`.shapes.expand_target` (1 where
    x keeps its own size, the run-time batch size where the output's follows the batch)."""
    x = op.inputs[0]
    target = expand_target(g, tuple(np.shape(x)), tuple(op.output.shape), g.twin)
    return g.node("Expand", [g.value(x, like=op.output), target], "expand")


@_register("concatenate")
def _concatenate(g, op):
    """[x₁, x₂, …] along an axis → Concat."""
    parts = [t for t in op.inputs if not (np.ndim(t) == 1 and np.shape(t)[0] == 0)]
    return g.node("Concat", [g.value(t, like=op.output) for t in parts], "concat",
                  axis=int(op.params.get("axis", 0)))


@_register("pad")
def _pad(g, op):
    """Constant padding → Pad(mode='constant')."""
    widths = op.params.get("pad_width", ())
    value = op.params.get("value", 0)
    return g.node("Pad", [_arg(g, op, 0), g.ints(_pads(widths)), _scalar(g, value, op.output)],
                  "pad", mode="constant")


_END = np.iinfo(np.int64).max


@_register("getitem")
def _getitem(g, op):
    """x[basic index] (ints, slices, None, ...) → Slice, Squeeze (the int axes), Unsqueeze
    (the None axes); array indices are not exported."""
    x = op.inputs[0]
    index = op.params.get("index")
    parts = index if isinstance(index, tuple) else (index,)
    if not all(p is None or p is Ellipsis or isinstance(p, slice) or
               (isinstance(p, (int, np.integer)) and not isinstance(p, bool)) for p in parts):
        raise ExportError(f"onnx.export: cannot export {g.where}: only basic indexing (ints, "
                          "slices, None, ...) is supported, not array or mask indices")
    used = sum(1 for p in parts if p is not None and p is not Ellipsis)
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    axis = out_axis = 0
    for p in parts:
        if p is Ellipsis:
            skip = x.ndim - used
            axis, out_axis = axis + skip, out_axis + skip
        elif p is None:
            unsqueeze.append(out_axis)
            out_axis += 1
        elif isinstance(p, slice):
            step = 1 if p.step is None else int(p.step)
            if (p.start, p.stop, step) != (None, None, 1):
                lo = p.start if p.start is not None else (0 if step > 0 else -1)
                hi = p.stop if p.stop is not None else (_END if step > 0 else -_END)
                starts.append(int(lo)), ends.append(int(hi)), axes.append(axis)
                steps.append(step)
            axis, out_axis = axis + 1, out_axis + 1
        else:
            k = int(p)
            starts.append(k), ends.append(k + 1 if k != -1 else _END), axes.append(axis)
            steps.append(1)
            squeeze.append(axis)
            axis += 1
    out = g.name(x)
    if axes:
        out = g.node("Slice", [out, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)],
                     "slice")
    if squeeze:
        out = g.node("Squeeze", [out, g.ints(squeeze)], "index")
    if unsqueeze:
        out = g.node("Unsqueeze", [out, g.ints(unsqueeze)], "index")
    return out if out != g.name(x) else g.node("Identity", [out], "index")
