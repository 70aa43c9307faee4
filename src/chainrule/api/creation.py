"""Tensor constructors with PyTorch's names and dtype rules; random ones draw from the one
generator that :func:`chainrule.manual_seed` seeds (on the host, so a seed gives the same values
on every device). ``device=`` (default: :func:`chainrule.get_default_device`) places the result;
``*_like`` follow their input's device."""
from __future__ import annotations

import numpy as np

from .. import backend, devices, dtypes
from ..tensor import Tensor, _to_array
from ..generator import numpy_generator
from ..memory_formats import check_memory_format
from ..layouts import check_layout, pin_result
from ._args import size_arg, size_keyword

__all__ = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "arange",
           "linspace", "eye", "rand", "randn", "randint", "randperm", "zeros_like", "ones_like",
           "full_like", "empty_like", "rand_like", "randn_like"]


def _float_dtype(dtype) -> np.dtype:
    return backend.get_default_dtype() if dtype is None else dtypes.to_dtype(dtype)


def _make(array, requires_grad: bool, device=None, layout=None, pin_memory: bool = False,
          op: str = "tensor") -> Tensor:
    """Wrap ``array``, moved to ``device`` (or the default device) unless that is the CPU;
    ``layout`` checked (strided only), ``pin_memory=True`` pins it (see :mod:`..layouts`)."""
    if layout is not None:
        check_layout(layout, op)
    if device is not None:                  # an explicit device, the CPU too, moves it there
        array = devices.move_array(array, devices.as_device(device), "device=")
    elif devices._default[0] is not devices.CPU:
        target = devices.resolve(None)
        if target is not None:
            array = devices.move_array(array, target, "device=")
    t = Tensor._wrap(array, False, None)
    if pin_memory:
        pin_result(t, op)
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (an array keeps its dtype; Python floats get the
    default dtype, Python ints int64)."""
    if isinstance(data, Tensor):
        data = data._data
    arr = _to_array(data, dtype)
    if arr is data or (isinstance(data, np.ndarray) and np.shares_memory(arr, data)):
        arr = arr.copy()
    return _make(arr, requires_grad, device, None, pin_memory, "tensor")


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like :func:`tensor` but shares memory with an array of the right dtype and device."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype)
    t = Tensor._wrap(_to_array(data, dtype), False, None)
    return t if device is None and devices._default[0] is devices.CPU else \
        _make(t._data, False, device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` and keeping its dtype."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor._wrap(array, False, None)


@size_keyword
def zeros(*size, dtype=None, layout=None, device=None, requires_grad: bool = False,
          pin_memory: bool = False) -> Tensor:
    return _make(np.zeros(size_arg(size), dtype=_float_dtype(dtype)), requires_grad, device,
                 layout, pin_memory, "zeros")


@size_keyword
def ones(*size, dtype=None, layout=None, device=None, requires_grad: bool = False,
         pin_memory: bool = False) -> Tensor:
    return _make(np.ones(size_arg(size), dtype=_float_dtype(dtype)), requires_grad, device,
                 layout, pin_memory, "ones")


@size_keyword
def empty(*size, dtype=None, layout=None, device=None, requires_grad: bool = False,
          memory_format=None, pin_memory: bool = False) -> Tensor:
    """Like zeros (chainrule never hands out uninitialised memory)."""
    if memory_format is not None:
        check_memory_format(memory_format, "empty", len(size_arg(size)))
    return _make(np.zeros(size_arg(size), dtype=_float_dtype(dtype)), requires_grad, device,
                 layout, pin_memory, "empty")


def full(size, fill_value, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
         pin_memory: bool = False) -> Tensor:
    if dtype is None:
        dtype = dtypes.scalar_dtype(fill_value)
    return _make(np.full(size_arg((size,)), fill_value, dtype=dtypes.to_dtype(dtype)),
                 requires_grad, device, layout, pin_memory, "full")


def arange(start, end=None, step=1, *, dtype=None, layout=None, device=None,
           requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """[start, end) in steps of ``step``; int64 when all three are integers."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if ints else backend.get_default_dtype()
    return _make(np.arange(start, end, step).astype(dtypes.to_dtype(dtype)), requires_grad,
                 device, layout, pin_memory, "arange")


def linspace(start, end, steps: int, *, dtype=None, layout=None, device=None,
             requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    return _make(np.linspace(start, end, steps).astype(_float_dtype(dtype)), requires_grad,
                 device, layout, pin_memory, "linspace")


def eye(n: int, m: int | None = None, *, dtype=None, layout=None, device=None,
        requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    return _make(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad, device, layout,
                 pin_memory, "eye")


def _draw(kind: str, shape, dt, device, generator, who: str):
    """Random floats made where they will live: a GPU's own generator for a CUDA device (no
    host copy; seeded by manual_seed), the CPU generator (or ``generator``) otherwise."""
    if device is not None or devices._default[0] is not devices.CPU:
        target = devices.resolve(device)
        if target is not None:
            devices.require_cuda(f"{who}(device={str(target)!r})", target.index or 0)
            if generator is not None:
                raise RuntimeError(f"{who}: generator= is a CPU generator; it cannot draw on "
                                   f"{target}")
            return backend.random_on(target.index or 0, kind, shape, dt)
    return getattr(numpy_generator(generator, who), kind)(shape, dtype=dt)


@size_keyword
def rand(*size, generator=None, dtype=None, layout=None, device=None,
         requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """Uniform on [0, 1)."""
    dt = _float_dtype(dtype)
    return _make(_draw("random", size_arg(size), dt, device, generator, "rand"), requires_grad,
                 device, layout, pin_memory, "rand")


@size_keyword
def randn(*size, generator=None, dtype=None, layout=None, device=None,
          requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """Standard normal."""
    dt = _float_dtype(dtype)
    return _make(_draw("standard_normal", size_arg(size), dt, device, generator, "randn"),
                 requires_grad, device, layout, pin_memory, "randn")


def randint(low, high=None, size=(), *, generator=None, dtype=None, layout=None, device=None,
            requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """Integers uniform on [low, high) (``randint(high, size)`` also works)."""
    if high is None or isinstance(high, (tuple, list)):
        low, high, size = 0, low, (high if high is not None else size)
    arr = numpy_generator(generator, "randint").integers(low, high, size_arg((size,)))
    return _make(arr.astype(dtypes.to_dtype(dtype or np.int64)), requires_grad, device, layout,
                 pin_memory, "randint")


def randperm(n: int, *, generator=None, dtype=None, layout=None, device=None,
             requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    return _make(numpy_generator(generator, "randperm").permutation(n).astype(
        dtypes.to_dtype(dtype or np.int64)), requires_grad, device, layout, pin_memory,
        "randperm")


def _like(input, fn, dtype, requires_grad, device, memory_format=None, op="*_like",
          layout=None, pin_memory: bool = False, **draw):
    """``fn`` for ``input``'s shape, with its dtype and device unless given."""
    if memory_format is not None:
        check_memory_format(memory_format, op, len(input.shape))
    if layout is not None:
        check_layout(layout, op)
    return fn(input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad,
              device=_like_device(input, device), pin_memory=pin_memory, **draw)


def _like_device(input, device):
    if device is not None:
        return device
    return input.device if isinstance(input, Tensor) else devices.CPU


def zeros_like(input, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
               memory_format=None, pin_memory: bool = False) -> Tensor:
    return _like(input, zeros, dtype, requires_grad, device, memory_format, "zeros_like", layout,
                 pin_memory)


def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
              memory_format=None, pin_memory: bool = False) -> Tensor:
    return _like(input, ones, dtype, requires_grad, device, memory_format, "ones_like", layout,
                 pin_memory)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
               memory_format=None, pin_memory: bool = False) -> Tensor:
    return _like(input, zeros, dtype, requires_grad, device, memory_format, "empty_like", layout,
                 pin_memory)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None,
              requires_grad: bool = False, memory_format=None,
              pin_memory: bool = False) -> Tensor:
    if memory_format is not None:
        check_memory_format(memory_format, "full_like", len(input.shape))
    check_layout(layout, "full_like")
    return full(input.shape, fill_value, dtype=dtype or input.dtype, requires_grad=requires_grad,
                device=_like_device(input, device), pin_memory=pin_memory)


def rand_like(input, *, generator=None, dtype=None, layout=None, device=None,
              requires_grad: bool = False, memory_format=None,
              pin_memory: bool = False) -> Tensor:
    return _like(input, rand, dtype, requires_grad, device, memory_format, "rand_like", layout,
                 pin_memory, generator=generator)


def randn_like(input, *, generator=None, dtype=None, layout=None, device=None,
               requires_grad: bool = False, memory_format=None,
               pin_memory: bool = False) -> Tensor:
    return _like(input, randn, dtype, requires_grad, device, memory_format, "randn_like", layout,
                 pin_memory, generator=generator)
