"""The one seam between NumPy and CuPy, the default dtype and the seeded generator.

Every op asks :func:`get_array_module` for ``xp`` instead of importing NumPy or CuPy itself, so
the same forward and backward code runs on either. CuPy is never imported unless a CuPy array
reaches this module, so NumPy stays the only hard dependency.
"""
from __future__ import annotations

import sys
from typing import Any

import numpy as np

__all__ = [
    "get_array_module", "op_array_module", "is_array", "get_default_dtype", "set_default_dtype",
    "manual_seed", "default_generator", "get_rng_state", "set_rng_state", "retain_freed_memory",
    "update_kernels", "register_cpu_updates", "cuda_kernels", "device_operands",
]

_default_dtype = np.dtype(np.float32)


def get_array_module(*arrays: Any):
    """Return ``cupy`` if any argument is a CuPy array, else ``numpy``."""
    cupy = sys.modules.get("cupy")
    if cupy is not None:
        for a in arrays:
            if isinstance(a, cupy.ndarray):
                return cupy
    return np


def op_array_module(op: str, *arrays: Any):
    """:func:`get_array_module` for the inputs of op ``op``, which must share one device: an
    error naming the op and two of the devices otherwise. Called only once CuPy is loaded, so
    the CPU path never pays for the check."""
    cupy = sys.modules.get("cupy")
    if cupy is not None:
        for a in arrays:
            if isinstance(a, cupy.ndarray):
                from .devices import check_same_device
                check_same_device(op, arrays)
                return cupy
    return np


# -- device-specific kernels -------------------------------------------------------------------
_cpu_updates: list = []


def register_cpu_updates(module: Any) -> None:
    """Name the CPU's optimizer-update kernels (``optim/_axpy``, BLAS ``axpy``/``axpby``); called
    by that module on import, so this lower layer never imports the optimizers."""
    _cpu_updates[:] = [module]


def update_kernels(array: Any):
    """The optimizer-update kernels for ``array``'s device: on the CPU the BLAS ``axpy_`` /
    ``axpby_`` module, on CUDA :mod:`chainrule._cuda_kernels.optim_updates` (those two plus
    one fused kernel per optimizer: ``sgd_``, ``adam_``, ``rmsprop_``, ...)."""
    if type(array) is np.ndarray or get_array_module(array) is np:
        if not _cpu_updates:
            import importlib
            importlib.import_module("chainrule.optim._axpy")   # registers itself
        return _cpu_updates[0]
    return cuda_kernels("optim_updates")


def cuda_kernels(name: str):
    """The CUDA kernel module ``chainrule._cuda_kernels.<name>`` (imported on first use; only
    ever reached with CuPy arrays in hand)."""
    import importlib
    return importlib.import_module(f"chainrule._cuda_kernels.{name}")


def device_operands(op: str, arrays):
    """``(xp, arrays)`` for the inputs of op ``op`` once CuPy is loaded: with a CuPy array among
    them, CPU 0-d arrays become Python scalars (PyTorch lets a CPU scalar tensor join a CUDA
    op) and any other mix of devices is an error naming the op and two devices."""
    cupy = sys.modules.get("cupy")
    if cupy is None or not any(isinstance(a, cupy.ndarray) for a in arrays):
        return np, arrays
    if any(type(a) is np.ndarray and a.ndim == 0 for a in arrays):
        arrays = [a.item() if type(a) is np.ndarray and a.ndim == 0 else a for a in arrays]
    from .devices import check_same_device
    check_same_device(op, arrays)
    return cupy, arrays


def as_result(x: Any) -> Any:
    """An op's raw result as an array: NumPy and CuPy arrays as they are (no host copy), NumPy
    scalars and Python values as 0-d NumPy arrays."""
    return x if is_array(x) else np.asarray(x)


def is_array(x: Any) -> bool:
    """True for a NumPy array or, when CuPy is loaded, a CuPy array."""
    if isinstance(x, np.ndarray):
        return True
    cupy = sys.modules.get("cupy")
    return cupy is not None and isinstance(x, cupy.ndarray)


def get_default_dtype() -> np.dtype:
    """The dtype Python floats and float constructors produce (float32 unless changed)."""
    return _default_dtype


def set_default_dtype(dtype) -> None:
    """Set the default floating dtype; only float32 and float64 are allowed, as in PyTorch."""
    global _default_dtype
    d = np.dtype(dtype)
    if d not in (np.float32, np.float64):
        raise TypeError(f"set_default_dtype: only float32 and float64 are supported, got {d}")
    _default_dtype = d


_generator = np.random.Generator(np.random.PCG64(0))
_initial_seed = 0
_seed = [0]                   # the last manual_seed, which each GPU's generator starts from
_gpu_seeded: set = set()      # GPUs whose generator has been seeded since then


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the one generator behind every random constructor, initialiser and dropout mask."""
    global _generator, _initial_seed
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative integer, got {seed!r}")
    _generator = np.random.Generator(np.random.PCG64(int(seed)))
    _initial_seed = int(seed)
    _seed[0] = int(seed)
    _gpu_seeded.clear()
    cupy = sys.modules.get("cupy")             # the GPU's generator too, once CuPy is in use
    if cupy is not None and hasattr(cupy, "random"):
        from .cuda import manual_seed_all
        manual_seed_all(int(seed))
    return _generator


def initial_seed() -> int:
    """The seed last given to :func:`manual_seed` (0 before any)."""
    return _initial_seed


def set_initial_seed(seed: int) -> None:
    """Record ``seed`` as the default generator's seed (a state restored with its own seed)."""
    global _initial_seed
    _initial_seed = int(seed)


def default_generator() -> np.random.Generator:
    """The generator random ops draw from (replaced by :func:`manual_seed`)."""
    return _generator


def mark_gpu_seeded(index: int) -> None:
    """Note that GPU ``index``'s generator was seeded directly (``cuda.manual_seed``)."""
    _gpu_seeded.add(int(index))


def gpu_generator(index: int = 0):
    """CuPy's generator for GPU ``index``, seeded from the last :func:`manual_seed` on its first
    use (so the same seed on the same GPU gives the same draws, whenever CuPy was loaded)."""
    cupy = sys.modules["cupy"]
    with cupy.cuda.Device(index):
        if index not in _gpu_seeded:
            cupy.random.seed(_seed[0])
            _gpu_seeded.add(index)
        return cupy.random.get_random_state()


def random_like(like: Any, kind: str, shape, dtype):
    """Draws on ``like``'s device: ``kind`` 'random' (uniform [0, 1)) or 'standard_normal', from
    the CPU generator for NumPy, from the GPU's own generator for CuPy (no host copy)."""
    if type(like) is np.ndarray or get_array_module(like) is np:
        return getattr(_generator, kind)(shape, dtype=dtype)
    return random_on(like.device.id, kind, shape, dtype)


def random_on(index: int, kind: str, shape, dtype):
    """Draws made on GPU ``index`` by its generator (see :func:`random_like`)."""
    state = gpu_generator(index)
    cupy = sys.modules["cupy"]
    with cupy.cuda.Device(index):
        if kind == "random":
            return state.random_sample(shape, dtype=dtype)
        return state.standard_normal(shape, dtype=dtype)


def get_rng_state() -> dict:
    """The generator's state as a JSON-serialisable dict (for checkpoints and exact resume)."""
    return _generator.bit_generator.state


def set_rng_state(new_state: dict) -> None:
    """Restore a state taken with :func:`get_rng_state`."""
    _generator.bit_generator.state = new_state


# -- host memory ------------------------------------------------------------------------------------
# A training step allocates and frees the same large arrays (activations, gradients, im2col
# columns) every iteration. glibc's malloc serves arrays above a threshold with fresh mmap calls,
# and returns freed memory at the top of its heap to the OS; both mean the next step touches
# brand-new pages, and every page costs a fault plus zeroing in the kernel (measured: a 1,000-op
# chain on 64×64 tensors 21 → 12 µs/op, about a fifth of the small CNN's step). Keeping freed
# memory in the process for reuse is what PyTorch's caching allocator does for its tensors.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3       # mallopt parameter numbers (glibc malloc.h)
_RETAIN = {_M_MMAP_THRESHOLD: 64 << 20, _M_TRIM_THRESHOLD: 1 << 30}
_GLIBC_DEFAULT = {_M_MMAP_THRESHOLD: 128 << 10, _M_TRIM_THRESHOLD: 128 << 10}


def retain_freed_memory(enabled: bool = True) -> bool:
    """Ask glibc's malloc to keep freed memory for reuse (arrays up to 64 MiB from the heap, the
    heap trimmed only beyond 1 GiB free) — applied when chainrule is imported; ``False`` restores
    glibc's defaults. Returns whether the setting took effect (False off glibc, e.g. macOS)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None:
        return False
    values = _RETAIN if enabled else _GLIBC_DEFAULT
    return all(mallopt(param, value) == 1 for param, value in values.items())
