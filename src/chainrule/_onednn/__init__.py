"""oneDNN (Intel's deep-learning primitives library) as an optional engine for convolution and
max pooling on the CPU: :mod:`.library` binds its C API through ctypes, :mod:`.conv` runs
convolutions and their gradients on it, :mod:`.pool` max pooling. Installed by the ``onednn``
extra (``onednn-cpu-gomp``); absent, or off (``chainrule.backends.mkldnn.enabled``), every
convolution and pooling takes the NumPy path."""
from . import library as _library
from .conv import enabled
from .library import OneDNNError, find

__all__ = ["enabled", "find", "OneDNNError", "info"]


def info() -> dict:
    """Whether oneDNN is found and used, its version and its path, and why an installed one
    did not load."""
    lib = find()
    return {"found": lib is not None, "enabled": enabled(),
            "version": lib.version if lib else None, "path": lib.path if lib else None,
            "load_error": _library.load_error}
