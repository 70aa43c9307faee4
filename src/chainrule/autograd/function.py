"""Function: the unit every differentiable op is built from.

A primitive subclasses :class:`Function` and writes two methods:

* ``forward(xp, *arrays, **params)`` computes on raw arrays and calls ``self.save(...)`` with only
  what backward needs (inputs, the output, a mask);
* ``backward(xp, grad)`` returns one gradient per input (``None`` where not needed), written once
  against the array namespace ``xp`` and the operators ``* + - / @ .T``.

In ordinary backward the engine passes NumPy (or CuPy) and raw arrays, so backward runs at array
speed. Under ``create_graph=True`` it passes the :mod:`chainrule.ops` namespace and swaps the saved
arrays for the Tensors they came from (inputs directly, the output through a weak reference), so
the same code builds a differentiable graph: second derivatives with no second copy of any rule.
Broadcasting is undone by the engine, never by an op.
"""
from __future__ import annotations

import itertools
import sys
import weakref
from typing import Any

import numpy as np

from .. import backend
from . import anomaly
from .grad_mode import _grad_enabled
from .record import _active as _recording

# Bound once chainrule.tensor has loaded (it imports this package, so not at import time here).
Tensor: Any = None
_wrap: Any = None
_np = np
_modules = sys.modules
_new = object.__new__
_ref = weakref.ref
_anomaly = anomaly._enabled


_counter: Any = None
_next_seq = itertools.count().__next__


def bind_tensor(tensor_cls, modification_counter: list) -> None:
    """Called by chainrule.tensor once the Tensor class exists."""
    global Tensor, _wrap, _counter
    Tensor = tensor_cls
    _wrap = tensor_cls._wrap
    _counter = modification_counter

__all__ = ["Function", "OpError", "OpIndexError"]


class OpError(ValueError):
    """An op was given inputs it cannot work on; the message names the op, shapes and dtypes."""


class OpIndexError(OpError, IndexError):
    """An index out of range (an IndexError, so ``for row in t`` and sequence protocols stop)."""


def _describe(arrays) -> str:
    parts = []
    for a in arrays:
        if hasattr(a, "shape") and hasattr(a, "dtype"):
            parts.append(f"{tuple(a.shape)} {np.dtype(a.dtype).name}")
        else:
            parts.append(repr(a))
    return ", ".join(parts)


# PyTorch's grad_fn names for the primitives it also has. Any other primitive is named
# ``<Class>Backward0``. Composed ops (mse_loss, gelu, ...) have no node of their own: their output's grad_fn is the *last primitive* the
# composition ran (mse_loss prints ``MeanBackward0``, gelu ``MulBackward0``), which is the node
# backward starts from. One name per primitive: reductions print PyTorch's full-reduction name
# (``SumBackward0``) also when reducing over a dim (PyTorch: ``SumBackward1``), and GetItem
# prints ``SelectBackward0`` for every index (PyTorch: Slice/Index for slices and arrays).
_TORCH_NAMES = {
    "Add": "AddBackward0", "Sub": "SubBackward0", "Mul": "MulBackward0", "Div": "DivBackward0",
    "Neg": "NegBackward0", "Exp": "ExpBackward0", "Log": "LogBackward0",
    "Log1p": "Log1PBackward0", "Sqrt": "SqrtBackward0", "Abs": "AbsBackward0",
    "Sin": "SinBackward0", "Cos": "CosBackward0", "Tanh": "TanhBackward0",
    "Sigmoid": "SigmoidBackward0", "Relu": "ReluBackward0", "Clip": "ClampBackward1",
    "ClampBounds": "ClampBackward0", "Erf": "ErfBackward0", "Sign": "SignBackward0",
    "Softplus": "SoftplusBackward0", "Clone": "CloneBackward0", "Cast": "ToCopyBackward0",
    "GetItem": "SelectBackward0", "Sum": "SumBackward0", "Mean": "MeanBackward0",
    "Amax": "AmaxBackward0", "LogSumExp": "LogsumexpBackward0", "Prod": "ProdBackward0",
    "Reshape": "ViewBackward0", "Transpose": "PermuteBackward0",
    "BroadcastTo": "ExpandBackward0", "Concatenate": "CatBackward0", "Pow": "PowBackward1",
    "PowScalar": "PowBackward0", "PowScalarBase": "PowBackward2",
    "Maximum": "MaximumBackward0", "Minimum": "MinimumBackward0", "Where": "WhereBackward0",
    "MatMul": "MmBackward0", "Softmax": "SoftmaxBackward0", "LogSoftmax": "LogSoftmaxBackward0",
    "Linear": "AddmmBackward0", "CumSum": "CumsumBackward0", "Pad": "ConstantPadNdBackward0",
    "MaxPool": "MaxPool2DWithIndicesBackward0", "Conv": "ConvolutionBackward0",
    "TakeAlongAxis": "GatherBackward0", "Einsum": "EinsumBackward0",
    "BinaryCrossEntropy": "BinaryCrossEntropyBackward0",
    "BinaryCrossEntropyWithLogits": "BinaryCrossEntropyWithLogitsBackward0",
    "LogSoftmaxNLL": "NllLossBackward0", "IndexCrossEntropyMean": "NllLossBackward0",
    "Assign": "CopySlices",
}


def _is_custom(cls) -> bool:
    """A PyTorch-style custom function: its (nearest) ``forward`` is a staticmethod."""
    for klass in cls.__mro__:
        if "forward" in klass.__dict__:
            return isinstance(klass.__dict__["forward"], staticmethod)
    return False


class OpName(str):
    """A node's ``name``: the short lower-case string error messages use, and, called as
    PyTorch's ``grad_fn.name()``, the PyTorch-style node name (``MulBackward0``). An op that
    chainrule composes from primitives has no name of its own: its output's grad_fn is the last
    primitive it ran (``mse_loss(...).grad_fn.name()`` is ``MeanBackward0``)."""

    __slots__ = ("torch_name",)

    def __new__(cls, short: str, torch_name: str):
        s = super().__new__(cls, short)
        s.torch_name = torch_name
        return s

    def __call__(self) -> str:
        return self.torch_name


class Function:
    """Base class of differentiable primitives (one output each).

    A subclass whose ``forward`` is a staticmethod taking ``ctx`` is a PyTorch-style custom
    function instead (see :mod:`chainrule.autograd.custom_function`)."""

    __slots__ = ("inputs", "saved", "needs_input_grad", "_ran_at", "_out_ref", "_trace", "_seq",
                 "__weakref__", "__dict__")

    #: the op's name in error messages and anomaly reports; defaults to the class name in lower case
    name: str = ""
    #: True for ops whose output may be a view of their first input's storage (reshape, slicing):
    #: such an output shares the input's version counter
    view: bool = False

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if _is_custom(cls):
            from . import custom_function as cf
            cls.apply = classmethod(cf.custom_apply)
            cls.name = OpName(cls.__name__.lower(), cf.custom_name(cls))
            return
        short = cls.__dict__.get("name") or cls.__name__.lower()
        cls.name = OpName(short, _TORCH_NAMES.get(cls.__name__, f"{cls.__name__}Backward0"))

    # -- to be written by each primitive -------------------------------------------------------
    def forward(self, xp, *arrays, **params):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, xp, grad):  # pragma: no cover - abstract
        raise NotImplementedError

    def explain_error(self, arrays, params, exc: Exception) -> str | None:
        """Optional: a clearer message for a failed forward (e.g. matmul's inner dimensions)."""
        return None

    # -- helpers -------------------------------------------------------------------------------
    def save(self, *values) -> None:
        """Keep ``values`` (arrays the forward used or made) for backward."""
        self.saved = values

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the op on Tensors (or raw constant arrays) and record it when a gradient is needed."""
        if not params:
            if len(inputs) == 2:
                return cls._apply2(*inputs)
            if len(inputs) == 1:
                return cls._apply1(inputs[0])
        node = _new(cls)
        node.saved = ()
        arrays = [x._data if isinstance(x, Tensor) else x for x in inputs]
        needs = None
        if _grad_enabled[0]:
            flags = tuple([isinstance(x, Tensor) and x.requires_grad for x in inputs])
            if True in flags:
                needs = flags
        if "cupy" in _modules:      # CPU 0-d inputs of a GPU op travel as scalars, as in torch
            xp, arrays = backend.device_operands(cls.name, arrays)
        else:
            xp = _np
        try:
            out = node.forward(xp, *arrays, **params)
        except (ValueError, TypeError, IndexError) as exc:
            raise _forward_error(node, arrays, params, exc) from exc
        result = _finish(node, inputs, needs, out)
        if cls.view:
            _share_version(result, inputs[0])
        if _recording[0] is not None:
            _recording[0]._add(node, inputs, params, result)
        return result

    # The two entry points below are apply() for one and two inputs without keyword parameters,
    # spelled out because they are chainrule's hottest code: no *args/**kwargs packing (it costs
    # about as much as the NumPy call on a small array), no loops.
    @classmethod
    def _apply2(cls, a, b):
        node = _new(cls)
        node.saved = ()
        ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
        x, y = (a._data if ta else a), (b._data if tb else b)
        xp = _np
        if "cupy" in _modules:
            xp, (x, y) = backend.device_operands(cls.name, (x, y))
        try:
            out = node.forward(xp, x, y)
        except (ValueError, TypeError, IndexError) as exc:
            raise _forward_error(node, (x, y), {}, exc) from exc
        if _recording[0] is not None:
            return _record_op(node, (a, b), out)
        if _grad_enabled[0]:
            ga, gb = ta and a.requires_grad, tb and b.requires_grad
            if ga or gb:
                return _finish(node, (a, b), _NEEDS_TWO[ga][gb], out)
        return _finish(node, None, None, out)

    @classmethod
    def _apply1(cls, a):
        node = _new(cls)
        node.saved = ()
        ta = isinstance(a, Tensor)
        x = a._data if ta else a
        try:
            out = node.forward(_np if "cupy" not in _modules else backend.get_array_module(x), x)
        except (ValueError, TypeError, IndexError) as exc:
            raise _forward_error(node, (x,), {}, exc) from exc
        if _recording[0] is not None:
            return _record_op(node, (a,), out)
        if ta and a.requires_grad and _grad_enabled[0]:
            return _finish(node, (a,), _NEEDS_ONE, out)
        return _finish(node, None, None, out)

    # -- used by the engine --------------------------------------------------------------------
    def check_versions(self) -> None:
        """Raise if a saved input or output was modified in place after this op ran."""
        ran_at = self._ran_at
        for t in self.inputs:
            if isinstance(t, Tensor) and version_of(t) > ran_at and any(
                    s is t._data for s in self.saved):
                raise RuntimeError(
                    f"{self.name}: an input of shape {tuple(t.shape)} that this op saved for backward was "
                    "modified in place after the forward pass; clone it before modifying it, or "
                    "modify it before using it")
        out = self._out_ref()
        if out is not None and version_of(out) > ran_at and any(s is out._data for s in self.saved):
            raise RuntimeError(
                f"{self.name}: its output of shape {tuple(out.shape)} was modified in place after the "
                "forward pass, but backward needs it; clone it before modifying it")

    def saved_as_tensors(self) -> tuple:
        """The saved values with each array replaced by the Tensor it came from (for create_graph)."""
        out = self._out_ref()
        mapped = []
        for s in self.saved:
            for t in self.inputs:
                if isinstance(t, Tensor) and s is t._data:
                    mapped.append(t)
                    break
            else:
                if out is not None and s is out._data:
                    mapped.append(out)
                elif backend.is_array(s) or isinstance(s, np.generic):
                    mapped.append(Tensor._wrap(s, False, None))
                else:
                    mapped.append(s)
        return tuple(mapped)

    def release(self) -> None:
        """Drop saved arrays and inputs after a backward that does not retain the graph."""
        self.saved = None
        self.inputs = None

    @property
    def next_functions(self) -> tuple:
        """((input's grad_fn or None, 0), ...) per input, as PyTorch's (leaves that require
        grad appear as None here: chainrule has no AccumulateGrad node)."""
        return tuple((x.grad_fn if isinstance(x, Tensor) else None, 0)
                     for x in (self.inputs or ()))

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"


def is_released(node: Any) -> bool:
    return node.saved is None


_NEEDS_ONE = (True,)
_NEEDS_TWO = (((False, False), (False, True)), ((True, False), (True, True)))  # [ga][gb]


def _no_output():
    return None


def version_of(t) -> int:
    """The stamp of t's last in-place change, through any view of the same base."""
    cell = t._vcell
    return t._version if cell is None else cell[0]


def _share_version(result, source) -> None:
    """Let a view op's output share its source's version counter when it really is a view: its
    array's owner (NumPy and CuPy keep the one that owns the memory in ``.base``) is the
    source's array or the source's owner; a reshape that had to copy owns a fresh array."""
    if isinstance(source, Tensor):
        owner = getattr(result._data, "base", None)
        if owner is not None and (owner is source._data or owner is source._data.base):
            result._vcell = source._shared_version_cell()


def _finish(node: Function, inputs, needs, out):
    """Wrap ``out`` in a Tensor; when ``needs`` is given, record ``node`` as its grad_fn."""
    result = _new(Tensor)
    result._data = out
    result.grad = None
    result._version = 0
    result._vcell = None
    result._hooks = None
    result._retains_grad = False
    if needs is None:
        result.requires_grad = False
        result.grad_fn = None
        if _anomaly[0]:
            anomaly.check_forward(node.name, out)
        return result
    result.requires_grad = True
    result.grad_fn = node
    node._seq = _next_seq()                 # creation order: the engine runs nodes newest first
    node.inputs = inputs
    node.needs_input_grad = needs
    # Remember when this op ran, to catch later in-place changes to what backward reads; keep a
    # weak reference to the output only when backward reads it (a weakref per op is ≈ 5 % of a
    # small op's cost, and one more object for the cyclic GC to walk).
    saved = node.saved
    node._out_ref = _no_output            # register_hook / retain_grad set a real one on demand
    if saved:
        node._ran_at = _counter[0]
        for s in saved:
            if s is out:
                node._out_ref = _ref(result)
                break
    else:
        node._ran_at = None
    if _anomaly[0]:
        node._trace = anomaly.capture_stack()
        anomaly.check_forward(node.name, out, node)
    return result


def _record_op(node: Function, inputs: tuple, out):
    """The tail of ``_apply1``/``_apply2`` while a recording is active: finish as they would,
    then log the op."""
    needs = None
    if _grad_enabled[0]:
        flags = tuple([isinstance(x, Tensor) and x.requires_grad for x in inputs])
        if True in flags:
            needs = flags
    result = _finish(node, inputs, needs, out)
    _recording[0]._add(node, inputs, None, result)
    return result


def _forward_error(node: Function, arrays, params: dict, exc: Exception) -> Exception:
    """The error to raise when an op's forward fails: NumPy's message with the op's context."""
    if isinstance(exc, OpError):
        return exc
    kind = OpIndexError if isinstance(exc, IndexError) else OpError
    return kind(node.explain_error(arrays, params, exc) or (
        f"{node.name}: {exc} (inputs: {_describe(arrays)})"))
