"""Tensors to and from safetensors bytes through the ``safetensors`` package (the ``io`` extra,
imported on first use), with its errors turned into ones that name the tensor or the file."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import CheckpointError
from .header import METADATA

__all__ = ["to_bytes", "from_bytes"]


def _package():
    """The package's error type and its NumPy front end."""
    try:
        from safetensors import SafetensorError
        from safetensors import numpy as st_numpy
    except ImportError:
        raise ImportError("checkpoints need the safetensors package: "
                          "pip install 'chainrule[io]'") from None
    return SafetensorError, st_numpy


def to_bytes(arrays: dict, metadata: dict) -> bytes:
    """A safetensors file of ``arrays`` (name -> ndarray) with ``metadata`` (str -> str)."""
    error, st = _package()
    # the package copies raw memory, so a Fortran-ordered or strided array must be made C-ordered
    # first (np.ascontiguousarray would turn a 0-d array into a 1-d one)
    arrays = {name: np.asarray(a, order="C") for name, a in arrays.items()}
    try:
        return st.save(arrays, metadata=metadata)
    except error as exc:  # its message names the dtype but not the tensor
        names = [k for k, a in arrays.items() if f'"{a.dtype.name}"' in str(exc)]
        which = f"tensor {names[0]!r}" if names else "a tensor"
        raise TypeError(f"save: {which} cannot be stored by safetensors ({exc})") from None


def from_bytes(raw: bytes, header: dict, path: Path) -> dict:
    """Writable NumPy arrays of every tensor in ``raw``, whose ``header`` has been read."""
    error, st = _package()
    try:
        arrays = st.load(raw)
    except KeyError as exc:  # a safetensors dtype that NumPy lacks (BF16, the F8s)
        dtype = exc.args[0]
        names = [k for k, e in header.items() if k != METADATA and e["dtype"] == dtype]
        which = f"tensor {names[0]!r}" if names else "a tensor"
        raise CheckpointError(f"load: {path}: {which} has dtype {dtype!r}, which is not "
                              "supported by NumPy") from None
    except (error, ValueError, TypeError) as exc:
        raise CheckpointError(f"load: {path} is not a valid safetensors file ({exc})") from None
    return {name: a if a.flags.writeable else a.copy() for name, a in arrays.items()}
