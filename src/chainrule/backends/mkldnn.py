"""``chainrule.backends.mkldnn``: PyTorch's switch for oneDNN (formerly MKL-DNN), which here has
effect: with the ``onednn`` extra installed, float32 convolutions on the CPU run on oneDNN's
primitives unless ``enabled`` is set to False (then they take the NumPy im2col + GEMM path)."""
from __future__ import annotations

import contextlib

enabled: bool = True
deterministic: bool = False   # PyTorch's flag; oneDNN's convolutions here are deterministic


def is_available() -> bool:
    """Whether oneDNN's library was found (the ``onednn`` extra, ``onednn-cpu-gomp``)."""
    from .._onednn.library import find
    return find() is not None


@contextlib.contextmanager
def flags(enabled: bool = False, deterministic: bool = False, allow_tf32: bool = True,
          fp32_precision: str = "none"):
    """Set ``enabled`` (and ``deterministic``) inside the block, restoring them after (PyTorch's
    context manager and defaults; ``allow_tf32`` and ``fp32_precision`` have no effect: float32
    convolutions here are always full float32)."""
    names = globals()
    before = names["enabled"], names["deterministic"]
    names["enabled"], names["deterministic"] = bool(enabled), bool(deterministic)
    try:
        yield
    finally:
        names["enabled"], names["deterministic"] = before
