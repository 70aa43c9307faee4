"""``chainrule.onnx.export``: one forward under ``cr.autograd.record()``, written as ONNX.

How it works:

1. The model runs once in evaluation mode on the example input while the engine records every
   op (and every comparison of Tensors); forward hooks on every submodule note which ops each
   module call produced (so errors can name the module path, and whole layers can be matched,
   see :mod:`.modules`).
2. It runs again on a second input with other values (and, with a dynamic batch, another
   batch size): see :mod:`.twin`. Both runs must run the same ops; a constant or parameter
   that differs between them depends on the input and is refused, unless the graph computes
   it (comparisons → Greater/Less/Equal…, :mod:`.comparisons`); an axis whose size differs
   follows the batch (reshape and expand targets, :mod:`.shapes`; free output axes).
3. Only the ops the outputs depend on are written, in the order they ran (:mod:`.walk`). A
   module with a pattern (BatchNorm → BatchNormalization, …) becomes one node; every other op
   goes through the op table of :mod:`.emitters`.
4. Parameters and buffers become initializers named by their ``state_dict`` keys, once each
   however often they are used; other constants become unnamed initializers.
5. The model is checked with ``onnx.checker.check_model(full_check=True)`` and written
   atomically.
"""
from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from ..autograd import no_grad
from ..autograd.record import record
from ..tensor import Tensor
from .graph import ExportError, GraphBuilder
from .twin import check_same_program, second_inputs
from .walk import ModuleCall, Walker

__all__ = ["export", "ExportError"]

MIN_OPSET = 13


def _require_onnx():
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - the test environment has it
        raise ImportError("chainrule.onnx.export needs the 'onnx' package: "
                          "pip install 'chainrule[onnx]'") from exc
    return onnx


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
    calls: list[ModuleCall] = []
    stack: list[ModuleCall] = []
    rec_box: list = [None]
    handles = []

    def pre(module, args, path):
        call = ModuleCall(path, module, len(rec_box[0].ops), input=args[0] if args else None)
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


def _second_run(model, rec, inputs, batched, batch):
    """Record the forward again on other values (and batch + BATCH_STEP rows with a dynamic
    batch); see :mod:`.twin`. Returns the recording, the outputs and words for messages."""
    twin_inputs, batch2 = second_inputs(inputs, batched, batch)
    what = (f"an input of batch size {batch2} with other values" if batch2 is not None
            else "an input of the same shape with other values")
    try:
        twin, out, _ = _record_forward(model, twin_inputs)
    except Exception as exc:
        raise ExportError(f"onnx.export: running the model on {what} (to find what depends on "
                          f"the input) failed with {type(exc).__name__}: {exc}; a model that "
                          "works at one batch size only exports with dynamic_batch=False"
                          ) from exc
    items = out if isinstance(out, (tuple, list)) else (out,)
    check_same_program(rec, twin, what)
    return twin, tuple(items), what, batch2


def _output_dims(y: Tensor, y2: Any, batch: int | None, dynamic_batch: bool,
                 name: str) -> dict[int, str]:
    """The free axes of an output: those whose size differs between the two runs ('batch'
    where it is the batch size, ``{name}_dim{k}`` otherwise)."""
    if not dynamic_batch or batch is None or not isinstance(y2, Tensor) or y2.ndim != y.ndim:
        return {}
    dims = {}
    for k, (a, b) in enumerate(zip(y.shape, y2.shape)):
        if a != b:
            dims[k] = "batch" if a == batch else f"{name}_dim{k}"
    return dims


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

    ``dynamic_batch`` leaves axis 0 of every input free (named ``batch``), and every output
    axis whose size follows it; the example's batch size must then be at least 2.
    ``dynamic_axes`` (PyTorch's form, ``{"input": {0: "batch"}}``) overrides which axes are
    free; shapes inside the graph are kept free for the batch axis only.

    The model runs a second time, on an input with other values (and batch + 3 rows with a
    dynamic batch), to see what depends on the input: comparisons of Tensors become ONNX ops,
    batch-following shapes are written with 0/−1 or the run-time batch size, and anything else
    that differs between the runs (a value read with ``.item()``, a NumPy mask, a constant as
    long as the batch, control flow) raises :class:`ExportError` naming the op, the module and
    why, rather than being written with the example's value.
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
    batched = [bool(batch) and 0 in dims and x.ndim > 0 and x.shape[0] == batch
               for x, dims in zip(inputs, in_dims)]
    twin, twin_outputs, what_twin, batch2 = _second_run(model, rec, inputs, batched, batch)
    if len(twin_outputs) != len(outputs):
        raise ExportError(f"onnx.export: the model returned {len(twin_outputs)} outputs on "
                          f"{what_twin}, {len(outputs)} on the example")
    if dynamic_axes is None:
        out_dims = [_output_dims(y, y2, batch, dynamic_batch, name)
                    for name, y, y2 in zip(out_names, outputs, twin_outputs)]
    else:
        out_dims = _dynamic_dims(out_names, outputs, dynamic_batch, dynamic_axes)

    g = GraphBuilder(onnx, opset_version, batch)
    g.twin_batch_size = batch2
    g.reserve(in_names + out_names)
    for name, x, is_batched in zip(in_names, inputs, batched):
        g.bind(x, name, batched=is_batched)
    g.batch_source = in_names[0]
    g.params = _param_names(model)
    walker = Walker(g, rec, twin, calls, what_twin)
    walker.run(outputs)
    walker.bind_outputs(outputs)
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
