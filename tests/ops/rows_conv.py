"""Op-table rows for convolution and pooling (issue #3): conv1d/conv2d across stride, padding
(ints, tuples, 'same', 'valid'), dilation, groups and bias; max/avg pooling across kernel, stride,
padding, dilation, ceil_mode, count_include_pad, divisor_override and return_indices; adaptive
average pooling to sizes that divide the input, that do not, and that exceed it. Batched and
unbatched inputs. Shapes stay small so that gradcheck is quick."""
from __future__ import annotations

import warnings

import torch
from hypothesis import assume, strategies as st

import chainrule.nn.functional as F
from tests.optable import Op

TF = torch.nn.functional


def _span(k: int, d: int) -> int:
    return d * (k - 1) + 1


@st.composite
def _conv(draw, nd: int, groups=(1, 1, 2, 3), strides=(1, 2), dilations=(1, 2), pads=None,
          batch=(1, 2), unbatched=True):
    """Shapes (input, weight[, bias]) and keyword arguments for conv{nd}d; ``pads`` limits the
    padding kinds drawn (int, tuple, 'valid', 'same'), ``batch`` the batch sizes."""
    n = draw(st.integers(*batch))
    groups = draw(st.sampled_from(groups))
    cg, og = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.sampled_from(strides)) for _ in range(nd))
    dilation = tuple(draw(st.sampled_from(dilations)) for _ in range(nd))
    choices = ["int", "tuple", "valid"] + (["same"] if all(s == 1 for s in stride) else [])
    kind = draw(st.sampled_from([c for c in choices if pads is None or c in pads]))
    if kind == "int":
        padding = draw(st.integers(0, 2))
        pads = (padding,) * nd
    elif kind == "tuple":
        pads = padding = tuple(draw(st.integers(0, 2)) for _ in range(nd))
    else:
        padding, pads = kind, (0,) * nd
    sizes = []
    for k, d, p in zip(kernel, dilation, pads):
        need = 1 if kind == "same" else max(1, _span(k, d) - 2 * p)
        sizes.append(draw(st.integers(need, need + 3)))
    batch = (n,) if draw(st.integers(0, 4)) or not unbatched else ()   # sometimes unbatched
    shapes = [batch + (cg * groups,) + tuple(sizes), (og * groups, cg) + kernel]
    if draw(st.booleans()):
        shapes.append((og * groups,))
    if len(set(stride)) == 1 and draw(st.booleans()):
        stride = stride[0]                                      # an int for every axis
    kw = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    return shapes, kw


@st.composite
def _pool(draw, nd: int, kind: str, ceil=(False, True), count_pad=(False, True)):
    """Pooling geometry valid for PyTorch: padding at most half the kernel, the padded input
    at least one (dilated) window long."""
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = None if draw(st.booleans()) else tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd)) if kind == "max" else (1,) * nd
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    sizes = tuple(draw(st.integers(max(1, _span(k, d) - 2 * p), _span(k, d) - 2 * p + 4))
                  for k, d, p in zip(kernel, dilation, padding))
    ceil_mode = draw(st.sampled_from(ceil))
    for n, k, s_, d, p in zip(sizes, kernel, stride or kernel, dilation, padding):
        # skip geometries with a window wholly in the padding: its maximum is −∞, and which
        # element then receives the gradient is PyTorch's implementation detail
        num = n + 2 * p - _span(k, d)
        last = -(-num // s_) if ceil_mode else num // s_
        if ceil_mode and last * s_ >= n + p:
            last -= 1
        assume(all(any(0 <= o * s_ + j * d - p < n for j in range(k))
                   for o in range(last + 1)))
    batch = draw(st.sampled_from([(1, 2), (2, 1), (2,)]))
    kw = {"kernel_size": kernel if draw(st.booleans()) or len(set(kernel)) > 1 else kernel[0],
          "stride": stride, "padding": padding, "ceil_mode": ceil_mode}
    if kind == "max":
        kw["dilation"] = dilation
    else:
        kw["count_include_pad"] = draw(st.sampled_from(count_pad))
        if nd == 2 and draw(st.integers(0, 3)) == 0:
            kw["divisor_override"] = draw(st.integers(1, 5))
    return [batch + sizes], kw


@st.composite
def _tiled_max(draw, nd: int):
    """The reshape fast path: stride = kernel, no padding (sizes need not be multiples)."""
    k = draw(st.integers(1, 3))
    sizes = tuple(draw(st.integers(k, 3 * k + 1)) for _ in range(nd))
    return [(2, 2) + sizes], {"kernel_size": k}


@st.composite
def _adaptive(draw, nd: int):
    sizes = tuple(draw(st.integers(1, 7)) for _ in range(nd))
    out = tuple(draw(st.one_of(st.integers(1, 8), st.sampled_from([n, max(1, n // 2)])))
                for n in sizes)
    if nd == 2 and draw(st.booleans()):
        out = (out[0], None)
    batch = draw(st.sampled_from([(2, 3), (2,)]))
    return [batch + sizes], {"output_size": out if nd == 2 or draw(st.booleans()) else out[0]}


def _with_indices(fn):
    return lambda x, **kw: fn(x, return_indices=True, **kw)


def _quiet(fn):
    """PyTorch warns that 'same' padding with an even kernel copies its input; not our concern."""
    def call(*args, **kw):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return fn(*args, **kw)
    return call


ROWS = [
    Op("conv1d", F.conv1d, _quiet(TF.conv1d), _conv(1)),
    Op("conv2d", F.conv2d, _quiet(TF.conv2d), _conv(2)),
    Op("conv1d_groups", F.conv1d, TF.conv1d, _conv(1, groups=(2, 3))),
    Op("conv2d_groups", F.conv2d, _quiet(TF.conv2d), _conv(2, groups=(2, 3))),
    Op("conv2d_same", F.conv2d, _quiet(TF.conv2d), _conv(2, strides=(1,), pads=("same",))),
    Op("conv2d_strided_dilated", F.conv2d, TF.conv2d,
       _conv(2, strides=(2, 3), dilations=(2,), pads=("int", "tuple"))),
    # second derivatives with batches of 2-3 (a batch of 1 hides a batch/channel layout error)
    Op("conv1d_gradgrad", F.conv1d, TF.conv1d, _conv(1, batch=(2, 3), unbatched=False,
                                                      pads=("int", "tuple", "valid")),
       tags=("gradgrad",)),
    Op("conv2d_gradgrad", F.conv2d, TF.conv2d, _conv(2, batch=(2, 3), unbatched=False,
                                                      pads=("int", "tuple", "valid")),
       tags=("gradgrad",)),
    Op("conv2d_groups_gradgrad", F.conv2d, TF.conv2d,
       _conv(2, groups=(2, 3), batch=(2, 3), unbatched=False, pads=("int", "tuple")),
       tags=("gradgrad",)),
    Op("conv2d_strided_dilated_gradgrad", F.conv2d, TF.conv2d,
       _conv(2, strides=(2, 3), dilations=(2,), pads=("int", "tuple"), batch=(2, 3),
             unbatched=False), tags=("gradgrad",)),
    Op("max_pool1d", F.max_pool1d, TF.max_pool1d, _pool(1, "max"), domain="distinct"),
    Op("max_pool2d", F.max_pool2d, TF.max_pool2d, _pool(2, "max"), domain="distinct"),
    Op("max_pool2d_ceil", F.max_pool2d, TF.max_pool2d, _pool(2, "max", ceil=(True,)),
       domain="distinct"),
    Op("max_pool2d_indices", _with_indices(F.max_pool2d), _with_indices(TF.max_pool2d),
       _pool(2, "max"), domain="distinct"),
    Op("max_pool1d_indices", _with_indices(F.max_pool1d), _with_indices(TF.max_pool1d),
       _pool(1, "max"), domain="distinct"),
    Op("max_pool1d_tiled", F.max_pool1d, TF.max_pool1d, _tiled_max(1), domain="distinct"),
    Op("max_pool2d_tiled", F.max_pool2d, TF.max_pool2d, _tiled_max(2), domain="distinct"),
    Op("avg_pool1d", F.avg_pool1d, TF.avg_pool1d, _pool(1, "avg")),
    Op("avg_pool2d", F.avg_pool2d, TF.avg_pool2d, _pool(2, "avg")),
    Op("avg_pool2d_ceil_exclude_pad", F.avg_pool2d, TF.avg_pool2d,
       _pool(2, "avg", ceil=(True,), count_pad=(False,))),
    Op("avg_pool2d_ceil_include_pad", F.avg_pool2d, TF.avg_pool2d,
       _pool(2, "avg", ceil=(True,), count_pad=(True,))),
    Op("avg_pool2d_tiled", F.avg_pool2d, TF.avg_pool2d, _tiled_max(2)),
    Op("adaptive_avg_pool1d", F.adaptive_avg_pool1d, TF.adaptive_avg_pool1d, _adaptive(1)),
    Op("adaptive_avg_pool2d", F.adaptive_avg_pool2d, TF.adaptive_avg_pool2d, _adaptive(2)),
]
