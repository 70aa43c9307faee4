"""Op-table rows for the basic ops of issue #2: elementwise, reductions, matmul, shapes."""
from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
from tests.optable import Op, broadcast, matmul_shapes, reduce_dims, unary, MAX_SIDE

F = torch.nn.functional


def _where_make(rng, shapes, dtype):
    return [rng.random(shapes[0]) > 0.5] + [rng.standard_normal(s).astype(dtype)
                                              for s in shapes[1:]]


@st.composite
def _permute(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, max_side=MAX_SIDE))
    return [shape], {"dims": tuple(draw(st.permutations(range(len(shape)))))}


@st.composite
def _reshape(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, max_side=MAX_SIDE))
    n = int(np.prod(shape))
    return [shape], {"shape": draw(st.sampled_from([(n,), (1, n), (n, 1), (-1,)]))}


@st.composite
def _cat(draw, stack=False):
    shape = list(draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=MAX_SIDE)))
    dim = draw(st.integers(0, len(shape) - (0 if stack else 1)))
    k = draw(st.integers(1, 3))
    shapes = []
    for _ in range(k):
        s = list(shape)
        if not stack:
            s[dim] = draw(st.integers(1, MAX_SIDE))
        shapes.append(tuple(s))
    return shapes, {"dim": dim}


@st.composite
def _split(draw, chunk=False):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=MAX_SIDE))
    dim = draw(st.integers(0, len(shape) - 1))
    return [shape], {"dim": dim, ("chunks" if chunk else "split_size_or_sections"):
                     draw(st.integers(1, 3))}


@st.composite
def _squeeze(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=2))
    dim = draw(st.one_of(st.none(), st.integers(0, len(shape) - 1)))
    return [shape], ({} if dim is None else {"dim": dim})


@st.composite
def _expand(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=2))
    target = tuple(3 if n == 1 else n for n in shape)
    return [shape], {"size": (2,) + target}


def _mm(a, b):
    return a @ b


def _pow_scalar(p):
    return Op(f"pow_scalar_{p}", lambda x: x ** p, lambda x: x ** p, unary(),
              domain="positive" if isinstance(p, float) and not float(p).is_integer() else "real")


ROWS = [
    # binary arithmetic, with broadcasting
    Op("add", cr.add, torch.add, broadcast()),
    Op("sub", cr.sub, torch.sub, broadcast()),
    Op("mul", cr.mul, torch.mul, broadcast()),
    Op("div", cr.div, torch.div, broadcast(), domain="positive"),
    Op("add_alpha", lambda a, b: cr.add(a, b, alpha=0.5), lambda a, b: torch.add(a, b, alpha=0.5),
       broadcast()),
    Op("pow_tensor", cr.pow, torch.pow, broadcast(), domain="positive"),
    Op("maximum", cr.maximum, torch.maximum, broadcast()),
    Op("minimum", cr.minimum, torch.minimum, broadcast()),
    Op("where", cr.where, torch.where, broadcast(3), make=_where_make, nondiff=(0,)),
    Op("scalar_ops", lambda x: (2.0 - x) * 3 / 2.5 + 1, lambda x: (2.0 - x) * 3 / 2.5 + 1, unary()),
    Op("rdiv", lambda x: 1.5 / x, lambda x: 1.5 / x, unary(), domain="positive"),
    _pow_scalar(2), _pow_scalar(3), _pow_scalar(0.5), _pow_scalar(-1.5), _pow_scalar(0),
    # unary
    Op("neg", cr.neg, torch.neg, unary()),
    Op("exp", cr.exp, torch.exp, unary()),
    Op("log", cr.log, torch.log, unary(), domain="positive"),
    Op("log1p", cr.log1p, torch.log1p, unary(), domain="positive"),
    Op("sqrt", cr.sqrt, torch.sqrt, unary(), domain="positive"),
    Op("rsqrt", cr.rsqrt, torch.rsqrt, unary(), domain="positive"),
    Op("abs", cr.abs, torch.abs, unary(), domain="kinkfree"),
    Op("sin", cr.sin, torch.sin, unary()),
    Op("cos", cr.cos, torch.cos, unary()),
    Op("tanh", cr.tanh, torch.tanh, unary()),
    Op("sigmoid", cr.sigmoid, torch.sigmoid, unary()),
    Op("relu", cr.relu, torch.relu, unary(), domain="kinkfree"),
    Op("leaky_relu", lambda x: cr.leaky_relu(x, 0.1), lambda x: F.leaky_relu(x, 0.1), unary(),
       domain="kinkfree"),
    Op("elu", cr.elu, F.elu, unary(), domain="kinkfree"),
    Op("gelu", cr.gelu, F.gelu, unary()),
    Op("gelu_tanh", lambda x: cr.gelu(x, approximate="tanh"),
       lambda x: F.gelu(x, approximate="tanh"), unary()),
    Op("softplus", cr.softplus, F.softplus, unary()),
    Op("softplus_beta", lambda x: cr.softplus(x, beta=2.0, threshold=1.5),
       lambda x: F.softplus(x, beta=2.0, threshold=1.5), unary(), domain="kinkfree"),
    Op("clamp", lambda x: cr.clamp(x, -0.5, 0.5), lambda x: torch.clamp(x, -0.5, 0.5), unary(),
       make=lambda rng, s, dt: [(rng.choice([-1, 1], s[0]) * rng.uniform(0.1, 0.4, s[0])
                                 + rng.choice([0, 0.7, -0.7], s[0])).astype(dt)]),
    Op("clamp_min", lambda x: cr.clamp(x, min=0.1), lambda x: torch.clamp(x, min=0.1), unary(),
       domain="kinkfree"),
    Op("step", cr.step, lambda x: (x > 0).to(x.dtype) + 0 * x, unary(), domain="kinkfree"),
    # reductions
    Op("sum", cr.sum, torch.sum, reduce_dims()),
    Op("mean", cr.mean, torch.mean, reduce_dims()),
    Op("amax", cr.amax, torch.amax, reduce_dims(allow_none=False), domain="distinct"),
    Op("amin", cr.amin, torch.amin, reduce_dims(allow_none=False), domain="distinct"),
    Op("max_all", cr.max, torch.max, unary(), domain="distinct"),
    Op("max_dim", cr.max, torch.max, reduce_dims(multi=False, allow_none=False),
       domain="distinct"),
    Op("min_dim", cr.min, torch.min, reduce_dims(multi=False, allow_none=False),
       domain="distinct"),
    Op("var", lambda x, **k: cr.var(x, **k), lambda x, **k: torch.var(x, **k),
       reduce_dims(min_dims=1).filter(lambda a: np.prod(a[0][0]) > 1
                                      if "dim" not in a[1] else
                                      np.prod([a[0][0][d] for d in np.atleast_1d(a[1]["dim"])])
                                      > 1)),
    Op("std_pop", lambda x, **k: cr.std(x, correction=0, **k),
       lambda x, **k: torch.std(x, correction=0, **k), reduce_dims()),
    Op("logsumexp", cr.logsumexp, torch.logsumexp, reduce_dims(allow_none=False)),
    Op("prod", cr.prod, torch.prod, reduce_dims(multi=False), domain="positive"),
    Op("argmax", cr.argmax, torch.argmax, reduce_dims(multi=False), domain="distinct", grad=False),
    Op("argmin", cr.argmin, torch.argmin, reduce_dims(multi=False), domain="distinct", grad=False),
    # linear algebra
    Op("matmul", cr.matmul, torch.matmul, matmul_shapes()),
    Op("matmul_op", _mm, _mm, matmul_shapes()),
    Op("transpose", lambda x: x.transpose(0, -1), lambda x: x.transpose(0, -1), unary(1)),
    Op("mT", lambda x: x.mT, lambda x: x.mT, unary(2)),
    # shapes
    Op("reshape", lambda x, shape: x.reshape(shape), lambda x, shape: x.reshape(shape), _reshape()),
    Op("flatten", lambda x: x.flatten(1), lambda x: x.flatten(1), unary(2)),
    Op("permute", lambda x, dims: x.permute(*dims), lambda x, dims: x.permute(*dims), _permute()),
    Op("squeeze", cr.squeeze, torch.squeeze, _squeeze()),
    Op("unsqueeze", lambda x: x.unsqueeze(-1), lambda x: x.unsqueeze(-1), unary()),
    Op("expand", lambda x, size: x.expand(*size), lambda x, size: x.expand(*size), _expand()),
    Op("cat", lambda *xs, dim: cr.cat(xs, dim), lambda *xs, dim: torch.cat(xs, dim), _cat()),
    Op("stack", lambda *xs, dim: cr.stack(xs, dim), lambda *xs, dim: torch.stack(xs, dim),
       _cat(stack=True)),
    Op("split", cr.split, torch.split, _split()),
    Op("chunk", cr.chunk, torch.chunk, _split(chunk=True)),
]
