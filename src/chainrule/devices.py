"""``chainrule.device``: where a tensor's array lives, and moving arrays between devices.

A device is a type (``'cpu'`` or ``'cuda'``) and, for CUDA, an optional index: NumPy arrays are on
the CPU, CuPy arrays on ``cuda:N`` (N = the array's ``.device.id``). CuPy is imported here only
when a CUDA device is asked for; without it (or without a visible GPU) CUDA is refused with
:class:`CUDAUnavailableError`, never silently replaced by the CPU.
"""
from __future__ import annotations

import re
import sys
from typing import Any

import numpy as np

__all__ = ["device", "CUDAUnavailableError", "DeviceMismatchError", "as_device",
           "device_of_array", "move_array", "set_default_device", "get_default_device",
           "require_cuda", "is_device_like", "mixed_device_error", "defer_check",
           "raise_deferred", "item_checked"]

_TYPES = ("cpu", "cuda")
# device types PyTorch knows but chainrule has no backend for (named in the error, not accepted)
_FOREIGN = ("mps", "xpu", "hip", "xla", "meta", "mtia", "hpu", "ipu", "vulkan", "lazy", "ve",
            "fpga", "maia", "opengl", "opencl", "ideep", "mkldnn", "privateuseone")
_SPEC = re.compile(r"^([a-z_]+)(?::(\d+))?$")


class device:
    """A device: ``device('cpu')``, ``device('cuda')``, ``device('cuda:1')``, ``device('cuda', 1)``
    or ``device(other_device)``; ``.type`` and ``.index`` (None when not given), compared and
    hashed by both (so ``device('cuda') != device('cuda:0')`` and a device never equals a string,
    as in PyTorch)."""

    __slots__ = ("_type", "_index")

    def __init__(self, type: Any, index: int | None = None):  # noqa: A002 - PyTorch's name
        if isinstance(type, device):
            if index is not None:
                raise ValueError(f"device: {type!r} already names a device; an index cannot be "
                                 "passed with it")
            self._type, self._index = type._type, type._index
            return
        if isinstance(type, (int, np.integer)) and not isinstance(type, bool):
            type, index = "cuda", _check_index(type, type)  # a bare index means a CUDA device
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string such as 'cpu' or 'cuda:0', a device or "
                            f"an index, got {type!r} ({builtins_type(type).__name__})")
        match = _SPEC.match(type)
        if not match:
            raise ValueError(f"device: invalid device string {type!r}; expected 'cpu', 'cuda' or "
                             "'cuda:N' (N a non-negative index)")
        kind, given = match.group(1), match.group(2)
        if kind not in _TYPES:
            known = "not supported by chainrule" if kind in _FOREIGN else "unknown"
            raise ValueError(f"device: device type {kind!r} in {type!r} is {known}; "
                             "expected 'cpu' or 'cuda' (e.g. 'cuda:0')")
        if given is not None and index is not None:
            raise ValueError(f"device: {type!r} already has an index, so index={index!r} cannot "
                             "be passed as well")
        self._type = kind
        self._index = int(given) if given is not None else (
            None if index is None else _check_index(index, type))

    @property
    def type(self) -> str:
        return self._type

    @property
    def index(self) -> int | None:
        return self._index

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, device):
            return NotImplemented if not isinstance(other, str) else False
        return self._type == other._type and self._index == other._index

    def __hash__(self) -> int:
        return hash(("chainrule.device", self._type, self._index))

    def __str__(self) -> str:
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __repr__(self) -> str:
        if self._index is None:
            return f"device(type={self._type!r})"
        return f"device(type={self._type!r}, index={self._index})"

    def __reduce__(self):
        return (device, (self._type, self._index))

    def __enter__(self) -> "device":
        """``with chainrule.device('cpu'):`` makes this the default device inside the block (as
        :func:`set_default_device`; CUDA is checked now), restored on leaving it."""
        previous = _default[0]
        set_default_device(self)
        _entered.append(previous)
        return self

    def __exit__(self, *exc) -> None:
        _default[0] = _entered.pop()


builtins_type = type


def _check_index(index: Any, spec: Any) -> int:
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"device: the index must be an integer, got {index!r} (for {spec!r})")
    if index < 0:
        raise ValueError(f"device: the index must not be negative, got {index} (for {spec!r})")
    return int(index)


CPU = device("cpu")


def as_device(spec: Any) -> device:
    """``spec`` (a device, a string or a CUDA index) as a :class:`device`."""
    return spec if builtins_type(spec) is device else device(spec)


def is_device_like(value: Any) -> bool:
    """True for a device, or a string naming a device type chainrule or PyTorch knows."""
    if isinstance(value, device):
        return True
    if isinstance(value, str):
        kind = value.split(":", 1)[0]
        return kind in _TYPES or kind in _FOREIGN
    return False


# -- CUDA availability -------------------------------------------------------------------------
class CUDAUnavailableError(RuntimeError):
    """CUDA was asked for but cannot be used: the message says whether the CuPy package or a
    visible GPU is missing, and how to get it."""


class InvalidDeviceStringError(ValueError, RuntimeError):
    """A string that names no device where only a device may go (PyTorch raises RuntimeError)."""


class DeviceMismatchError(RuntimeError):
    """One op was given tensors on different devices."""


_INSTALL = ("install CuPy with the extra that fits your NVIDIA driver: "
            "pip install 'chainrule[gpu-cuda12]' for CUDA 12.x drivers (>= 525), or "
            "pip install 'chainrule[gpu-cuda13]' for CUDA 13 drivers (>= 580); "
            "`nvidia-smi` shows the driver version")


def _import_cupy():
    """Import CuPy (tests replace this to simulate a machine without it)."""
    import cupy
    return cupy


def _gpu_count(cupy) -> int:
    """How many GPUs CuPy sees; 0 when the driver or runtime cannot be reached."""
    try:
        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # noqa: BLE001 - CUDARuntimeError, a missing driver library, ...
        return 0


def cupy_status() -> tuple[Any, str | None]:
    """``(cupy, None)`` when CUDA is usable, else ``(cupy or None, why not)``; never raises."""
    try:
        cupy = _import_cupy()
    except Exception as exc:  # noqa: BLE001 - ImportError, or CuPy failing to load its libraries
        detail = "" if isinstance(exc, ModuleNotFoundError) else f" (importing it failed: {exc})"
        return None, f"the CuPy package is not installed{detail}; {_INSTALL}"
    if _gpu_count(cupy) == 0:
        return cupy, ("CuPy is installed but no GPU is visible (no NVIDIA driver loaded, or "
                      "CUDA_VISIBLE_DEVICES hides every GPU); check `nvidia-smi`")
    return cupy, None


def require_cuda(what: str = "CUDA", index: int | None = None):
    """CuPy, once CUDA (and GPU ``index`` when given) is usable; else :class:`CUDAUnavailableError`
    naming ``what`` asked and what is missing."""
    cupy, why = cupy_status()
    if why is not None:
        raise CUDAUnavailableError(f"{what}: CUDA is not available: {why}. chainrule never falls "
                                   "back to the CPU on its own; use device='cpu' to run there")
    if index is not None:
        count = _gpu_count(cupy)
        if index >= count:
            raise CUDAUnavailableError(f"{what}: there is no GPU cuda:{index}; {count} "
                                       f"GPU{'s are' if count != 1 else ' is'} visible "
                                       f"(cuda:0 to cuda:{count - 1})")
    if not _peak_hooked[0]:                 # the allocated high-water mark (cuda.py) from now on
        _peak_hooked[0] = True
        from . import _cuda_peak
        _cuda_peak.install(cupy)
    return cupy


_peak_hooked = [False]


# -- arrays ------------------------------------------------------------------------------------
def device_of_array(arr: Any) -> device:
    """The device an array lives on: the CPU for NumPy, ``cuda:N`` for a CuPy array."""
    if isinstance(arr, (np.ndarray, np.generic)):
        return CPU
    dev = getattr(arr, "device", None)
    index = getattr(dev, "id", None)
    if index is None:
        return CPU
    return device("cuda", int(index))


def move_array(arr: Any, dev: device, what: str = "to"):
    """``arr`` on ``dev`` (the same object when it is already there): device to host through
    ``.get()``, host to device through ``cupy.asarray`` under that GPU."""
    here = device_of_array(arr)
    if dev._type == "cpu":
        return arr if here._type == "cpu" else arr.get()
    index = 0 if dev._index is None else dev._index
    if here._type == "cuda" and here._index == index:
        return arr
    cupy = require_cuda(f"{what}({str(dev)!r})", index)
    with cupy.cuda.Device(index):
        return cupy.asarray(arr)


def mixed_device_error(op: str, arrays) -> DeviceMismatchError | None:
    """The error for an op whose array inputs are on more than one device, or None."""
    seen: list = []
    for a in arrays:
        if isinstance(a, np.generic) or not hasattr(a, "shape"):
            continue                          # Python and NumPy scalars go anywhere
        d = device_of_array(a)
        if d not in seen:
            seen.append(d)
    if len(seen) < 2:
        return None
    return DeviceMismatchError(f"{op}: expected all tensors to be on the same device, but found "
                               f"at least two devices, {seen[0]} and {seen[1]}; move them with "
                               ".to(device) first")


def check_same_device(op: str, arrays) -> None:
    """Raise :func:`mixed_device_error`'s error if there is one."""
    err = mixed_device_error(op, arrays)
    if err is not None:
        raise err


# -- the default device ------------------------------------------------------------------------
_default = [CPU]
_entered: list = []          # the default devices that `with device(...)` blocks replaced


def set_default_device(device: Any) -> None:
    """Make factories (``zeros``, ``randn``, ``tensor``, ...) without ``device=`` create tensors on
    ``device`` (``None`` means the CPU again). CUDA is checked now, so a missing GPU fails here."""
    dev = CPU if device is None else as_device(device)
    if dev._type == "cuda":
        require_cuda(f"set_default_device({str(dev)!r})", dev._index or 0)
    _default[0] = dev


def get_default_device() -> device:
    """The device factories use when given no ``device=`` (the CPU unless changed)."""
    return _default[0]


def resolve(dev: Any) -> device | None:
    """The device a factory should place its result on, or None for 'leave it on the CPU'."""
    if dev is None:
        dev = _default[0]
        return None if dev is CPU or dev._type == "cpu" else dev
    dev = as_device(dev)
    return None if dev._type == "cpu" else dev


def loaded_cupy():
    """CuPy if something has imported it already, else None (never imports it)."""
    return sys.modules.get("cupy")


def parse_to_args(what: str, args: tuple, kwargs: dict) -> tuple[device | None, Any, bool]:
    """``(device, dtype, copy)`` from the forms ``to(dtype)``, ``to(device, dtype)``,
    ``to(tensor)`` and their keywords (``device=``, ``dtype=``, ``non_blocking=``, ``copy=``,
    ``memory_format=``); None where a form leaves something unchanged."""
    unknown = set(kwargs) - {"device", "dtype", "non_blocking", "copy", "memory_format"}
    if unknown:
        raise TypeError(f"{what}: unexpected keyword argument(s) {sorted(unknown)}")
    dev, dtype, flags = kwargs.get("device"), kwargs.get("dtype"), []
    rest = list(args)
    if rest and hasattr(rest[0], "_data") and hasattr(rest[0], "grad_fn"):   # a Tensor
        other = rest.pop(0)
        dev, dtype = other.device, other.dtype
    elif rest and (rest[0] is None or isinstance(rest[0], (str, device)) or (
            isinstance(rest[0], (int, np.integer)) and not isinstance(rest[0], bool))):
        dev = rest.pop(0)                   # to(None, dtype) is to(dtype), as in PyTorch
        if isinstance(dev, str) and not is_device_like(dev):
            raise InvalidDeviceStringError(
                f"{what}: {dev!r} is not a device (a string passed to .to() always names one: "
                "'cpu', 'cuda', 'cuda:N'); for a dtype pass chainrule.float64 and the like")
        if rest and not isinstance(rest[0], bool):
            dtype = rest.pop(0)
    elif rest and not isinstance(rest[0], bool):
        dtype = rest.pop(0)
    for value in rest:
        if not isinstance(value, bool):
            raise TypeError(f"{what}: unexpected positional argument {value!r}; expected "
                            "to(dtype), to(device, dtype), to(tensor), then non_blocking, copy")
        flags.append(value)
    if len(flags) > 2:
        raise TypeError(f"{what}: too many positional arguments {args!r}")
    copy = bool(kwargs.get("copy", flags[1] if len(flags) > 1 else False))
    return (None if dev is None else as_device(dev)), dtype, copy


# -- checks deferred to the next sync ------------------------------------------------------------
# On a GPU a check such as "every target is a valid class" would stall the step waiting for the
# device; it is computed on the device instead (a 0-d bool array, True = failed) and read at the
# next point that synchronises anyway (``Tensor.item()``, ``bool()``, ``cuda.synchronize()``).
# Flags with the same message are OR-ed together on the device, so the list stays short.
_pending: dict = {}


def defer_check(failed: Any, message: str) -> None:
    """Remember device flag ``failed`` (0-d bool array); ``message`` is raised (IndexError) at the
    next sync if it turned out True."""
    before = _pending.get(message)
    _pending[message] = failed if before is None else (before | failed)


def raise_deferred() -> None:
    """Read every pending flag (one transfer) and raise the first failed check's message."""
    if not _pending:
        return
    items = list(_pending.items())
    _pending.clear()
    cupy = sys.modules["cupy"]
    flags = cupy.stack([f.reshape(()) for _, f in items]).get()
    for (message, _), failed in zip(items, flags):
        if failed:
            raise IndexError(message)


def item_checked(arr: Any):
    """``arr.item()`` for a one-element device array, reading the pending checks' flags in the
    same transfer; raises the first failed check's message."""
    items = list(_pending.items())
    _pending.clear()
    cupy = sys.modules["cupy"]
    if arr.dtype.kind not in "fb":            # integers keep their precision: two reads
        value = arr.reshape(()).item()
        _pending.update(items)
        raise_deferred()
        return value
    packed = cupy.concatenate([arr.reshape(1).astype(np.float64)]
                              + [f.reshape(1).astype(np.float64) for _, f in items]).get()
    for (message, _), failed in zip(items, packed[1:]):
        if failed:
            raise IndexError(message)
    return bool(packed[0]) if arr.dtype.kind == "b" else float(arr.dtype.type(packed[0]))
