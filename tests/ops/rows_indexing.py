"""Op-table rows for indexing (issue #3): ``x[index]`` in its basic and advanced forms, gather,
scatter_add, index_select, masked_fill, take_along_dim, one_hot.

Index arguments (slices, integer and boolean arrays, gather's and scatter_add's index) are drawn
by hypothesis into the keyword arguments, always in range and often with repeats; the PyTorch
side turns arrays into tensors. Negative steps, which PyTorch lacks, are compared with flip.
"""
from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
from tests.optable import Op, MAX_SIDE

TF = torch.nn.functional


def _torch_index(index):
    """The same index for PyTorch: NumPy arrays become tensors."""
    if isinstance(index, tuple):
        return tuple(_torch_index(p) for p in index)
    if isinstance(index, np.ndarray):
        return torch.from_numpy(index)
    return index


def _getitem_cr(x, index):
    return x[index]


def _getitem_torch(x, index):
    return x[_torch_index(index)]


# -- x[index] ---------------------------------------------------------------------------------------
@st.composite
def _basic_index(draw):
    """Ints (negative too), slices with positive steps, None and Ellipsis."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=MAX_SIDE))
    parts = []
    for n in shape:
        kind = draw(st.sampled_from(["int", "slice", "all"]))
        if kind == "int":
            parts.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            start = draw(st.one_of(st.none(), st.integers(-n, n - 1)))
            stop = draw(st.one_of(st.none(), st.integers(-n, n)))
            parts.append(slice(start, stop, draw(st.one_of(st.none(), st.integers(1, 3)))))
        else:
            parts.append(slice(None))
    if draw(st.booleans()):  # a new axis somewhere
        parts.insert(draw(st.integers(0, len(parts))), None)
    if draw(st.booleans()):  # an Ellipsis standing for the leading run of full slices
        m = 0
        while m < len(parts) and parts[m] == slice(None):
            m += 1
        parts = [Ellipsis] + parts[m:]
    return [shape], {"index": tuple(parts)}


@st.composite
def _negative_steps(draw):
    """Reversed slices x[::-s] on some axes; PyTorch (no negative steps) flips then slices."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=MAX_SIDE))
    steps = tuple(draw(st.sampled_from([1, -1, -2, 2, -3])) for _ in shape)
    return [shape], {"steps": steps}


def _neg_cr(x, steps):
    return x[tuple(slice(None, None, s) for s in steps)]


def _neg_torch(x, steps):
    flipped = [d for d, s in enumerate(steps) if s < 0]
    if flipped:
        x = x.flip(flipped)
    return x[tuple(slice(None, None, abs(s)) for s in steps)]


@st.composite
def _int_arrays(draw):
    """One or two integer-array indices (with repeats, negative entries), maybe a slice between."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=MAX_SIDE))
    k = draw(st.integers(1, 5))
    ishape = draw(st.sampled_from([(k,), (1, k), (2, k)]))

    def arr(n):
        return draw(hnp.arrays(np.int64, ishape, elements=st.integers(-n, n - 1)))

    first = arr(shape[0])
    if len(shape) == 1 or draw(st.booleans()):
        return [shape], {"index": (first,)}
    second = arr(shape[-1])
    middle = (slice(None),) * (len(shape) - 2)
    return [shape], {"index": (first,) + middle + (second,)}


@st.composite
def _bool_mask(draw):
    """A boolean mask over the leading k dimensions."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=MAX_SIDE))
    k = draw(st.integers(1, len(shape)))
    mask = draw(hnp.arrays(np.bool_, shape[:k]))
    return [shape], {"index": mask}


# -- gather and friends -------------------------------------------------------------------------------
@st.composite
def _gather(draw, src=None):
    """x and an in-range int64 index with x's rank, no larger than x off ``dim``; for
    scatter_add also the shape of src (equal to the index's, or one larger in some dims)."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=MAX_SIDE))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    ishape = [draw(st.integers(1, n)) for n in shape]
    ishape[dim] = draw(st.integers(1, 5))
    index = draw(hnp.arrays(np.int64, tuple(ishape), elements=st.integers(0, shape[dim] - 1)))
    shapes = [shape]
    if src == "same":
        shapes.append(tuple(ishape))
    elif src == "larger":
        shapes.append(tuple(n + draw(st.integers(0, 1)) for n in ishape))
    return shapes, {"dim": dim, "index": index}


def _scatter_torch(x, s, dim, index):
    """PyTorch's backward rejects src larger than index, so it is sliced first (the same op)."""
    return torch.scatter_add(x, dim, torch.from_numpy(index),
                             s[tuple(slice(n) for n in index.shape)])


@st.composite
def _index_select(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=MAX_SIDE))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    idx = np.array(draw(st.lists(st.integers(0, shape[dim] - 1), min_size=0, max_size=5)),
                   dtype=np.int64)
    return [shape], {"dim": dim, "index": idx}


def _index_select_torch(x, dim, index):
    return torch.index_select(x, dim, torch.from_numpy(index))


@st.composite
def _masked_fill(draw, tensor_value=False):
    """Mask and input broadcast against each other (either may be the larger)."""
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                    min_side=1, max_side=MAX_SIDE))
    x_shape, m_shape = shapes.input_shapes
    mask = draw(hnp.arrays(np.bool_, m_shape))
    if tensor_value:
        return [x_shape, ()], {"mask": mask}
    return [x_shape], {"mask": mask, "value": draw(st.sampled_from([0.0, -1.5, 3]))}


@st.composite
def _take_along(draw, flat=False):
    """x and an index that broadcast against each other off ``dim`` (or both flattened)."""
    if flat:
        shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=MAX_SIDE))
        n = int(np.prod(shape))
        index = draw(hnp.arrays(np.int64, (draw(st.integers(1, 6)),),
                                elements=st.integers(0, n - 1)))
        return [shape], {"index": index}
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=3,
                                                    min_side=1, max_side=MAX_SIDE))
    x_shape, i_shape = shapes.input_shapes
    n = max(len(x_shape), len(i_shape))
    x_shape = (1,) * (n - len(x_shape)) + tuple(x_shape)
    i_shape = list((1,) * (n - len(i_shape)) + tuple(i_shape))
    dim = draw(st.integers(-n, n - 1))
    i_shape[dim] = draw(st.integers(1, 5))
    index = draw(hnp.arrays(np.int64, tuple(i_shape), elements=st.integers(0, x_shape[dim] - 1)))
    return [x_shape], {"dim": dim, "index": index}


@st.composite
def _one_hot(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=MAX_SIDE))
    return [shape], {"num_classes": draw(st.sampled_from([-1, 5, 7]))}


def _make_classes(rng, shapes, dtype):
    return [rng.integers(0, 5, shapes[0])]


ROWS = [
    Op("getitem_basic", _getitem_cr, _getitem_torch, _basic_index()),
    Op("getitem_negative_step", _neg_cr, _neg_torch, _negative_steps()),
    Op("getitem_int_arrays", _getitem_cr, _getitem_torch, _int_arrays()),
    Op("getitem_int_tensor", lambda x, index: x[tuple(cr.tensor(p) if isinstance(p, np.ndarray)
                                                      else p for p in index)],
       _getitem_torch, _int_arrays()),
    Op("getitem_bool_mask", _getitem_cr, _getitem_torch, _bool_mask()),
    Op("gather", lambda x, dim, index: cr.gather(x, dim, index),
       lambda x, dim, index: torch.gather(x, dim, torch.from_numpy(index)), _gather()),
    Op("gather_method", lambda x, dim, index: x.gather(dim, cr.tensor(index)),
       lambda x, dim, index: x.gather(dim, torch.from_numpy(index)), _gather()),
    Op("scatter_add", lambda x, s, dim, index: cr.scatter_add(x, dim, index, s),
       lambda x, s, dim, index: torch.scatter_add(x, dim, torch.from_numpy(index), s),
       _gather(src="same")),
    Op("scatter_add_larger_src", lambda x, s, dim, index: x.scatter_add(dim, cr.tensor(index), s),
       _scatter_torch, _gather(src="larger")),
    Op("index_select", lambda x, dim, index: cr.index_select(x, dim, index),
       _index_select_torch, _index_select()),
    Op("index_select_method", lambda x, dim, index: x.index_select(dim, cr.tensor(index)),
       _index_select_torch, _index_select()),
    Op("masked_fill", lambda x, mask, value: cr.masked_fill(x, cr.tensor(mask), value),
       lambda x, mask, value: torch.masked_fill(x, torch.from_numpy(mask), value),
       _masked_fill()),
    Op("masked_fill_tensor_value", lambda x, v, mask: x.masked_fill(cr.tensor(mask), v),
       lambda x, v, mask: x.masked_fill(torch.from_numpy(mask), v),
       _masked_fill(tensor_value=True)),
    Op("take_along_dim", lambda x, dim, index: cr.take_along_dim(x, index, dim),
       lambda x, dim, index: torch.take_along_dim(x, torch.from_numpy(index), dim),
       _take_along()),
    Op("take_along_dim_flat", lambda x, index: x.take_along_dim(cr.tensor(index)),
       lambda x, index: x.take_along_dim(torch.from_numpy(index)), _take_along(flat=True)),
    Op("one_hot", lambda i, num_classes: cr.one_hot(i, num_classes),
       lambda i, num_classes: TF.one_hot(i, num_classes), _one_hot(), make=_make_classes,
       grad=False),
]
