"""``meshgrid``: coordinate grids from 1-D tensors, as broadcast views of each input, so the
gradient of input i is ∂L/∂zᵢ summed over every dim but its own."""
from __future__ import annotations

import warnings

from .. import ops
from ..tensor import Tensor

__all__ = ["meshgrid"]


def meshgrid(*tensors, indexing: str | None = None) -> tuple:
    """Grids of shape (len(t₁), …, len(tₙ)) with 'ij' indexing (PyTorch's default, which warns
    when it is not named, as PyTorch does); 'xy' swaps the first two dims (NumPy's and
    MATLAB's layout). 0-d tensors count as one element."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("meshgrid: pass indexing='ij' (the default used now) or 'xy'; PyTorch "
                      "will require the argument in an upcoming release", UserWarning,
                      stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if not tensors:
        raise RuntimeError("meshgrid: expects a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"meshgrid: argument {i} must be a Tensor, not {type(t).__name__}")
        if t.ndim > 1:
            raise RuntimeError(f"meshgrid: expects 0-d or 1-d tensors, got shape "
                               f"{tuple(t.shape)} at position {i}")
        if t.dtype != tensors[0].dtype:
            raise RuntimeError(f"meshgrid: expects all tensors to have the same dtype, got "
                               f"{str(tensors[0].dtype).removeprefix('chainrule.')} and {str(t.dtype).removeprefix('chainrule.')}")
    sizes = [int(t._data.size) for t in tensors]
    swap = indexing == "xy" and len(tensors) > 1
    if swap:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    shape = tuple(sizes)
    out = []
    for i, t in enumerate(tensors):
        axis = (1 - i if i < 2 else i) if swap else i
        view = [1] * len(shape)
        view[axis] = -1
        out.append(ops.broadcast_to(ops.reshape(t, tuple(view)), shape))
    return tuple(out)
