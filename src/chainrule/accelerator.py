"""``chainrule.accelerator``: the device-neutral view PyTorch offers (``torch.accelerator``).

chainrule's only accelerator is CUDA (through CuPy). On a machine without it this answers as
PyTorch's CPU build does: not available, no current accelerator, a count of 0.
"""
from __future__ import annotations

from . import cuda as _cuda
from .devices import device

__all__ = ["is_available", "current_accelerator", "device_count", "current_device_index",
           "synchronize"]


def is_available() -> bool:
    """True when a CUDA GPU can be used."""
    return _cuda.is_available()


def current_accelerator(check_available: bool = False) -> device | None:
    """``device(type='cuda')`` when CUDA is usable, else None."""
    return device("cuda") if _cuda.is_available() else None


def device_count() -> int:
    """The number of usable accelerators (GPUs), 0 when there is none."""
    return _cuda.device_count()


def current_device_index() -> int:
    """The index of the current GPU (raises without one)."""
    return _cuda.current_device()


def synchronize(device=None) -> None:
    """Wait for the GPU's queued work (raises without one)."""
    _cuda.synchronize(device)
