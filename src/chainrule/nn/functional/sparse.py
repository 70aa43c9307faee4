"""embedding: a lookup table read by integer indices (its gradient scatter-adds into the rows)."""
from __future__ import annotations

import numpy as np

from ... import backend, devices, ops
from ...api.indexing import one_hot  # PyTorch keeps it in nn.functional; not differentiable
from ...tensor import Tensor

__all__ = ["embedding", "one_hot"]


def embedding(input, weight: Tensor, padding_idx: int | None = None, max_norm=None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Tensor:
    """y[…] = W[i[…]] for integer indices i and a table W (num_embeddings, dim);
    ∂L/∂W[k] = Σ over the positions where i = k of ∂L/∂y — except the ``padding_idx`` row,
    which gets no gradient."""
    idx = input._data if isinstance(input, Tensor) else input
    idx = idx if backend.is_array(idx) else np.asarray(idx)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {np.dtype(idx.dtype).name}")
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: max_norm, scale_grad_by_freq and sparse are not "
                                  "supported")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got "
                         f"shape {tuple(weight.shape)}")
    n = weight.shape[0]
    if idx.size and type(idx) is not np.ndarray:     # checked on the device, read at a sync
        devices.defer_check(((idx < 0) | (idx >= n)).any(), f"embedding: an index is out of range "
                            f"for a table of {n} rows; found on the GPU and reported at this sync")
    elif idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx[(idx < 0) | (idx >= n)].flat[0]
        raise IndexError(f"embedding: index {bad} is out of range for a table of {n} rows")
    out = ops.getitem(weight, idx.astype(np.intp, copy=False))
    if padding_idx is not None:
        pad = padding_idx % n if -n <= padding_idx < n else None
        if pad is None:
            raise ValueError(f"embedding: padding_idx {padding_idx} is out of range for {n} rows")
        at_pad = (idx == pad)[..., None]
        # those rows are read as constants: no gradient reaches W[padding_idx]
        if type(at_pad) is not np.ndarray or at_pad.any():
            const = Tensor._wrap(backend.get_array_module(weight._data).broadcast_to(
                weight._data[pad], out.shape), False, None)
            out = ops.where(at_pad, const, out)
    return out
