"""PyTorch's ``layout=`` and ``pin_memory=`` factory keywords.

chainrule's tensors are dense arrays, so the one layout is ``chainrule.strided`` (PyTorch's name
for dense, strided storage); any other value passed as ``layout=`` is a clear error.
``pin_memory=True`` makes the result live in page-locked host memory when CUDA is usable, and is
PyTorch's RuntimeError on a machine without an accelerator (as its CPU build does).
"""
from __future__ import annotations

__all__ = ["layout", "strided", "check_layout", "pin_result"]


class layout:  # noqa: N801 - PyTorch's name
    """A storage-layout marker; chainrule has one, :data:`strided`."""

    __slots__ = ("_name",)

    def __init__(self, name: str):
        self._name = name

    def __repr__(self) -> str:
        return f"chainrule.{self._name}"


strided = layout("strided")

_NO_PINNING = ("pin_memory=True requires a CUDA or other accelerator backend; no pinned memory "
               "allocator is available on this system.")


def check_layout(value, op: str) -> None:
    """TypeError unless ``value`` is None or a layout; ValueError for a layout other than
    :data:`strided` (sparse and other layouts do not exist here)."""
    if value is None or value is strided:
        return
    if not isinstance(value, layout):
        raise TypeError(f"{op}(): argument 'layout' must be a layout such as chainrule.strided, "
                        f"not {type(value).__name__}")
    raise ValueError(f"{op}(): layout={value!r} is not supported; chainrule's tensors are dense "
                     "(layout=chainrule.strided only)")


def pin_result(t, op: str):
    """``t`` (a new CPU tensor) moved into page-locked host memory: PyTorch's ``pin_memory=True``.
    RuntimeError without CUDA (PyTorch's message) or for a tensor already on a GPU."""
    from . import backend, devices
    if devices.cupy_status()[1] is not None:
        raise RuntimeError(f"{op}(): {_NO_PINNING}")
    if t.device != devices.CPU:
        raise RuntimeError(f"{op}(): only dense CPU tensors can be pinned; this one is on "
                           f"{t.device} (drop pin_memory=True or device=)")
    t._data = backend.cuda_kernels("transfer").pinned_copy(t._data)
    return t
