"""``chainrule.onnx.export``: one forward under ``cr.autograd.record()``, written as ONNX.

How it works:

1. The model runs once in evaluation mode on the example input while the engine records every
   op; forward hooks on every submodule note which ops each module call produced (so errors
   can name the module path, and whole layers can be matched, see :mod:`.modules`).
2. Only the ops the outputs depend on are written, in the order they ran. A module with a
   pattern (BatchNorm → BatchNormalization, …) becomes one node; every other op goes through
   the op table of :mod:`.emitters`.
3. Parameters and buffers become initializers named by their ``state_dict`` keys, once each
   however often they are used; other constants become unnamed initializers.
4. With a dynamic batch, axis 0 of the inputs and outputs is named ``batch`` and shapes written
   into the graph keep the batch free (see :meth:`GraphBuilder.is_batched`).
5. The model is checked with ``onnx.checker.check_model(full_check=True)`` and written
   atomically.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..autograd import no_grad
from ..autograd.record import RecordedOp, record
from ..tensor import Tensor
from .emitters import EMITTERS
from .graph import ExportError, GraphBuilder
from .modules import pattern_for

__all__ = ["export", "ExportError"]

MIN_OPSET = 13


def _require_onnx():
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - the test environment has it
        raise ImportError("chainrule.onnx.export needs the 'onnx' package: "
                          "pip install 'chainrule[onnx]'") from exc
    return onnx


@dataclass(eq=False)
class _Call:
    """One call of a module's forward: the recorded ops [start, end) it produced."""
    path: str
    module: Any
    start: int
    end: int = -1
    input: Any = None
    output: Any = None


def _as_inputs(example_input: Any) -> tuple[Tensor, ...]:
    items = example_input if isinstance(example_input, (tuple, list)) else (example_input,)
    out = []
    for k, x in enumerate(items):
        if isinstance(x, np.ndarray):
            x = Tensor._wrap(x, False, None)
        if not isinstance(x, Tensor):
            raise TypeError(f"onnx.export: example_input must be a Tensor (or a tuple of "
                            f"Tensors), got {type(x).__name__} at position {k}")
        out.append(x)
    if not out:
        raise ValueError("onnx.export: example_input is empty")
    return tuple(out)


def _as_outputs(out: Any) -> tuple[Tensor, ...]:
    items = out if isinstance(out, (tuple, list)) else (out,)
    for k, y in enumerate(items):
        if not isinstance(y, Tensor):
            raise ExportError(f"onnx.export: the model's output {k} is a "
                              f"{type(y).__name__}, not a Tensor")
    return tuple(items)


def _names(given: Sequence[str] | None, n: int, stem: str) -> list[str]:
    if given is None:
        return [stem] if n == 1 else [f"{stem}_{k}" for k in range(n)]
    given = list(given)
    if len(given) != n or not all(isinstance(s, str) and s for s in given):
        raise ValueError(f"onnx.export: {stem}_names must be {n} non-empty strings, got "
                         f"{given!r}")
    if len(set(given)) != n:
        raise ValueError(f"onnx.export: {stem}_names repeat a name: {given!r}")
    return given


def _dynamic_dims(names: list[str], tensors: Sequence[Tensor], dynamic_batch: bool,
                  dynamic_axes: dict | None) -> list[dict[int, str]]:
    """Per value: axis → dim_param name (PyTorch's ``dynamic_axes``: {name: {axis: label}}
    or {name: [axes]})."""
    if dynamic_axes is None:
        return [{0: "batch"} if dynamic_batch and t.ndim else {} for t in tensors]
    if not isinstance(dynamic_axes, dict):
        raise TypeError(f"onnx.export: dynamic_axes must be a dict, got "
                        f"{type(dynamic_axes).__name__}")
    dims = []
    for name, t in zip(names, tensors):
        spec = dynamic_axes.get(name, {})
        spec = dict(spec) if isinstance(spec, dict) else {int(a): f"{name}_dim{a}" for a in spec}
        for axis in spec:
            if not 0 <= int(axis) < t.ndim:
                raise ValueError(f"onnx.export: dynamic_axes[{name!r}] names axis {axis}, but "
                                 f"{name} has shape {tuple(t.shape)}")
        dims.append({int(a): str(v) for a, v in spec.items()})
    return dims


def _record_forward(model, inputs) -> tuple[Any, Any, list[_Call]]:
    """Run ``model(*inputs)`` once in evaluation mode, recording ops and module calls."""
    calls: list[_Call] = []
    stack: list[_Call] = []
    rec_box: list = [None]
    handles = []

    def pre(module, args, path):
        call = _Call(path, module, len(rec_box[0].ops), input=args[0] if args else None)
        calls.append(call)
        stack.append(call)

    def post(module, args, output):
        call = stack.pop()
        call.end, call.output = len(rec_box[0].ops), output

    for path, module in model.named_modules():        # a shared module: its first path
        handles.append(module.register_forward_pre_hook(
            lambda m, a, _p=path: pre(m, a, _p)))
        handles.append(module.register_forward_hook(post))
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with no_grad(), record() as rec:
            rec_box[0] = rec
            out = model(*inputs)
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes:
            m.training = mode
    return rec, out, calls


def _needed(rec, outputs) -> set[int]:
    """Indices of the recorded ops the outputs depend on."""
    need: set[int] = set()
    todo = [y for y in outputs]
    while todo:
        t = todo.pop()
        op = rec.producer(t) if isinstance(t, Tensor) else None
        if op is None or op.index in need:
            continue
        need.add(op.index)
        todo.extend(x for x in op.inputs if isinstance(x, Tensor))
    return need


def _where(path: str) -> str:
    return f"module '{path}'" if path else "the top-level module"


class _Exporter:
    """Walks one recording and fills a GraphBuilder."""

    def __init__(self, g: GraphBuilder, rec, calls: list[_Call]):
        self.g, self.rec, self.calls = g, rec, calls
        self.path = [""] * len(rec.ops)
        for call in calls:                       # outer calls first: inner ones overwrite
            for i in range(call.start, call.end):
                self.path[i] = call.path
        self.consumers: dict[int, list[int]] = {}     # id(tensor) -> indices of ops reading it
        for op in rec.ops:
            for x in op.inputs:
                if isinstance(x, Tensor):
                    self.consumers.setdefault(id(x), []).append(op.index)
        self.starting: dict[int, list[_Call]] = {}
        for call in calls:
            if call.end > call.start and pattern_for(call.module) is not None:
                self.starting.setdefault(call.start, []).append(call)

    def check_constant(self, value, op: RecordedOp) -> None:
        """Refuse a constant whose first axis is the example's batch in an op on the batch:
        the graph would accept that batch size only."""
        g = self.g
        shape = np.shape(value)
        if g.batch_size is not None and len(shape) and len(shape) == op.output.ndim and \
                shape[0] == g.batch_size and self.batched_out(op.inputs, op.output):
            raise ExportError(f"onnx.export: cannot export op '{op.op}' (in "
                              f"{_where(self.path[op.index])}): it reads a constant of shape "
                              f"{tuple(shape)} whose first axis is the example's batch size, "
                              "so the exported graph would not accept another batch size "
                              "(export with dynamic_batch=False)")

    def bind_inputs(self, op: RecordedOp) -> None:
        """Bind the op's inputs that no recorded op made: parameters and buffers (bound by
        name on first use) and constant Tensors; check constant arrays too."""
        g = self.g
        for k, x in enumerate(op.inputs):
            if isinstance(x, Tensor):
                if not g.has(x):
                    self.check_constant(x, op)
                    g.bind(x, g.initializer(x._data, "const"))
            elif isinstance(x, np.ndarray) and not (op.op == "where" and k == 0):
                self.check_constant(x, op)   # where's mask: see emitters._where

    def batched_out(self, op_inputs, output, keeps_axis0: bool = True) -> bool:
        g = self.g
        return bool(keeps_axis0 and g.batch_size is not None and output.ndim
                    and output.shape[0] == g.batch_size
                    and any(g.is_batched(x) for x in op_inputs))

    def try_pattern(self, i: int, need: set[int]) -> int | None:
        """Write a module starting at op ``i`` as one node; returns where to go on, or None."""
        for call in self.starting.get(i, ()):
            x, y = call.input, call.output
            if not isinstance(x, Tensor) or not isinstance(y, Tensor) or not self.g.has(x):
                continue
            producer = self.rec.producer(y)
            if producer is None or producer.index not in need or \
                    not call.start <= producer.index < call.end:
                continue
            if self.leaks(call, y, need):
                continue
            self.g.where = f"module '{call.path}' ({type(call.module).__name__})"
            name = pattern_for(call.module)(self.g, call.module, call.path, x,
                                            self.rec.ops[call.start:call.end])
            if name is None:
                continue
            self.g.bind(y, name, self.batched_out([x], y))
            return call.end
        return None

    def leaks(self, call: _Call, y: Tensor, need: set[int]) -> bool:
        """True if a needed op outside the module's range reads one of its values other than
        its output (then the module cannot be one node)."""
        for r in self.rec.ops[call.start:call.end]:
            if r.output is y:
                continue
            if any(c in need and not call.start <= c < call.end
                   for c in self.consumers.get(id(r.output), ())):
                return True
        return False

    def run(self, outputs: Sequence[Tensor]) -> None:
        g, ops = self.g, self.rec.ops
        need = _needed(self.rec, outputs)
        i = 0
        while i < len(ops):
            if i in need or i in self.starting:
                nxt = self.try_pattern(i, need)
                if nxt is not None:
                    i = nxt
                    continue
            op = ops[i]
            i += 1
            if op.index not in need:
                continue
            where = f"op '{op.op}' (in {_where(self.path[op.index])})"
            emitter = EMITTERS.get(op.op)
            if emitter is None:
                raise ExportError(f"onnx.export: cannot export {where}; supported ops: "
                                  f"{', '.join(sorted(EMITTERS))}")
            self.bind_inputs(op)
            g.where = where
            name = emitter(g, op)
            keeps = True
            if op.op == "transpose":
                axes = op.params.get("axes")
                nd = op.inputs[0].ndim
                keeps = axes is not None and nd > 0 and int(axes[0]) % nd == 0
            g.bind(op.output, name, self.batched_out(op.inputs, op.output, keeps))


def _param_names(model) -> dict[int, tuple[str, Tensor]]:
    """id → (state_dict key, tensor) for every parameter and buffer; a tied one keeps its
    first key."""
    names: dict[int, tuple[str, Tensor]] = {}
    for key, t in list(model.state_dict(keep_vars=True).items()) + \
            list(model.named_parameters()) + list(model.named_buffers()):
        if isinstance(t, Tensor):
            names.setdefault(id(t), (key, t))
    return names


def _value_info(helper, name: str, t: Tensor, dims: dict[int, str]):
    shape = [dims.get(a, int(s)) for a, s in enumerate(t.shape)]
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(t.dtype)),
                                         shape)


def export(model, example_input, path: str | os.PathLike | Any,
           input_names: Sequence[str] | None = None,
           output_names: Sequence[str] | None = None, dynamic_batch: bool = True,
           opset_version: int = 17, dynamic_axes: dict | None = None):
    """Write ``model`` as an ONNX file at ``path`` (a path or a binary file object), traced by
    one forward on ``example_input`` in evaluation mode; returns the ``onnx.ModelProto``.

    ``dynamic_batch`` leaves axis 0 of every input and output free (named ``batch``); the
    example's batch size must then be at least 2 to tell the batch axis apart.
    ``dynamic_axes`` (PyTorch's form, ``{"input": {0: "batch"}}``) overrides which axes are
    free; shapes inside the graph are kept free for axis 0 only.
    """
    onnx = _require_onnx()
    from .. import nn
    if not isinstance(model, nn.Module):
        raise TypeError(f"onnx.export: model must be a chainrule.nn.Module, got "
                        f"{type(model).__name__}")
    max_opset = onnx.defs.onnx_opset_version()
    if not isinstance(opset_version, int) or not MIN_OPSET <= opset_version <= max_opset:
        raise ValueError(f"onnx.export: opset_version must be an integer from {MIN_OPSET} to "
                         f"{max_opset} (this onnx package's newest), got {opset_version!r}")
    inputs = _as_inputs(example_input)
    in_names = _names(input_names, len(inputs), "input")
    in_dims = _dynamic_dims(in_names, inputs, dynamic_batch, dynamic_axes)
    batch = None
    if 0 in in_dims[0]:
        batch = int(inputs[0].shape[0])
        if batch < 2:
            raise ValueError(f"onnx.export: with a dynamic batch the example input needs at "
                             f"least 2 rows (to tell the batch axis apart), got shape "
                             f"{tuple(inputs[0].shape)}; pass dynamic_batch=False for a "
                             "fixed batch of 1")

    rec, out, calls = _record_forward(model, inputs)
    outputs = _as_outputs(out)
    out_names = _names(output_names, len(outputs), "output")
    out_dims = _dynamic_dims(out_names, outputs, dynamic_batch, dynamic_axes)

    g = GraphBuilder(onnx, opset_version, batch)
    g.reserve(in_names + out_names)
    for name, x, dims in zip(in_names, inputs, in_dims):
        g.bind(x, name, batched=bool(batch) and 0 in dims and x.ndim > 0 and
               x.shape[0] == batch)
    g.batch_source = in_names[0]
    g.params = _param_names(model)
    _Exporter(g, rec, calls).run(outputs)
    for name, y in zip(out_names, outputs):
        if not g.has(y):
            raise ExportError(f"onnx.export: output {name!r} is a tensor the model did not "
                              "compute from its input (a constant or a parameter)")
        g.nodes.append(g.helper.make_node("Identity", [g.name(y)], [name],
                                          name=g.fresh("output_node")))

    helper = onnx.helper
    graph = helper.make_graph(
        g.nodes, type(model).__name__,
        [_value_info(helper, n, x, d) for n, x, d in zip(in_names, inputs, in_dims)],
        [_value_info(helper, n, y, d) for n, y, d in zip(out_names, outputs, out_dims)],
        initializer=g.initializers)
    opsets = [helper.make_opsetid("", opset_version)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="chainrule",
                              ir_version=helper.find_min_ir_version_for(opsets))
    onnx.checker.check_model(proto, full_check=True)
    _write(proto.SerializeToString(), path)
    return proto


def _write(data: bytes, path) -> None:
    if hasattr(path, "write"):
        path.write(data)
        return
    from ..io.atomic import write_bytes
    write_bytes(path, data, what="ONNX model")
