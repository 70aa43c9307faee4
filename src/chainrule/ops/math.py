"""More shape and math ops, NumPy-named: pad, tile, flip, roll, cumsum, einsum.

Three primitives (constant ``Pad``, ``CumSum``, ``Einsum``); the rest are compositions of
reshape, broadcast, slicing and concatenation, whose gradients already exist.
"""
from __future__ import annotations

import string

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor
from . import _operands as O
from .elementwise import fresh
from .indexing import getitem
from .shape import reshape, broadcast_to, concatenate


def _operand(x):
    return x if isinstance(x, Tensor) else O.constant(x)


# -- pad --------------------------------------------------------------------------------------------
class Pad(Function):
    """z = x surrounded by a constant (non-negative widths);  ∂L/∂x = the interior of ∂L/∂z."""

    def forward(self, xp, x, pad_width=(), value=0):
        shape = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, pad_width))
        self.index = tuple(slice(lo, lo + n) for n, (lo, _) in zip(x.shape, pad_width))
        out = xp.full(shape, value, dtype=x.dtype)
        out[self.index] = x
        return out

    def backward(self, xp, g):
        return (g[self.index],)


def _edge_index(n: int, lo: int, hi: int, mode: str) -> np.ndarray:
    """Source positions for a padded axis of length n + lo + hi in reflect/replicate/circular."""
    pos = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(pos, 0, n - 1)
    if mode == "circular":
        return pos % n
    period = 2 * (n - 1)  # reflect about the edge elements, which are not repeated
    if period == 0:
        return np.zeros_like(pos)
    pos = np.abs(pos) % period
    return np.where(pos >= n, period - pos, pos)


def pad(x, pad_width, mode: str = "constant", constant_values=0):
    """NumPy's pad with widths ((lo, hi), ...) per axis; negative widths crop (as PyTorch's do).

    ``constant`` is a primitive; ``reflect``/``replicate``/``circular`` read x at computed
    positions (an advanced index), so their gradient scatter-adds into the source elements.
    """
    x = original = _operand(x)
    pad_width = tuple((int(lo), int(hi)) for lo, hi in pad_width)
    if any(lo < 0 or hi < 0 for lo, hi in pad_width):
        for axis, (n, (lo, hi)) in enumerate(zip(x.shape, pad_width)):
            if max(-lo, 0) + max(-hi, 0) > n:   # slicing would silently crop less
                raise ValueError(f"pad: negative padding ({lo}, {hi}) removes more than the size "
                                 f"{n} of dimension {axis} (input shape {tuple(x.shape)})")
        crop = tuple(slice(max(-lo, 0), n - max(-hi, 0))
                     for n, (lo, hi) in zip(x.shape, pad_width))
        x = getitem(x, crop)
        pad_width = tuple((max(lo, 0), max(hi, 0)) for lo, hi in pad_width)
    if not any(lo or hi for lo, hi in pad_width):
        return fresh(x) if x is original else x
    if mode == "constant":
        return Pad.apply(x, pad_width=pad_width, value=constant_values)
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', "
                         f"got {mode!r}")
    for axis, (n, (lo, hi)) in enumerate(zip(x.shape, pad_width)):
        if not (lo or hi):
            continue
        if mode == "reflect" and (lo >= n or hi >= n):
            raise ValueError(f"pad: reflect padding ({lo}, {hi}) must be smaller than the size "
                             f"{n} of dimension {axis} (input shape {tuple(x.shape)})")
        if mode == "replicate" and n == 0:
            raise ValueError(f"pad: replicate padding ({lo}, {hi}) needs a non-empty dimension "
                             f"{axis} (input shape {tuple(x.shape)})")
        if mode == "circular" and (lo > n or hi > n):
            raise ValueError(f"pad: circular padding ({lo}, {hi}) must not exceed the size {n} "
                             f"of dimension {axis} (input shape {tuple(x.shape)})")
        x = getitem(x, (slice(None),) * axis + (_edge_index(n, lo, hi, mode),))
    return x


# -- tile, flip, roll ----------------------------------------------------------------------------------
def tile(x, reps):
    """NumPy's tile: x repeated reps[i] times along axis i (reps and x's shape right-aligned).

    Built as reshape → broadcast → reshape, so the gradient sums the copies.
    """
    x = _operand(x)
    reps = tuple(int(r) for r in reps)
    if any(r < 0 for r in reps):
        raise ValueError(f"repeat/tile: repeats must be non-negative, got {reps}")
    nd = max(len(reps), x.ndim)
    reps = (1,) * (nd - len(reps)) + reps
    shape = (1,) * (nd - x.ndim) + tuple(x.shape)
    if all(r == 1 for r in reps):
        return reshape(x, shape) if shape != tuple(x.shape) else fresh(x)
    spread = tuple(v for n in shape for v in (1, n))
    target = tuple(v for r, n in zip(reps, shape) for v in (r, n))
    out = broadcast_to(reshape(x, spread), target)
    return reshape(out, tuple(r * n for r, n in zip(reps, shape)))


def flip(x, axis=None):
    """Reverse the order of elements along ``axis`` (all axes when None);  the gradient is
    flipped back."""
    x = _operand(x)
    axes = range(x.ndim) if axis is None else \
        [a % max(x.ndim, 1) for a in ((axis,) if isinstance(axis, (int, np.integer)) else axis)]
    axes = set(axes)
    if not axes or x.ndim == 0:
        return fresh(x)
    return getitem(x, tuple(slice(None, None, -1) if a in axes else slice(None)
                            for a in range(x.ndim)))


def roll(x, shift, axis=None):
    """Shift elements along ``axis`` cyclically (flattened when None); two slices concatenated."""
    x = _operand(x)
    if axis is None:
        return reshape(roll(reshape(x, (-1,) if x.ndim else (1,)), shift, 0), x.shape)
    shifts = (shift,) if isinstance(shift, (int, np.integer)) else tuple(shift)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    if len(shifts) != len(axes):
        raise ValueError(f"roll: {len(shifts)} shifts given for {len(axes)} dims")
    original = x
    for s, a in zip(shifts, axes):
        a = a % max(x.ndim, 1)
        n = x.shape[a]
        s = int(s) % n if n else 0
        if s == 0:
            continue
        lead = (slice(None),) * a
        x = concatenate([getitem(x, lead + (slice(n - s, None),)),
                         getitem(x, lead + (slice(0, n - s),))], axis=a)
    return fresh(x) if x is original else x


# -- cumsum ---------------------------------------------------------------------------------------------
class CumSum(Function):
    """zᵢ = Σ_{j≤i} xⱼ along an axis;  ∂L/∂xⱼ = Σ_{i≥j} ∂L/∂zᵢ (a reversed cumulative sum)."""

    def forward(self, xp, x, axis=0):
        self.axis = axis
        return xp.cumsum(x, axis=axis)

    def backward(self, xp, g):
        return (xp.flip(xp.cumsum(xp.flip(g, self.axis), axis=self.axis), self.axis),)


def cumsum(x, axis=None, dtype=None):
    """NumPy's cumsum; integer and bool inputs accumulate in int64 (as PyTorch does)."""
    from .elementwise import cast

    x = _operand(x)
    if dtype is not None:
        x = cast(x, dtype)
    elif x.dtype.kind in "biu":
        x = cast(x, np.int64)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    if x.ndim == 0:
        return reshape(x, ())
    return CumSum.apply(x, axis=axis % x.ndim)


# -- einsum ---------------------------------------------------------------------------------------------
def parse_einsum(equation: str, ndims: list) -> tuple[list, str]:
    """Explicit subscripts for each operand and the output, with '...' spelled out in letters."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    subs = lhs.split(",")
    if len(subs) != len(ndims):
        raise ValueError(f"einsum: equation {equation!r} has {len(subs)} operands but "
                         f"{len(ndims)} tensors were given")
    used = set(eq) - set(",->.")
    for c in used:
        if c not in string.ascii_letters:
            raise ValueError(f"einsum: invalid subscript {c!r} in {equation!r}")
    spare = [c for c in string.ascii_letters if c not in used]
    n_ell = 0
    for s, nd in zip(subs, ndims):
        named = len(s.replace("...", ""))
        if "..." in s:
            n_ell = max(n_ell, nd - named)
        elif named != nd:
            raise ValueError(f"einsum: subscripts {s!r} name {named} dimensions but the operand "
                             f"has {nd}")
    ell = "".join(spare[:n_ell])
    full = []
    for s, nd in zip(subs, ndims):
        if "..." in s:
            k = nd - len(s.replace("...", ""))
            if k < 0:
                raise ValueError(f"einsum: subscripts {s!r} have more dimensions than the "
                                 f"operand's {nd}")
            s = s.replace("...", ell[n_ell - k:])
        full.append(s)
    if arrow:
        out = rhs.replace("...", ell)
    else:
        counts = {}
        for c in "".join(full):
            counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    for c in out:
        if c not in "".join(full):
            raise ValueError(f"einsum: output subscript {c!r} does not appear in any operand "
                             f"of {equation!r}")
    if len(set(out)) != len(out):
        raise ValueError(f"einsum: output subscripts {out!r} repeat a letter")
    return full, out


class Einsum(Function):
    """z = einsum(subs, x₁, …, xₙ);  ∂L/∂xᵢ = einsum of ∂L/∂z with the other operands into xᵢ's
    subscripts (broadcast over letters that only xᵢ has, since those were summed away)."""

    def forward(self, xp, *xs, subs=(), out=""):
        self.subs, self.out = subs, out
        self.save(*xs)
        return xp.einsum(",".join(subs) + "->" + out, *xs, optimize=len(xs) > 1)

    def backward(self, xp, g):
        xs = self.saved
        grads = []
        for i, (x, s) in enumerate(zip(xs, self.subs)):
            if not self.needs_input_grad[i]:
                grads.append(None)
                continue
            others = [self.subs[j] for j in range(len(xs)) if j != i]
            avail = set(self.out).union(*others)
            keep = "".join(c for c in s if c in avail)
            expr = ",".join([self.out] + others) + "->" + keep
            gi = xp.einsum(expr, g, *[xs[j] for j in range(len(xs)) if j != i], optimize=True)
            # letters summed inside x alone, or of size 1 everywhere but in x, were broadcast in
            # the forward pass: broadcast the gradient back along them (letters of size 1 in x
            # but not elsewhere come back larger and are summed by the engine)
            size = dict(zip(keep, gi.shape))
            if keep != s:
                gi = xp.reshape(gi, tuple(size.get(c, 1) for c in s))
            target = tuple(n if size.get(c, 1) == 1 else size[c] for c, n in zip(s, x.shape))
            if target != tuple(gi.shape):
                gi = xp.broadcast_to(gi, target)
            grads.append(gi)
        return tuple(grads)


def einsum(subscripts: str, *operands, optimize=None):
    """NumPy's einsum (explicit or implicit form, '...' allowed), differentiable in every
    operand; one whose subscripts repeat a letter is read through its diagonal."""
    xs = [_operand(x) for x in operands]
    if not xs:
        raise ValueError("einsum: no operands given")
    dt = xs[0].dtype
    for x in xs[1:]:
        dt = np.result_type(dt, x.dtype)
    from . import _operands
    xs = [_operands.operand(x, dt) for x in xs]
    subs, out = parse_einsum(subscripts, [x.ndim for x in xs])
    pairs = [_diagonal(x, s, subscripts) for x, s in zip(xs, subs)]
    return Einsum.apply(*[x for x, _ in pairs], subs=tuple(s for _, s in pairs), out=out)


def _diagonal(x, s: str, equation: str):
    """An operand whose subscripts repeat a letter ('ii', 'iji'), as its diagonal with each
    letter once: d[i, j] = x[i, j, i] (a differentiable gather, so the gradient lands on the
    diagonal); other operands unchanged."""
    if len(set(s)) == len(s):
        return x, s
    letters = "".join(dict.fromkeys(s))
    size = {}
    for c, n in zip(s, x.shape):
        if size.setdefault(c, n) != n:
            raise ValueError(f"einsum: subscript {c!r} of {equation!r} labels dimensions of "
                             f"sizes {size[c]} and {n} in one operand")
    k = len(letters)
    grid = {c: np.arange(size[c]).reshape((1,) * i + (-1,) + (1,) * (k - i - 1))
            for i, c in enumerate(letters)}
    index = tuple(grid[c] for c in s)
    if isinstance(x, Tensor):
        return getitem(x, index), letters
    return x[index], letters
