"""``chainrule.backends.mkldnn``: PyTorch's switch for oneDNN (formerly MKL-DNN), which here has
effect: with the ``onednn`` extra installed, float32 convolutions on the CPU run on oneDNN's
primitives unless ``enabled`` is set to False (then they take the NumPy im2col + GEMM path)."""
from __future__ import annotations

import contextlib

enabled: bool = True


def is_available() -> bool:
    """Whether oneDNN's library was found (the ``onednn`` extra, ``onednn-cpu-gomp``)."""
    from .._onednn.library import find
    return find() is not None


@contextlib.contextmanager
def flags(enabled: bool = False):
    """Set ``enabled`` inside the block, restoring it after (PyTorch's context manager)."""
    global_module = globals()
    before = global_module["enabled"]
    global_module["enabled"] = bool(enabled)
    try:
        yield
    finally:
        global_module["enabled"] = before
