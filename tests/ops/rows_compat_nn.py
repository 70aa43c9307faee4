"""Op-table rows for the nn-functional breadth ops (issue #18): silu, hardswish (also on their
switch points ±3), conv_transpose1d/2d across stride, padding, output_padding, groups, dilation
and bias; interpolate (nearest, nearest-exact, linear, bilinear with and without align_corners,
by size and by scale_factor, incl. PyTorch's 2-D shortcuts); group_norm with and without affine
parameters."""
from __future__ import annotations

import math

import torch
from hypothesis import assume, strategies as st

import chainrule.nn.functional as F
from tests.optable import Op, at, unary

TF = torch.nn.functional


@st.composite
def _conv_transpose(draw, nd: int, groups=(1, 1, 2, 3), batch=(1, 2), unbatched=True):
    """Shapes (input, weight[, bias]) and keyword arguments for conv_transpose{nd}d, with
    output_padding drawn below max(stride, dilation) and padding small enough that the output
    is not empty."""
    n = draw(st.integers(*batch))
    g = draw(st.sampled_from(groups))
    cg, og = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    sizes = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    extra = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    padding = []
    for m, k, s, d, e in zip(sizes, kernel, stride, dilation, extra):
        full = (m - 1) * s + d * (k - 1) + e + 1
        padding.append(draw(st.integers(0, min(2, (full - 1) // 2))))
    lead = (n,) if draw(st.integers(0, 4)) or not unbatched else ()
    shapes = [lead + (cg * g,) + sizes, (cg * g, og) + kernel]
    if draw(st.booleans()):
        shapes.append((og * g,))
    kw = {"stride": stride, "padding": tuple(padding), "output_padding": extra, "groups": g,
          "dilation": dilation}
    if nd == 1 or len(set(stride)) == 1 and draw(st.booleans()):
        kw["stride"] = stride[0]
    return shapes, kw


_SCALES = (0.5, 0.7, 1.0, 1.3, 1.5, 2.0, 2.5, 3.0, 1 / 3)


@st.composite
def _interpolate(draw, nd: int, mode: str):
    sizes = tuple(draw(st.integers(1, 5)) for _ in range(nd))
    kw = {"mode": mode}
    if mode in ("linear", "bilinear"):
        kw["align_corners"] = draw(st.booleans())
    if draw(st.booleans()):
        size = tuple(draw(st.integers(1, 9)) for _ in range(nd))
        kw["size"] = size if nd > 1 or draw(st.booleans()) else size[0]
    else:
        scale = tuple(draw(st.sampled_from([s for s in _SCALES if int(n * s) >= 1]))
                      for n in sizes)
        kw["scale_factor"] = scale if len(set(scale)) > 1 or draw(st.booleans()) else scale[0]
        if draw(st.integers(0, 3)) == 0:
            kw["recompute_scale_factor"] = True
        elif mode == "nearest" and nd != 2:
            # PyTorch's 1-D and 3-D nearest backward copies an axis whose size is unchanged (and
            # halves a doubled one) whatever the scale, while its forward applies ⌊i/scale⌋: its
            # gradient is then not the adjoint of its forward. Ours is (gradcheck checks it), so
            # those geometries are left out of the comparison.
            assume(all(int(n * s) not in (n, 2 * n) or s in (1.0, 2.0)
                       for n, s in zip(sizes, scale)))
    batch = draw(st.sampled_from([(1, 1), (2, 3)]))
    return [batch + sizes], kw


@st.composite
def _group_norm(draw, affine: bool):
    groups, per = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    c = groups * per
    spatial = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2))))
    shapes = [(draw(st.integers(1, 3)), c) + spatial]
    assume(shapes[0][0] * per * math.prod(spatial) > 1)     # PyTorch refuses one-value groups
    if affine:
        shapes += [(c,), (c,)]
    return shapes, {"num_groups": groups, "eps": draw(st.sampled_from([1e-5, 1e-3]))}


def _group_norm_call(fn):
    return lambda x, *wb, num_groups, eps: fn(x, num_groups, *wb, eps=eps)


ROWS = [
    Op("silu", F.silu, TF.silu, unary(), tags=("gradgrad",)),
    Op("hardswish", F.hardswish, TF.hardswish, unary(), domain="kinkfree"),
    Op("hardswish_switch_points", F.hardswish, TF.hardswish, unary(min_dims=1),
       domain=at(-3.0, 3.0, spread=3.0), gradcheck=False, tags=("edge",)),
    Op("conv_transpose1d", F.conv_transpose1d, TF.conv_transpose1d, _conv_transpose(1)),
    Op("conv_transpose2d", F.conv_transpose2d, TF.conv_transpose2d, _conv_transpose(2)),
    Op("conv_transpose2d_gradgrad", F.conv_transpose2d, TF.conv_transpose2d,
       _conv_transpose(2, batch=(2, 3), unbatched=False), tags=("gradgrad",)),
    Op("interpolate_nearest_1d", F.interpolate, TF.interpolate, _interpolate(1, "nearest")),
    Op("interpolate_nearest_2d", F.interpolate, TF.interpolate, _interpolate(2, "nearest")),
    Op("interpolate_nearest_3d", F.interpolate, TF.interpolate, _interpolate(3, "nearest")),
    Op("interpolate_nearest_exact_2d", F.interpolate, TF.interpolate,
       _interpolate(2, "nearest-exact")),
    Op("interpolate_linear", F.interpolate, TF.interpolate, _interpolate(1, "linear")),
    Op("interpolate_bilinear", F.interpolate, TF.interpolate, _interpolate(2, "bilinear")),
    Op("group_norm", _group_norm_call(F.group_norm), _group_norm_call(TF.group_norm),
       _group_norm(True)),
    Op("group_norm_no_affine", _group_norm_call(F.group_norm), _group_norm_call(TF.group_norm),
       _group_norm(False), tags=("gradgrad",)),
]
