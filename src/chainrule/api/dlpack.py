"""DLPack: hand a tensor's memory to NumPy, PyTorch (or any DLPack consumer) and take theirs,
without copying.

    >>> import numpy as np, chainrule as cr
    >>> t = cr.zeros(3)
    >>> a = np.from_dlpack(t)        # the same memory: a write through one shows in the other
    >>> a[0] = 7.0; t[0].item()
    7.0
    >>> cr.from_dlpack(a)[1] = 5.0; t.tolist()
    [7.0, 5.0, 0.0]

Both directions delegate to the array underneath: ``Tensor.__dlpack__`` calls the
``__dlpack__`` of its NumPy array, and :func:`from_dlpack` lets ``numpy.from_dlpack`` consume
the producer. A CuPy array speaks the same protocol, so once tensors live on a GPU the same
code exports device memory (and :func:`from_dlpack` hands CUDA producers to ``cupy``); nothing
here is specific to NumPy beyond choosing the consumer.

What is refused or copied, and why:

* a tensor that requires grad: ``BufferError`` asking for ``.detach()`` first, as PyTorch 2.13
  does (the other side could change values autograd has saved, unseen);
* negative strides (``t.flip(0)``, ``t[::-1]``): PyTorch has no negative strides, and
  ``torch.from_dlpack`` of such a capsule kills the process (torch 2.13). So the export is a
  contiguous copy when the consumer allows one (``copy=None``, the default, or ``copy=True``),
  and a ``BufferError`` under ``copy=False``. Such a copy does not share memory;
* a read-only tensor (``expand``/``broadcast_to`` give one, stride 0 on the broadcast axes): it
  is exported read-only to a DLPack 1.0 consumer (one that passes ``max_version``, as NumPy
  and PyTorch 2.13 do). NumPy honours the flag; PyTorch 2.13 ignores it and gives a writable
  tensor whose writes land in the broadcast source, the same aliasing ``torch.expand`` has. A
  legacy consumer (no ``max_version``) cannot be told the memory is read-only: ``BufferError``;
* a 0-d tensor holding a NumPy scalar (what reductions return) has no buffer to share and is
  exported as a fresh 0-d array.

Writes made through the other side are not seen by autograd's version counter: exchange
values outside of a graph being recorded.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor

__all__ = ["from_dlpack"]

# DLPack's DLDeviceType codes (dlpack.h) that this module names in its messages.
_DEVICE_NAMES = {1: "cpu", 2: "cuda", 3: "cuda_host", 4: "opencl", 7: "vulkan", 8: "metal",
                 9: "vpi", 10: "rocm", 11: "rocm_host", 13: "cuda_managed", 14: "oneapi"}
_GPU_DEVICES = (2, 10)  # consumed by CuPy


def _describe(arr: Any) -> str:
    return f"shape {tuple(arr.shape)}, {np.dtype(arr.dtype).name}"


def _has_negative_strides(arr: Any) -> bool:
    return any(s < 0 for s in getattr(arr, "strides", ()))


def _is_read_only(arr: Any) -> bool:
    flags = getattr(arr, "flags", None)
    return flags is not None and not getattr(flags, "writeable", True)


def _exported_array(tensor: Tensor) -> Any:
    """The array to hand over: the tensor's own, or a 0-d array for a NumPy scalar."""
    arr = tensor._data
    return np.asarray(arr) if isinstance(arr, np.generic) else arr


def __dlpack__(self: Tensor, stream: Any = None, *, max_version: tuple[int, int] | None = None,
               dl_device: tuple[int, int] | None = None, copy: bool | None = None):
    """This tensor as a DLPack capsule for ``np.from_dlpack``/``torch.from_dlpack`` (the
    array API's ``__dlpack__``): the same memory, except for the copies and refusals listed
    in :mod:`chainrule.api.dlpack` (negative strides, read-only, requires grad)."""
    if self.requires_grad:
        raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
    arr = _exported_array(self)
    if _has_negative_strides(arr):
        if copy is False:
            raise BufferError(f"__dlpack__: this tensor ({_describe(arr)}) has negative strides "
                              f"{tuple(arr.strides)} (from flip or a [::-1] slice), which "
                              "DLPack consumers such as PyTorch cannot take; it can only be "
                              "exported as a copy (copy=None or copy=True); or "
                              "export .clone() instead")
        from ..backend import get_array_module
        arr = get_array_module(arr).ascontiguousarray(arr)  # documented copy, strides >= 0
        copy = None
    legacy = max_version is None or tuple(max_version)[0] < 1
    if legacy and copy is not True and _is_read_only(arr):
        raise BufferError(f"__dlpack__: this tensor ({_describe(arr)}) is read-only (expand "
                          "and broadcast_to give read-only views) and a consumer of DLPack "
                          "before 1.0 (no max_version) cannot be told so; export "
                          ".clone() instead, or use a consumer of DLPack 1.0 or newer")
    kwargs: dict[str, Any] = {}
    for name, value in (("stream", stream), ("max_version", max_version),
                        ("dl_device", dl_device), ("copy", copy)):
        if value is not None:  # older producers (CuPy < 13) take only some of these
            kwargs[name] = value
    return arr.__dlpack__(**kwargs)


def __dlpack_device__(self: Tensor) -> tuple[int, int]:
    """``(device_type, device_id)`` in DLPack's codes: ``(1, 0)`` for the CPU."""
    arr = self._data
    return (1, 0) if isinstance(arr, np.generic) else tuple(arr.__dlpack_device__())


class _Capsule:
    """Lets ``numpy.from_dlpack`` read a bare capsule (``torch.utils.dlpack.to_dlpack``):
    it offers the capsule through the protocol's two methods."""

    def __init__(self, capsule: Any):
        self.capsule = capsule

    def __dlpack__(self, **_: Any):
        return self.capsule

    def __dlpack_device__(self) -> tuple[int, int]:
        return (1, 0)  # numpy.from_dlpack checks the capsule's own device and refuses others


def _device_of(obj: Any) -> int:
    try:
        return int(obj.__dlpack_device__()[0])
    except (AttributeError, TypeError, IndexError, ValueError):
        return 1


def from_dlpack(ext_tensor: Any, *, copy: bool | None = None) -> Tensor:
    """A tensor sharing the memory of ``ext_tensor``: any object with ``__dlpack__`` (a NumPy
    array, a PyTorch tensor, a chainrule tensor) or a bare DLPack capsule, as
    ``torch.from_dlpack``. ``copy=True`` copies, ``copy=False`` refuses to. The result does not
    require grad; its dtype is the producer's. Read-only memory stays read-only, and so does a
    bare capsule's (legacy DLPack has no flag saying it may be written; NumPy reads it so)."""
    if type(ext_tensor).__name__ == "PyCapsule":
        ext_tensor = _Capsule(ext_tensor)
    elif not callable(getattr(ext_tensor, "__dlpack__", None)):
        raise TypeError(f"from_dlpack: expected an object with __dlpack__ (a NumPy array, a "
                        f"PyTorch tensor, ...) or a DLPack capsule, got "
                        f"{type(ext_tensor).__name__}")
    device = _device_of(ext_tensor)
    if device in _GPU_DEVICES:
        try:
            import cupy
        except ImportError:
            raise ImportError(f"from_dlpack: the producer's memory is on a "
                              f"{_DEVICE_NAMES[device]} device, which needs CuPy: install the "
                              "gpu extra: pip install 'chainrule[gpu]'") from None
        return Tensor._wrap(cupy.from_dlpack(ext_tensor), False, None)
    try:
        arr = np.from_dlpack(ext_tensor, copy=copy)
    except (BufferError, RuntimeError, TypeError, ValueError) as exc:
        where = _DEVICE_NAMES.get(device, f"DLPack device type {device}")
        raise type(exc)(f"from_dlpack: cannot read a {type(ext_tensor).__name__} on {where} "
                        f"through DLPack into a NumPy array: {exc}") from exc
    return Tensor._wrap(arr, False, None)


def _attach() -> None:
    Tensor.__dlpack__ = __dlpack__
    Tensor.__dlpack_device__ = __dlpack_device__


_attach()
