"""``chainrule.backends``: PyTorch's backend switches, so scripts that set or query them run.

chainrule computes with NumPy (or CuPy): there is no cuDNN, no MPS and no TF32 path, so every
switch here is a plain settable attribute with PyTorch's default and **no effect**:
``backends.cudnn.benchmark`` / ``deterministic`` / ``enabled`` / ``allow_tf32``,
``backends.cuda.matmul.allow_tf32``, ``backends.mps.is_available()`` (always False),
``backends.cudnn.is_available()`` (False: CuPy 14 has no cuDNN). Matmuls are always full
float32/float64 precision, and results do not depend on ``benchmark``. One switch has effect:
``backends.mkldnn.enabled`` (with ``is_available()``) turns oneDNN convolutions on and off
where the ``onednn`` extra is installed.
"""
from __future__ import annotations

from . import cuda, cudnn, mkldnn, mps  # noqa: F401

__all__ = ["cuda", "cudnn", "mkldnn", "mps"]
