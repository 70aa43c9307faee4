"""Tensor: an array (``data``), its gradient (``grad``), and the op that made it (``grad_fn``).

Arithmetic, reductions and shape methods are attached by :mod:`chainrule.api.methods`; this module
holds what a Tensor *is*: conversions, autograd bookkeeping, in-place updates (with the version
counter that catches an in-place change to something backward still needs) and the repr.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable

import numpy as np

from . import backend, devices, dtypes
from .size import Size
from .autograd import grad_mode
from .autograd.hooks import (HookHandle as _HookHandle, TensorHooks as _TensorHooks,
                             add_leaf_hook as _add_leaf_hook)

__all__ = ["Tensor"]


_NO_DATA = object()


def _legacy_sizes(data, sizes: tuple) -> tuple:
    """The shape of ``Tensor(*sizes)``: integers only, as PyTorch's legacy constructor."""
    if data is _NO_DATA:
        return (0,)
    dims = tuple(data) if isinstance(data, Size) else (data, *sizes)
    if not all(type(d) is int and d >= 0 for d in dims):
        raise TypeError(f"Tensor(): sizes must be non-negative integers, got {dims!r} (pass data "
                        "as one list, e.g. Tensor([1, 2]))")
    return dims


def _to_array(data: Any, dtype=None) -> np.ndarray:
    """Convert constructor input to an array following PyTorch's dtype rules."""
    if isinstance(data, Tensor):
        data = data._data
    if backend.is_array(data):
        arr = data
        if dtype is not None:
            arr = arr.astype(dtypes.to_dtype(dtype), copy=False)
        return arr
    if isinstance(data, np.generic):
        return np.asarray(data, dtype=dtype)
    if dtype is not None:
        return np.asarray(data, dtype=dtypes.to_dtype(dtype))
    arr = np.asarray(data)
    if arr.dtype.kind == "f":
        arr = arr.astype(backend.get_default_dtype(), copy=False)
    elif arr.dtype.kind in "iu" and arr.dtype != np.uint8:
        arr = arr.astype(np.int64, copy=False)
    elif arr.dtype.kind not in "biuf":
        raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__} "
                        f"(NumPy dtype {np.dtype(arr.dtype).name}); expected numbers, nested lists or an array")
    return arr


# In-place changes are stamped with a global counter: ``t._version`` is the counter's value at
# t's last in-place change (0: never changed). Tensors that share storage through a view (or
# detach) also share one version cell, ``t._vcell`` (a one-element list; None while t has no
# views), which every in-place change of any of them stamps, as PyTorch's views share a version
# counter. An op that saves values for backward remembers the counter when it ran; at backward,
# a saved tensor stamped later was changed after being saved. When the counter has not moved
# since an op ran, backward skips the check altogether.
_modification_counter = [0]
_dtype_of: dict = dtypes._BY_NUMPY
# How many non-leaf tensors ever got a hook or retain_grad: while 0, backward skips looking for them.
_nonleaf_watchers = [0]
# How many in-place changes were recorded in a graph (api/inplace_graph.py): while 0, backward
# does not look for rebased nodes.
_rebased = [0]



class _WatchedOutput:
    """A node's reference to its watched output: called, the tensor (or None once it is gone),
    like a weakref; ``hooks`` keeps the tensor's hooks alive with the node."""

    __slots__ = ("ref", "hooks")

    def __init__(self, tensor: "Tensor"):
        self.ref = weakref.ref(tensor)
        self.hooks = tensor._hooks

    def __call__(self):
        return self.ref()

class Tensor:
    """An n-dimensional array that can record the ops applied to it and backpropagate through them."""

    __slots__ = ("_data", "grad", "requires_grad", "grad_fn", "_version", "_vcell", "_hooks",
                 "_retains_grad", "__weakref__")
    __array_ufunc__ = None  # ``ndarray * Tensor`` defers to Tensor.__rmul__

    def __init__(self, data: Any = _NO_DATA, *sizes, dtype=None, requires_grad: bool = False,
                 device=None):
        """PyTorch's legacy constructor: ``Tensor(2, 3)`` (or a ``Size``) gives a tensor of that
        shape (zeros here, never uninitialised memory) and ``Tensor()`` an empty one, both of the
        default dtype; ``Tensor([1, 2])`` takes Python data as the default float dtype. An array
        or Tensor keeps its dtype (a difference from torch, which casts it)."""
        if data is _NO_DATA or sizes or isinstance(data, Size) or (
                type(data) is int and dtype is None):
            data = np.zeros(_legacy_sizes(data, sizes), backend.get_default_dtype())
        elif dtype is None and isinstance(data, (list, tuple)):
            dtype = backend.get_default_dtype()
        arr = _to_array(data, dtype)
        if device is not None:
            arr = devices.move_array(arr, devices.device(device))
        if requires_grad and arr.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require gradients, got dtype "
                            f"{np.dtype(arr.dtype).name}")
        self._data = arr
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.grad_fn = None
        self._version = 0
        self._vcell = None
        self._hooks = None
        self._retains_grad = False

    @staticmethod
    def _wrap(data, requires_grad: bool, grad_fn) -> "Tensor":
        """Fast internal constructor: no conversion, no checks."""
        t = object.__new__(Tensor)
        t._data = data
        t.grad = None
        t.requires_grad = requires_grad
        t.grad_fn = grad_fn
        t._version = 0
        t._vcell = None
        t._hooks = None
        t._retains_grad = False
        return t

    # -- .data: the values outside autograd -----------------------------------------------------
    @property
    def data(self) -> "Tensor":
        """The same values as a tensor outside autograd (PyTorch's ``.data``): it shares this
        tensor's storage but not its graph nor its version counter, so an in-place change made
        through it is invisible to the check that guards values saved for backward."""
        return Tensor._wrap(self._data, False, None)

    @data.setter
    def data(self, value) -> None:
        """Replace the values (any shape) while keeping this tensor's identity and autograd flags."""
        arr = value._data if isinstance(value, Tensor) else _to_array(value)
        if self.requires_grad and arr.dtype.kind not in "fc":
            raise TypeError(f"data: a tensor that requires grad needs floating-point values, "
                            f"got dtype {np.dtype(arr.dtype).name}")
        self._data = arr

    # -- array facts -------------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    @property
    def dtype(self) -> "dtypes.dtype":
        """The chainrule dtype (equal to, and usable as, the array's NumPy dtype)."""
        try:
            return _dtype_of[self._data.dtype]
        except KeyError:                        # a rarer dtype's first use
            return dtypes.wrap(self._data.dtype)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def device(self) -> "devices.device":
        """Where the array lives: ``device(type='cpu')`` for NumPy, ``cuda:N`` for CuPy."""
        data = self._data
        return devices.CPU if isinstance(data, np.ndarray) else devices.device_of_array(data)

    @property
    def is_cuda(self) -> bool:
        return not isinstance(self._data, (np.ndarray, np.generic))

    def get_device(self) -> int:
        """The GPU index for a CUDA tensor, -1 on the CPU (PyTorch's convention)."""
        index = self.device.index
        return -1 if index is None else index

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def size(self, dim: int | None = None):
        """The shape, or with ``dim`` (checked as every dim is) the size of that dimension."""
        shape = self._data.shape
        if dim is None:
            return Size(shape)
        if type(dim) is int and -len(shape) <= dim < len(shape):
            return shape[dim]
        from .api._args import normalize_dim          # the error, or a NumPy integer
        return self._data.shape[normalize_dim(dim, self._data.ndim, "size", wrap_scalar=False)]

    def numel(self) -> int:
        return int(self._data.size)

    def dim(self) -> int:
        return self._data.ndim

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        """The sub-tensors along dim 0 (``for row in W``), each differentiable."""
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __format__(self, spec: str) -> str:
        """``format(t, '.2f')`` formats a 0-d tensor's value; other tensors accept only ''."""
        if self._data.ndim == 0:
            return format(self.item(), spec)
        if spec:
            raise TypeError(f"unsupported format string passed to Tensor.__format__: {spec!r} "
                            f"(only 0-d tensors format their value; this one has shape "
                            f"{tuple(self._data.shape)})")
        return repr(self)

    def type(self, dtype=None, non_blocking: bool = False, **kwargs):
        """No argument: the type name as PyTorch spells it with chainrule's prefix
        ('chainrule.FloatTensor'). With a dtype or a type name ('chainrule.DoubleTensor',
        'torch.LongTensor', 'float64'): the tensor cast to it."""
        from . import tensor_types
        if dtype is None:
            return tensor_types.type_name(self._data.dtype)
        return self.to(tensor_types.parse(dtype))

    # -- conversions -------------------------------------------------------------------------
    def item(self):
        if self._data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted to a Python "
                             f"number, this one has shape {tuple(self.shape)}")
        if devices._pending and type(self._data) is not np.ndarray and \
                not isinstance(self._data, np.generic):   # GPU checks wait for this sync
            return devices.item_checked(self._data)
        return self._data.reshape(()).item()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The underlying array (shared, not copied), like PyTorch's ``detach().numpy()``; a CUDA
        tensor must be copied to the host first (``.cpu()``, or ``force=True`` to copy here)."""
        data = self._data
        if not isinstance(data, (np.ndarray, np.generic)):
            if force:
                return data.get()
            raise TypeError(f"numpy: can't convert a {self.device} tensor to NumPy; use "
                            "tensor.cpu() to copy it to host memory first")
        return data

    def tolist(self):
        return self._data.tolist()

    def __array__(self, dtype=None, copy=None):
        arr = self._data if dtype is None else self._data.astype(dtype, copy=False)
        arr = arr if isinstance(arr, np.ndarray) else np.asarray(arr)    # a NumPy scalar, or CuPy
        return arr.copy() if copy and arr is self._data else arr        # np.array(t) copies

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(f"the truth value of a tensor with {self._data.size} elements is "
                               "ambiguous; use .any() or .all()")
        if devices._pending:
            devices.raise_deferred()
        return bool(self._data.reshape(()))

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of one element can be used as an index")
        return int(self._data.reshape(()))

    __hash__ = object.__hash__

    def detach(self) -> "Tensor":
        """The same data, cut from the graph; it shares this tensor's version counter, so an
        in-place change through it is still caught if backward needs the values."""
        t = Tensor._wrap(self._data, False, None)
        t._vcell = self._shared_version_cell()
        return t

    def detach_(self) -> "Tensor":
        self.grad_fn = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if self.grad_fn is not None and not requires_grad:
            raise RuntimeError("requires_grad_(False) is only allowed on leaf tensors; "
                               "use .detach() for a non-leaf")
        if requires_grad and self._data.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require gradients, got dtype "
                            f"{np.dtype(self._data.dtype).name}")
        self.requires_grad = bool(requires_grad)
        return self

    # -- autograd ----------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (``gradient`` for non-scalars);
        with ``inputs``, into those tensors' ``.grad`` only (leaves or not), as PyTorch."""
        if inputs is not None:
            from .autograd.backward_inputs import backward_into
            return backward_into(self, gradient, inputs, retain_graph, create_graph)
        from .autograd import engine
        engine.backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph)

    def register_hook(self, hook: Callable) -> _HookHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned Tensor
        replaces the gradient. On a leaf the hook runs once per backward, on the gradient summed
        over every path, before it is added to ``.grad`` (PyTorch's rule)."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: this tensor does not require grad")
        if self._hooks is None:
            self._hooks = _TensorHooks()
        if self.grad_fn is None:
            return _add_leaf_hook(self._hooks, self._hooks.pre, hook)
        self._hooks.pre.append(hook)
        self._watch_output()
        return _HookHandle(self._hooks.pre, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable) -> _HookHandle:
        """Call ``hook(self)`` once per backward, after this leaf's ``.grad`` has received the
        backward's gradient (data-parallel all-reduce and gradient monitors hook in here).
        As in PyTorch the hooks run as soon as this leaf's gradient is final (its last
        contribution in this backward has been added), while the rest of backward goes on."""
        if not self.requires_grad:
            raise RuntimeError("register_post_accumulate_grad_hook: this tensor does not "
                               "require grad")
        if self.grad_fn is not None:
            raise RuntimeError("register_post_accumulate_grad_hook: only leaf tensors have their "
                               "gradient accumulated into .grad; this one was made by "
                               f"{self.grad_fn.name} (use register_hook on a non-leaf)")
        if self._hooks is None:
            self._hooks = _TensorHooks()
        return _add_leaf_hook(self._hooks, self._hooks.post, hook)

    def _watch_output(self) -> None:
        """Let backward find this non-leaf tensor (for its hooks and retained grad); its hooks
        stay with the node, so they run even once this Python object is gone (PyTorch keeps a
        tensor's hooks on its grad_fn)."""
        if self.grad_fn is not None:
            self.grad_fn._out_ref = _WatchedOutput(self)
            _nonleaf_watchers[0] += 1

    def retain_grad(self) -> None:
        """Keep ``.grad`` on a non-leaf tensor after backward."""
        if self.grad_fn is not None:
            self._retains_grad = True
            self._watch_output()

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    # -- in-place updates (for parameters and initialisers) -----------------------------------
    def _check_inplace(self, op: str) -> None:
        if self.requires_grad and grad_mode._grad_enabled[0]:
            if self.grad_fn is None:
                raise RuntimeError(
                    f"{op}: a leaf tensor that requires grad cannot be modified in place while "
                    "gradients are recorded; do it inside `with chainrule.no_grad():`")
            raise RuntimeError(
                f"{op}: in-place ops are not recorded by autograd, and this tensor is part of a "
                "graph; use the out-of-place form (e.g. x = x + y)")
        self._bump_version()

    def _bump_version(self) -> None:
        """Mark this tensor as modified in place now (see ``_modification_counter``), and the
        version cell it shares with its views, if any (PyTorch's rule for views)."""
        stamp = _modification_counter[0] + 1
        _modification_counter[0] = stamp
        self._version = stamp
        if self._vcell is not None:
            self._vcell[0] = stamp

    def _shared_version_cell(self) -> list:
        """The version cell this tensor shares with its views (made on the first view)."""
        if self._vcell is None:
            self._vcell = [self._version]
        return self._vcell

    # -- dtype and device conversion -------------------------------------------------------------
    def to(self, *args, **kwargs) -> "Tensor":
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)`` (its device and
        dtype), with ``non_blocking=`` (accepted) and ``copy=``: differentiable (a gradient goes back to
        this tensor's device and dtype); returns ``self`` when nothing would change."""
        dev, dtype, copy = devices.parse_to_args("Tensor.to", args, kwargs)
        if kwargs and kwargs.get("memory_format") is not None:
            from .memory_formats import check_memory_format
            check_memory_format(kwargs["memory_format"], "to", self._data.ndim)
        out = self
        if dtype is not None:
            dtype = dtypes.to_dtype(dtype)
            if dtype != self._data.dtype:
                from .ops.elementwise import cast
                out = cast(out, dtype)
        if dev is not None and dev != out.device and not (
                dev.index is None and dev.type == out.device.type):
            out = _ToDevice.apply(out, device=dev)
        if copy and out is self:
            out = self.clone()
        return out

    def cuda(self, device=None, non_blocking: bool = False, memory_format=None) -> "Tensor":
        """A copy on the GPU (``cuda:N`` for ``device=N``); refused clearly without CUDA."""
        if memory_format is not None:
            from .memory_formats import check_memory_format
            check_memory_format(memory_format, "cuda", self._data.ndim)
        dev = devices.device("cuda") if device is None else devices.as_device(device)
        if dev.type != "cuda":
            raise ValueError(f"cuda: expected a CUDA device, got {dev}")
        return self.to(dev)

    def cpu(self, memory_format=None) -> "Tensor":
        """This tensor on the CPU (itself when it is there already)."""
        if memory_format is not None:
            from .memory_formats import check_memory_format
            check_memory_format(memory_format, "cpu", self._data.ndim)
        return self if isinstance(self._data, (np.ndarray, np.generic)) else self.to(devices.CPU)

    def float(self, memory_format=None) -> "Tensor":
        if memory_format is not None:   # accepted for PyTorch code; one layout here
            from .memory_formats import check_memory_format
            check_memory_format(memory_format, "float", self._data.ndim)
        return self.to(np.float32)

    def double(self, memory_format=None) -> "Tensor":
        if memory_format is not None:
            from .memory_formats import check_memory_format
            check_memory_format(memory_format, "double", self._data.ndim)
        return self.to(np.float64)

    def half(self, memory_format=None) -> "Tensor":
        if memory_format is not None:
            from .memory_formats import check_memory_format
            check_memory_format(memory_format, "half", self._data.ndim)
        return self.to(np.float16)

    def long(self, memory_format=None) -> "Tensor":
        if memory_format is not None:
            from .memory_formats import check_memory_format
            check_memory_format(memory_format, "long", self._data.ndim)
        return self.to(np.int64)

    def int(self, memory_format=None) -> "Tensor":
        if memory_format is not None:
            from .memory_formats import check_memory_format
            check_memory_format(memory_format, "int", self._data.ndim)
        return self.to(np.int32)

    def bool(self, memory_format=None) -> "Tensor":
        if memory_format is not None:
            from .memory_formats import check_memory_format
            check_memory_format(memory_format, "bool", self._data.ndim)
        return self.to(np.bool_)

    def type_as(self, other: "Tensor") -> "Tensor":
        return self.to(other.dtype)

    # -- repr ---------------------------------------------------------------------------------
    def __repr__(self) -> str:
        """PyTorch's layout (see :mod:`chainrule.printing`)."""
        from .printing import tensor_repr
        return tensor_repr(self)


from .autograd import function as _function  # noqa: E402  (the op base needs the Tensor class)

_function.bind_tensor(Tensor, _modification_counter)


class _ToDevice(_function.Function):
    """Move to another device: y = x there; ∂y/∂x = 1, the gradient goes back to x's device."""

    name = "to"

    def forward(self, xp, x, device):
        self.source = devices.device_of_array(x)
        return devices.move_array(x, device)

    def backward(self, xp, g):
        if isinstance(g, Tensor):                      # create_graph: stay differentiable
            return g.to(self.source)
        return devices.move_array(g, self.source)
