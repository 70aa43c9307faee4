"""A strict stand-in for CuPy on the CPU, to run chainrule's CUDA paths without a GPU.

Put ``tests/fake_cupy_strict`` first on ``sys.path`` (in a subprocess: it replaces ``cupy`` for
the whole interpreter). Like real CuPy, and unlike tests/optim/fake_cupy.py, its arrays are not
NumPy arrays: ``np.asarray(x)``/``np.array(x)`` raise, as does mixing a NumPy array into an
operation or a ``cupy.*`` call, so any hidden host round trip fails loudly. NumPy functions and
ufuncs called on its arrays dispatch (``__array_function__``/``__array_ufunc__``) as CuPy's do.
Values live in a NumPy array inside; ``get()`` copies them out. ``ElementwiseKernel`` runs the
kernel's C body with NumPy (tests/optim/fake_cupy.py), and chainrule's col2im kernel is
emulated; streams, events, devices and the memory pool do nothing. One GPU is visible.
"""
from __future__ import annotations

import itertools
import operator
import sys
import types
from pathlib import Path

import numpy as np

_NO_HOST = "Implicit conversion to a NumPy array is not allowed. Please use `.get()` explicitly."


class ndarray:  # noqa: N801 - CuPy's name
    """A device array: ``_a`` holds the values; only ``get()`` (and item/tolist) reads them."""

    __slots__ = ("_a", "__weakref__")
    __array_priority__ = 100
    __hash__ = None

    def __init__(self, a):
        object.__setattr__(self, "_a", a)

    # -- what real CuPy refuses ---------------------------------------------------------------
    def __array__(self, *args, **kwargs):
        raise TypeError(_NO_HOST)

    def __dlpack__(self, *args, **kwargs):
        raise TypeError("fake cupy: no DLPack export")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        _refuse_host(ufunc.__name__, inputs, kwargs)
        return _wrap(getattr(ufunc, method)(*_unwrap(inputs), **_unwrap(kwargs)))

    def __array_function__(self, func, types_, args, kwargs):
        _refuse_host(func.__name__, args, kwargs)
        return _wrap(func(*_unwrap(args), **_unwrap(kwargs)))

    # -- device → host (the only ways out) ----------------------------------------------------
    def get(self, stream=None, order="C", out=None, blocking=True):
        return np.array(self._a, copy=True)

    def item(self):
        return self._a.item()

    def tolist(self):
        return self._a.tolist()

    def set(self, arr, stream=None):
        self._a[...] = arr

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __bool__(self):
        return bool(self._a)

    def __index__(self):
        return operator.index(self._a)

    # -- the rest behaves as the NumPy array inside ------------------------------------------
    @property
    def device(self):
        return cuda.Device(0)

    def __getattr__(self, name):
        if name.startswith("__") or name in ("ctypes", "data"):
            raise AttributeError(name)
        value = getattr(self._a, name)
        if callable(value):
            return lambda *a, **k: _wrap(value(*_unwrap(a), **_unwrap(k)))
        return _wrap(value)

    def __setattr__(self, name, value):
        setattr(self._a, name, _unwrap(value))

    def __getitem__(self, key):
        return _wrap(self._a[_unwrap(key)])

    def __setitem__(self, key, value):
        _refuse_host("setitem", value)
        self._a[_unwrap(key)] = _unwrap(value)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_wrap(row) for row in self._a)

    def __repr__(self):
        return "cupy(fake)." + repr(self._a)


def _binary(name: str):
    fn = getattr(operator, name)
    inplace = getattr(operator, "i" + name.rstrip("_"), None)

    def forward(self, other):
        _refuse_host(name, other)
        return _wrap(fn(self._a, _unwrap(other)))

    def reflected(self, other):
        _refuse_host(name, other)
        return _wrap(fn(_unwrap(other), self._a))

    def in_place(self, other):
        _refuse_host(name, other)
        result = inplace(self._a, _unwrap(other))
        if result is not self._a:
            self._a[...] = result
        return self
    return forward, reflected, in_place


for _n in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and_", "or_",
           "xor", "lshift", "rshift"):
    _f, _r, _i = _binary(_n)
    _d = _n.rstrip("_")
    setattr(ndarray, f"__{_d}__", _f)
    setattr(ndarray, f"__r{_d}__", _r)
    setattr(ndarray, f"__i{_d}__", _i)
for _n in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(ndarray, f"__{_n}__", _binary(_n)[0])
for _n in ("neg", "pos", "abs", "invert"):
    setattr(ndarray, f"__{_n}__", (lambda f: lambda self: _wrap(f(self._a)))(getattr(operator, _n)))


def _has_host_array(x) -> bool:
    if isinstance(x, np.ndarray):
        return True
    if isinstance(x, (tuple, list)):
        return any(_has_host_array(v) for v in x)
    if isinstance(x, dict):
        return any(_has_host_array(v) for v in x.values())
    return False


def _refuse_host(what: str, *args) -> None:
    """Real CuPy's TypeError for a NumPy array among an operation's operands."""
    if _has_host_array(args):
        raise TypeError(f"Unsupported type <class 'numpy.ndarray'> (fake cupy, strict: {what})")


def _unwrap(x):
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, tuple) and not hasattr(x, "_fields"):
        return tuple(_unwrap(v) for v in x)
    if isinstance(x, list):
        return [_unwrap(v) for v in x]
    if isinstance(x, dict):
        return {k: _unwrap(v) for k, v in x.items()}
    return x


def _wrap(x):
    if isinstance(x, np.ndarray):
        return ndarray(x)
    if isinstance(x, np.generic):            # CuPy reductions give 0-d arrays, not scalars
        return ndarray(np.asarray(x))
    if hasattr(x, "_fields"):
        return type(x)(*[_wrap(v) for v in x])
    if isinstance(x, tuple):
        return tuple(_wrap(v) for v in x)
    if isinstance(x, list):
        return [_wrap(v) for v in x]
    return x


class _Function:
    """A NumPy function as ``cupy.<name>``: refuses NumPy arrays, returns device arrays."""

    def __init__(self, fn):
        self.fn = fn
        self.__name__ = getattr(fn, "__name__", "function")

    def __call__(self, *args, **kwargs):
        _refuse_host(self.__name__, args, kwargs)
        return _wrap(self.fn(*_unwrap(args), **_unwrap(kwargs)))

    def __getattr__(self, name):            # ufunc methods: cupy.add.at, cupy.maximum.reduce
        value = getattr(self.fn, name)
        return _Function(value) if callable(value) else value


def __getattr__(name):
    value = getattr(np, name)
    if callable(value) and not isinstance(value, type):
        return _Function(value)
    return value


# -- host ↔ device ---------------------------------------------------------------------------------
def asarray(a, dtype=None, order=None, *, blocking=False):
    if isinstance(a, ndarray):
        return a if dtype is None or a.dtype == np.dtype(dtype) else a.astype(dtype)
    return ndarray(np.array(a, dtype=dtype, copy=True))


def array(a, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    return ndarray(np.array(_unwrap(a), dtype=dtype, copy=True, ndmin=ndmin))


def asnumpy(a, stream=None, order="C", out=None, *, blocking=True):
    return a.get() if isinstance(a, ndarray) else np.asarray(a)


def get_array_module(*args):
    return sys.modules[__name__] if any(isinstance(a, ndarray) for a in args) else np


def from_dlpack(x):
    return ndarray(np.array(np.from_dlpack(x), copy=True))


# -- kernels -----------------------------------------------------------------------------------
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "optim"))
import fake_cupy as _loose  # noqa: E402  (tests/optim/fake_cupy.py: the C-body interpreter)

sys.path.pop(0)


class ElementwiseKernel(_loose.ElementwiseKernel):
    """The optimizer kernels through the C-body interpreter; chainrule's col2im kernel
    (``cr_col2im_rows``: sum each window's column back into the padded image) emulated."""

    def __init__(self, in_params, out_params, body, name, **kwargs):
        self.name = name
        if name != "cr_col2im_rows":
            super().__init__(in_params, out_params, body, name)

    def __call__(self, *args):
        args = [_unwrap(a) for a in args]
        if self.name != "cr_col2im_rows":
            return super().__call__(*args)
        cols, geometry, acc = args[0], args[1:17], args[17]
        c, p0, p1, p2, k0, k1, k2, s0, s1, s2, d0, d1, d2, o0, o1, o2 = geometry
        n = acc.shape[0]
        image = np.zeros((n, p0, p1, p2, c), cols.dtype)
        windows = cols.reshape(n, o0, o1, o2, k0, k1, k2, c)
        for i, j, k in itertools.product(range(k0), range(k1), range(k2)):
            image[:, i * d0: i * d0 + s0 * (o0 - 1) + 1: s0,
                  j * d1: j * d1 + s1 * (o1 - 1) + 1: s1,
                  k * d2: k * d2 + s2 * (o2 - 1) + 1: s2] += windows[:, :, :, :, i, j, k]
        acc[...] = image.reshape(acc.shape)


# -- cuda, random, memory -----------------------------------------------------------------------
class _Event:
    done = True

    def synchronize(self):
        pass


class _Stream:
    def __init__(self, non_blocking=False, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def record(self, event=None):
        return _Event()

    def wait_event(self, event):
        pass

    def synchronize(self):
        pass

    def use(self):
        return self


class _Device:
    def __init__(self, index=0):
        self.id = int(getattr(index, "id", index) or 0)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def use(self):
        pass

    def synchronize(self):
        pass

    def __eq__(self, other):
        return isinstance(other, _Device) and other.id == self.id

    def __hash__(self):
        return self.id


class MemoryHook:
    """CuPy's hook base class; the stand-in never allocates through a pool, so never calls it."""
    name = "MemoryHook"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


cuda = types.ModuleType("cupy.cuda")
cuda.Device, cuda.Stream, cuda.Event, cuda.MemoryHook = _Device, _Stream, _Event, MemoryHook
cuda.get_current_stream = lambda device=None: _Stream()
cuda.alloc_pinned_memory = lambda nbytes: bytearray(nbytes)
cuda.runtime = types.SimpleNamespace(getDeviceCount=lambda: 1,
                                     getDeviceProperties=lambda i: {"name": b"FakeStrictGPU"})


class _Pool:
    def used_bytes(self):
        return 0

    def total_bytes(self):
        return 0

    def free_all_blocks(self):
        pass


_pool = _Pool()


def get_default_memory_pool():
    return _pool


def get_default_pinned_memory_pool():
    return _pool


class RandomState:
    def __init__(self, seed=0):
        self._g = np.random.Generator(np.random.PCG64(seed))

    def random_sample(self, size=None, dtype=float):
        return ndarray(np.asarray(self._g.random(size, dtype=dtype)))

    def standard_normal(self, size=None, dtype=float):
        return ndarray(np.asarray(self._g.standard_normal(size, dtype=dtype)))


_state = [RandomState(0)]


def _seed(seed=None):
    _state[0] = RandomState(0 if seed is None else int(seed))


random = types.ModuleType("cupy.random")
random.seed, random.RandomState = _seed, RandomState
random.get_random_state = lambda: _state[0]
lib = types.ModuleType("cupy.lib")
lib.stride_tricks = types.ModuleType("cupy.lib.stride_tricks")
lib.stride_tricks.as_strided = lambda x, shape=None, strides=None: ndarray(
    np.lib.stride_tricks.as_strided(_unwrap(x), shape=shape, strides=strides))
sys.modules.update({"cupy.cuda": cuda, "cupy.random": random, "cupy.lib": lib,
                    "cupy.lib.stride_tricks": lib.stride_tricks})
