"""``--device cpu|cuda|cuda:N|auto`` for train, evaluate and predict: parsing and resolving.

``auto`` means CUDA when it is usable and the CPU otherwise; an explicit ``cuda`` on a machine
without it is a one-line error saying what is missing (never a quiet run on the CPU).
"""
from __future__ import annotations

import argparse

from .errors import CLIError

__all__ = ["device_arg", "resolve_device", "DEVICE_HELP"]

DEVICE_HELP = ("where to compute: cpu, cuda (or cuda:N) or auto (cuda when a GPU and CuPy are "
               "there, else cpu)")


def device_arg(text: str) -> str:
    """argparse type: 'cpu', 'cuda', 'cuda:N' or 'auto', as given."""
    from ..devices import device
    if text == "auto":
        return text
    try:
        device(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected cpu, cuda, cuda:N or auto, got {text!r}") \
            from None
    return text


def resolve_device(text: str | None, flag: str = "--device"):
    """The :class:`chainrule.device` that ``text`` asks for, CUDA checked to be usable."""
    from .. import cuda
    from ..devices import CUDAUnavailableError, device, require_cuda
    if text in (None, "cpu"):
        return device("cpu")
    if text == "auto":
        return device("cuda") if cuda.is_available() else device("cpu")
    try:
        dev = device(text)
    except (TypeError, ValueError) as exc:
        raise CLIError(f"{flag}: {exc}") from None
    if dev.type == "cuda":
        try:
            require_cuda(f"{flag} {text}", dev.index or 0)
        except CUDAUnavailableError as exc:
            why = str(exc).split(". chainrule never falls back")[0]
            raise CLIError(f"{why}; pass --device cpu (or auto) to run on the CPU") from None
    return dev
