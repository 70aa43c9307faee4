"""The ONNX graph being built: value names, nodes, initializers, and the batch axis.

:class:`GraphBuilder` is what every emitter (see :mod:`.emitters` and :mod:`.modules`) talks to.
It hands out unique value names, turns a recorded Tensor into the name of the ONNX value that
holds it (a graph input, a parameter's initializer named by its ``state_dict`` key, or a node's
output), turns constants into initializers, and adds nodes through ``onnx.helper``.

Dynamic batch: the example input's first axis is the batch. The exporter pairs each op with
the same op of a second run at another batch size (``twin``, ``twin_batch_size``, see
:mod:`.twin`), so an emitter writing a shape can tell which axes follow the batch and put 0,
−1, 1 or the run-time batch size (``batch_dim``) there (see :mod:`.shapes`). Masks the graph
computes for array arguments (recorded comparisons) are looked up by ``value`` through
``array_names``.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..tensor import Tensor

__all__ = ["GraphBuilder", "ExportError"]


class ExportError(ValueError):
    """The model cannot be written as ONNX; the message names the op and the module path."""


class GraphBuilder:
    """Collects the nodes and initializers of one ONNX graph."""

    def __init__(self, onnx_module: Any, opset: int, batch_size: int | None) -> None:
        self.onnx = onnx_module
        self.helper = onnx_module.helper
        self.numpy_helper = onnx_module.numpy_helper
        self.opset = opset
        #: the example batch size when the batch axis is dynamic, else None
        self.batch_size = batch_size
        self.nodes: list = []
        self.initializers: list = []
        self._names: dict[int, str] = {}        # id(tensor) -> ONNX value name
        self._used: set[str] = set()
        self._batched: set[int] = set()          # ids of tensors whose axis 0 is the batch
        self._consts: dict[tuple, str] = {}      # (dtype, shape, bytes) -> initializer name
        self._batch_dim: str | None = None
        self.batch_source: str | None = None     # a graph input whose axis 0 is the batch
        self.where = ""                          # "op 'x' (in module 'y')" for error messages
        #: id(parameter or buffer) -> (state_dict key, tensor); bound on first use
        self.params: dict[int, tuple[str, Tensor]] = {}
        #: the twin run's batch size (see :mod:`.twin`), and the twin of the op being written
        self.twin_batch_size: int | None = None
        self.twin: Any = None
        #: ONNX values computed for masks: recorded comparison index -> name, and
        #: id(array argument of an op) -> name (an array no op made, computed in the graph)
        self.derived: dict[int, str] = {}
        self.array_names: dict[int, str] = {}

    # -- names ---------------------------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        """A value name not used yet, built from ``hint``."""
        base = hint or "v"
        name, k = base, 1
        while name in self._used:
            name, k = f"{base}_{k}", k + 1
        self._used.add(name)
        return name

    def reserve(self, names: Sequence[str]) -> None:
        """Keep ``names`` (the graph's inputs and outputs) from being handed out."""
        self._used.update(names)

    def bind(self, tensor: Tensor, name: str, batched: bool = False) -> None:
        """Say that ONNX value ``name`` holds ``tensor``."""
        self._names[id(tensor)] = name
        self._used.add(name)
        if batched:
            self._batched.add(id(tensor))

    def has(self, tensor: Any) -> bool:
        """True if ``tensor`` has an ONNX value (bound, or a parameter of the model)."""
        return isinstance(tensor, Tensor) and (id(tensor) in self._names or
                                               id(tensor) in self.params)

    def name(self, tensor: Tensor) -> str:
        """The ONNX value of a recorded tensor: bound already, or a parameter or buffer, which
        becomes an initializer named by its ``state_dict`` key the first time it is used."""
        try:
            return self._names[id(tensor)]
        except KeyError:
            pass
        entry = self.params.get(id(tensor))
        if entry is not None:
            key, t = entry
            name = self.initializer(t._data, key)
            self.bind(t, name)
            return name
        raise ExportError(f"onnx.export: {self.where or 'a value'} reads a tensor of shape "
                              f"{tuple(tensor.shape)} that is neither the input, a parameter "
                              "or buffer of the model, nor made by a recorded op")

    def is_batched(self, tensor: Any) -> bool:
        return self.batch_size is not None and isinstance(tensor, Tensor) \
            and id(tensor) in self._batched

    def mark_batched(self, tensor: Tensor) -> None:
        self._batched.add(id(tensor))

    # -- values --------------------------------------------------------------------------------
    def initializer(self, array: np.ndarray, hint: str) -> str:
        """Store ``array`` as an initializer named (close to) ``hint``; returns the name."""
        name = self.fresh(hint)
        if not isinstance(array, np.ndarray) and hasattr(array, "get"):
            array = array.get()          # a device array: ONNX files hold host copies
        self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def const(self, value: Any, dtype: Any = None) -> str:
        """A constant (a number or an array) as an initializer; equal constants share one."""
        arr = np.asarray(value if not isinstance(value, Tensor) else value._data)
        if dtype is not None:
            arr = arr.astype(dtype, copy=False)
        key = (arr.dtype.str, arr.shape, arr.tobytes()) if arr.size <= 64 else None
        if key is not None and key in self._consts:
            return self._consts[key]
        name = self.initializer(arr, "const")
        if key is not None:
            self._consts[key] = name
        return name

    def ints(self, values: Sequence[int]) -> str:
        """A 1-D int64 constant (shapes, axes, pads)."""
        return self.const(np.asarray(list(values), dtype=np.int64).reshape(-1))

    def value(self, x: Any, like: Any = None) -> str:
        """The ONNX name of an op's input: a bound Tensor, or a constant cast to ``like``'s
        dtype (the dtype of the op's result) when it is a plain number or array."""
        if isinstance(x, Tensor):
            return self.name(x)
        if id(x) in self.array_names:
            return self.array_names[id(x)]
        dtype = None
        if like is not None and np.asarray(x).dtype != np.bool_:
            dtype = np.dtype(like.dtype) if hasattr(like, "dtype") else np.dtype(like)
        return self.const(x, dtype)

    # -- nodes ---------------------------------------------------------------------------------
    def node(self, op_type: str, inputs: Sequence[str], hint: str | None = None,
             outputs: int = 1, domain: str | None = None, **attrs: Any) -> Any:
        """Add a node; returns its output name (or the list of names when ``outputs`` > 1)."""
        names = [self.fresh(hint or op_type.lower()) for _ in range(outputs)]
        kw = {"domain": domain} if domain else {}
        self.nodes.append(self.helper.make_node(op_type, list(inputs), names,
                                                name=self.fresh(f"{op_type}_node"), **kw,
                                                **attrs))
        return names[0] if outputs == 1 else names

    def reduce(self, op_type: str, x: str, axes: Sequence[int] | None, keepdims: bool,
               hint: str | None = None) -> str:
        """A Reduce* node over ``axes`` (None: all), with axes as an attribute or as an input
        as the opset requires (ReduceSum from 13, the others from 18)."""
        as_input = self.opset >= (13 if op_type == "ReduceSum" else 18)
        inputs, attrs = [x], {"keepdims": int(bool(keepdims))}
        if axes is not None:
            axes = [int(a) for a in axes]
            if as_input:
                inputs.append(self.ints(axes))
            else:
                attrs["axes"] = axes
        return self.node(op_type, inputs, hint, **attrs)

    def batch_dim(self) -> str:
        """An int64 tensor of shape (1,) holding the batch size at run time."""
        if self._batch_dim is None:
            shape = self.node("Shape", [self.batch_source], "input_shape")
            self._batch_dim = self.node("Slice", [shape, self.ints([0]), self.ints([1])],
                                        "batch_size")
        return self._batch_dim

    def shape_with_batch(self, shape: Sequence[int]) -> str:
        """A 1-D int64 shape: the run-time batch size, then ``shape[1:]``."""
        rest = [int(s) for s in shape[1:]]
        if not rest:
            return self.batch_dim()
        return self.node("Concat", [self.batch_dim(), self.ints(rest)], "shape", axis=0)
