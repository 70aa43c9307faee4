"""Reading parts of a tensor along one dim, with PyTorch's names: narrow, select, unbind,
repeat_interleave.

All are indexing, so the gradient is ∂L/∂z put back where each element was read (repeated reads
add up); every ``dim`` goes through :func:`~chainrule.api._args.normalize_dim`.
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..tensor import Tensor
from ._args import int_arg, normalize_dim

__all__ = ["narrow", "select", "unbind", "repeat_interleave"]


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """input[..., start:start + length, ...] along ``dim`` (a negative start counts from the
    end)."""
    if input.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = normalize_dim(dim, input.ndim, "narrow")
    start, length = int_arg(start, "narrow", "start"), int_arg(length, "narrow", "length")
    n = input.shape[d]
    if not -n <= start <= n:
        raise IndexError(f"narrow: start out of range (expected to be in range of [{-n}, {n}], "
                         f"but got {start})")
    start = start + n if start < 0 else start
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if start + length > n:
        raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension size "
                           f"({n}).")
    return ops.getitem(input, (slice(None),) * d + (slice(start, start + length),))


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """input[..., index, ...] along ``dim``: that dim removed."""
    d = normalize_dim(dim, input.ndim, "select")
    if input.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    i = int_arg(index, "select", "index")
    n = input.shape[d]
    if not -n <= i < n:
        raise IndexError(f"select(): index {i} out of range for tensor of size "
                         f"{list(input.shape)} at dimension {d}")
    return ops.getitem(input, (slice(None),) * d + (i + n if i < 0 else i,))


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim``, that dim removed: (select(input, dim, 0), …)."""
    d = normalize_dim(dim, input.ndim, "unbind", wrap_scalar=False)
    return tuple(select(input, d, i) for i in range(input.shape[d]))


def repeat_interleave(input, repeats=None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Each entry along ``dim`` repeated ``repeats`` times (an int, or one count per entry); the
    flattened tensor when dim is None. With a single tensor argument, its entries are counts and
    the result is arange(len) repeated by them."""
    if repeats is None:  # repeat_interleave(counts): the indices repeated by the counts
        counts = np.asarray(input._data if isinstance(input, Tensor) else input)
        input, repeats, dim = Tensor._wrap(np.arange(counts.size, dtype=np.int64), False,
                                           None), counts, 0
    if dim is None:
        input, d = ops.reshape(input, (-1,)), 0
    else:
        d = normalize_dim(dim, input.ndim, "repeat_interleave")
        if input.ndim == 0:
            raise IndexError("repeat_interleave: a 0-d tensor has no dim to repeat along "
                             "(pass dim=None)")
    n = input.shape[d]
    if isinstance(repeats, Tensor):
        repeats = repeats._data
    if isinstance(repeats, (bool, np.bool_)) or isinstance(repeats, float):
        raise TypeError(f"repeat_interleave(): repeats must be an int or an int tensor, got "
                        f"{type(repeats).__name__}")
    counts = np.asarray(repeats)
    if counts.dtype.kind not in "iu":
        raise TypeError(f"repeat_interleave(): repeats must be integers, got dtype {np.dtype(counts.dtype).name}")
    if counts.ndim > 1 or (counts.ndim == 1 and counts.size not in (1, n)):
        raise RuntimeError(f"repeat_interleave: repeats must have the same size as input along "
                           f"dim, but got repeats.size(0) = {counts.size} and input.size({d}) = "
                           f"{n}")
    if (counts < 0).any():
        raise RuntimeError("repeat_interleave: Repeats must be non-negative")
    idx = np.repeat(np.arange(n), np.broadcast_to(counts.reshape(-1), (n,)))
    if output_size is not None and int(output_size) != idx.size:
        raise RuntimeError(f"repeat_interleave: output_size {output_size} does not match the "
                           f"{idx.size} entries the repeats give")
    return ops.getitem(input, (slice(None),) * d + (idx,))
