"""oneDNN's C API through ctypes: the library, one CPU engine and stream, memory descriptors,
memories over NumPy buffers, reorders, and the OpenMP thread count.

The ``onednn-cpu-gomp`` wheel (the ``onednn`` extra) puts ``libdnnl.so.3`` (oneDNN 3.x, GNU
OpenMP threading) in ``sys.prefix/lib``; nothing here is imported unless it is found. Every
call's status is checked, and a failure raises :class:`OneDNNError` naming the call and the
status. Memory descriptors use oneDNN's plain tags (``a``, ``abc``, ``abcd``, ``abcde`` =
NCW/NCHW/NCDHW, OIW/OIHW/OIDHW) for arrays that NumPy owns and ``any`` where oneDNN picks its
own blocked layout (nChw16c and the like), which a reorder then converts.
"""
from __future__ import annotations

import collections
import ctypes
import glob
import importlib.metadata
import os
import sys
import threading
import warnings

import numpy as np

__all__ = ["OneDNNError", "find", "Library", "Handles", "TAG_ANY", "plain_tag", "PlanCache",
           "usable"]

P = ctypes.c_void_p
Dims = ctypes.c_int64 * 12           # dnnl_dims_t
F32 = 3                              # dnnl_f32
TAG_ANY = 1                          # dnnl_format_tag_any
_PLAIN = {1: 2, 2: 3, 3: 4, 4: 5, 5: 6, 6: 7}   # ndims -> dnnl_a, ab, …, abcde, abcdef
CPU = 1                              # dnnl_cpu
IN_ORDER = 1                         # dnnl_stream_in_order
IMPL_INFO = 8                        # dnnl_query_impl_info_str
#: dnnl_query_*_md
Q_SRC, Q_DIFF_SRC, Q_WEIGHTS, Q_DIFF_WEIGHTS, Q_DST, Q_DIFF_DST = 129, 130, 131, 132, 133, 134
#: DNNL_ARG_*
SRC, DST, WEIGHTS, BIAS = 1, 17, 33, 41
DIFF_SRC, DIFF_DST, DIFF_WEIGHTS, DIFF_BIAS = 129, 145, 161, 169
WORKSPACE = 64
Q_WORKSPACE = 135
_STATUS = {1: "out of memory", 2: "invalid arguments", 3: "unimplemented",
           4: "iterator ends", 5: "runtime error", 6: "not required"}


class OneDNNError(RuntimeError):
    """A oneDNN call that did not return dnnl_success."""


class Arg(ctypes.Structure):
    """dnnl_exec_arg_t: an argument index and the memory bound to it."""
    _fields_ = [("arg", ctypes.c_int), ("memory", P)]


def plain_tag(ndim: int) -> int:
    """The row-major (C-contiguous) tag of an ``ndim``-D array."""
    return _PLAIN[ndim]


def library_paths() -> list[str]:
    """Where the wheel's ``libdnnl.so.3`` lies: sys.prefix/lib, else its dist files."""
    found = sorted(glob.glob(os.path.join(sys.prefix, "lib", "libdnnl.so.3*")))
    if not found:
        for dist in ("onednn-cpu-gomp", "onednn-cpu-iomp", "onednn-cpu-tbb"):
            try:
                files = importlib.metadata.files(dist) or []
            except importlib.metadata.PackageNotFoundError:
                continue
            found += [str(f.locate()) for f in files
                      if os.path.basename(str(f)).startswith("libdnnl.so.3")]
    return [p for p in found if os.path.isfile(p)]


class Library:
    """The loaded libdnnl with its CPU engine and in-order stream."""

    def __init__(self, path: str, lib: ctypes.CDLL):
        self.path, self._lib = path, lib
        self._declare()
        v = lib.dnnl_version().contents
        self.version = f"{v.major}.{v.minor}.{v.patch}"
        self.engine, self.stream = P(), P()
        self.check(lib.dnnl_engine_create(ctypes.byref(self.engine), CPU, 0), "engine_create")
        self.check(lib.dnnl_stream_create(ctypes.byref(self.stream), self.engine, IN_ORDER),
                   "stream_create")
        self.pid = os.getpid()
        self.lock = threading.Lock()      # one primitive at a time: plans reuse their buffers
        self._omp_set = _omp_setter()
        self._threads = 0

    def _declare(self) -> None:
        lib = self._lib

        class Version(ctypes.Structure):
            _fields_ = [("major", ctypes.c_int), ("minor", ctypes.c_int),
                        ("patch", ctypes.c_int), ("hash", ctypes.c_char_p),
                        ("cpu_runtime", ctypes.c_uint), ("gpu_runtime", ctypes.c_uint)]
        lib.dnnl_version.restype = ctypes.POINTER(Version)
        lib.dnnl_version.argtypes = []
        lib.dnnl_primitive_desc_query_md.restype = P
        lib.dnnl_primitive_desc_query_md.argtypes = [P, ctypes.c_int, ctypes.c_int]
        lib.dnnl_memory_desc_get_size.restype = ctypes.c_size_t
        lib.dnnl_memory_desc_get_size.argtypes = [P]
        lib.dnnl_memory_desc_equal.restype = ctypes.c_int
        lib.dnnl_memory_desc_equal.argtypes = [P, P]
        lib.dnnl_memory_set_data_handle.argtypes = [P, P]
        lib.dnnl_primitive_execute.argtypes = [P, P, ctypes.c_int, ctypes.POINTER(Arg)]
        lib.dnnl_stream_wait.argtypes = [P]
        lib.dnnl_memory_desc_create_with_tag.argtypes = [ctypes.POINTER(P), ctypes.c_int, Dims,
                                                         ctypes.c_int, ctypes.c_int]
        lib.dnnl_memory_create.argtypes = [ctypes.POINTER(P), P, P, P]
        lib.dnnl_primitive_create.argtypes = [ctypes.POINTER(P), P]
        lib.dnnl_primitive_desc_query.argtypes = [P, ctypes.c_int, ctypes.c_int, P]
        lib.dnnl_reorder_primitive_desc_create.argtypes = [ctypes.POINTER(P), P, P, P, P, P]
        for name in ("dnnl_primitive_desc_destroy", "dnnl_primitive_destroy",
                     "dnnl_memory_destroy", "dnnl_memory_desc_destroy"):
            getattr(lib, name).argtypes = [P]

    def __getattr__(self, name: str):
        """The C function ``dnnl_<name>``."""
        return getattr(self._lib, "dnnl_" + name)

    @staticmethod
    def check(status: int, what: str) -> None:
        if status != 0:
            raise OneDNNError(f"oneDNN {what}: {_STATUS.get(status, 'status')} ({status})")

    def md(self, shape, tag: int, owner: "Handles") -> P:
        """A float32 memory descriptor of ``shape`` with ``tag`` (plain or TAG_ANY)."""
        out = P()
        self.check(self._lib.dnnl_memory_desc_create_with_tag(
            ctypes.byref(out), len(shape), Dims(*shape), F32, tag), f"memory_desc {shape}")
        return owner.add("memory_desc", out)

    def query_md(self, pd: P, what: int) -> P:
        """A descriptor the primitive descriptor ``pd`` chose (owned by ``pd``)."""
        return P(self._lib.dnnl_primitive_desc_query_md(pd, what, 0))

    def same(self, a: P, b: P) -> bool:
        return bool(self._lib.dnnl_memory_desc_equal(a, b))

    def size(self, md: P) -> int:
        return int(self._lib.dnnl_memory_desc_get_size(md))

    def memory(self, md: P, owner: "Handles") -> P:
        """A memory of ``md`` with no buffer yet (bound by :meth:`bind` before each use)."""
        out = P()
        self.check(self._lib.dnnl_memory_create(ctypes.byref(out), md, self.engine, None),
                   "memory_create")
        return owner.add("memory", out)

    def bind(self, mem: P, array: np.ndarray) -> None:
        self._lib.dnnl_memory_set_data_handle(mem, array.ctypes.data)

    def primitive(self, pd: P, owner: "Handles") -> P:
        out = P()
        self.check(self._lib.dnnl_primitive_create(ctypes.byref(out), pd), "primitive_create")
        return owner.add("primitive", out)

    def impl(self, pd: P) -> str:
        """The implementation oneDNN chose (e.g. 'jit:avx512_core', 'x64:gemm:jit')."""
        s = ctypes.c_char_p()
        self.check(self._lib.dnnl_primitive_desc_query(pd, IMPL_INFO, 0, ctypes.byref(s)),
                   "query impl")
        return (s.value or b"").decode()

    def reorder(self, src: P, dst: P, owner: "Handles") -> P:
        """A reorder primitive from layout ``src`` to ``dst``."""
        pd = P()
        self.check(self._lib.dnnl_reorder_primitive_desc_create(
            ctypes.byref(pd), src, self.engine, dst, self.engine, None), "reorder")
        try:
            return self.primitive(pd, owner)
        finally:
            self._lib.dnnl_primitive_desc_destroy(pd)

    def destroy(self, kind: str, handle: P) -> None:
        """``dnnl_<kind>_destroy(handle)`` (kind: memory_desc, memory, primitive,
        primitive_desc)."""
        getattr(self._lib, f"dnnl_{kind}_destroy")(handle)

    def execute(self, prim: P, args: ctypes.Array) -> None:
        self.check(self._lib.dnnl_primitive_execute(prim, self.stream, len(args), args),
                   "execute")

    def wait(self) -> None:
        self.check(self._lib.dnnl_stream_wait(self.stream), "stream_wait")

    def set_threads(self, n: int) -> None:
        """OpenMP threads for the next primitives started from this thread."""
        if n != self._threads and self._omp_set is not None:
            self._omp_set(n)
            self._threads = n

    def policy_threads(self) -> None:
        """OpenMP threads as the BLAS policy gives a big GEMM (the user's limit, fewer when
        other processes keep CPUs busy)."""
        from .._blas.threads import big_threads
        self.set_threads(big_threads())


class Handles:
    """The oneDNN objects one plan created (descriptors, memories, primitives), destroyed in
    reverse order once the plan, and with it every graph node that uses it, is gone."""

    def __init__(self, lib: Library):
        self.lib, self.items = lib, []

    def add(self, kind: str, handle: P) -> P:
        self.items.append((kind, handle))
        return handle

    def __del__(self):
        items, self.items = self.items, []
        for kind, handle in reversed(items):
            try:
                self.lib.destroy(kind, handle)
            except Exception:       # interpreter shutdown: the library may be half torn down
                pass


def args(*pairs) -> ctypes.Array:
    """A dnnl_exec_arg_t array from (index, memory) pairs."""
    return (Arg * len(pairs))(*(Arg(i, m) for i, m in pairs))


def aligned(nbytes: int) -> np.ndarray:
    """A float32 buffer of at least ``nbytes`` starting on a 64-byte boundary."""
    raw = np.empty(nbytes // 4 + 16, np.float32)
    skip = (-raw.ctypes.data % 64) // 4
    return raw[skip:skip + max(1, -(-nbytes // 4))]


def _omp_setter():
    """``omp_set_num_threads`` of the GNU OpenMP that libdnnl loaded, or None."""
    try:
        gomp = ctypes.CDLL("libgomp.so.1")
    except OSError:
        return None
    fn = gomp.omp_set_num_threads
    fn.argtypes, fn.restype = [ctypes.c_int], None
    return fn


_found: Library | None = None
_searched = False
#: why an installed libdnnl did not load (e.g. no libgomp.so.1 on the system), else None
load_error: str | None = None


def find() -> Library | None:
    """The oneDNN library when installed and loadable (once per process), else None; an
    installed library that does not load warns once and leaves convolutions on NumPy."""
    global _found, _searched, load_error
    if not _searched:
        _searched = True
        for path in library_paths():
            try:
                lib = ctypes.CDLL(path)
                if not hasattr(lib, "dnnl_convolution_forward_primitive_desc_create"):
                    raise OSError("no dnnl_convolution_forward_primitive_desc_create in it")
                _found = Library(path, lib)
                load_error = None
                break
            except (OSError, OneDNNError) as e:
                load_error = f"{path}: {e}"
        if _found is None and load_error is not None:
            warnings.warn(f"chainrule: oneDNN is installed but did not load ({load_error}); "
                          "convolutions use the NumPy path", RuntimeWarning, stacklevel=2)
    return _found


def usable() -> Library | None:
    """The library when this process may call it now: found, switched on
    (``chainrule.backends.mkldnn.enabled``) and not a child forked after it started."""
    from ..backends import mkldnn as switch
    if not switch.enabled:
        return None
    lib = find()
    return lib if lib is not None and lib.pid == os.getpid() else None


class PlanCache:
    """Plans by configuration key, the least recently used dropped beyond ``size``; a key whose
    plan could not be built (oneDNN declined it) is remembered as None."""

    def __init__(self, size: int = 64):
        self.size = size
        self.plans: collections.OrderedDict = collections.OrderedDict()

    def get(self, key, build):
        if key in self.plans:
            self.plans.move_to_end(key)
            return self.plans[key]
        try:
            plan = build()
        except OneDNNError:
            plan = None
        self.plans[key] = plan
        if len(self.plans) > self.size:
            self.plans.popitem(last=False)
        return plan
