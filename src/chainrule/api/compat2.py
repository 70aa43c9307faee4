"""PyTorch compatibility, part 2 of issue #18 (what a blind run of PyTorch programs hit):
``%`` and ``//`` (``remainder``, ``fmod``, ``floor_divide``), ``round(decimals=)``, ``trunc``,
``atan2``, ``expm1``, ``log2``, ``diag``, ``nonzero``, ``isclose``, ``median``, ``hstack``,
``vstack``, ``addcmul``/``addcdiv``, and the Tensor methods and in-place forms that go with them
(``exp_``, ``sigmoid_``, ``pow_``, ``new_zeros``, ...). Importing this module attaches the methods.
"""
from __future__ import annotations

import numpy as np

from .. import backend, ops
from ..ops import _operands as O
from ..ops import modular as M
from ..autograd.function import Function
from ..ops.elementwise import fresh
from ..tensor import Tensor
from ._args import normalize_dim, size_arg
from .inplace_more import _inplace
from .reductions import return_type

__all__ = ["remainder", "fmod", "floor_divide", "round", "trunc", "fix", "atan2", "arctan2",
           "expm1", "log2", "diag", "nonzero", "isclose", "median", "hstack", "vstack",
           "addcmul", "addcdiv"]


def _check_int_divisor(op: str, b) -> None:
    """Integer division by zero is an error, as in PyTorch (NumPy would give 0 and warn)."""
    arr = b._data if isinstance(b, Tensor) else np.asarray(b)
    if arr.dtype.kind in "iub" and not np.all(arr):
        raise RuntimeError(f"{op}: ZeroDivisionError (integer division by zero)")


def _modulo(cls, op: str):
    def fn(input, other):
        a, b = O.binary(input, other, op)
        if a.dtype.kind in "iub" if isinstance(a, Tensor) else np.asarray(a).dtype.kind in "iub":
            _check_int_divisor(op, b)
        if not isinstance(a, Tensor) and not isinstance(b, Tensor):
            a = Tensor._wrap(np.asarray(a), False, None)
        return cls.apply(a, b)
    fn.__name__ = op
    fn.__doc__ = cls.__doc__
    return fn


remainder = _modulo(M.Remainder, "remainder")
fmod = _modulo(M.Fmod, "fmod")


def floor_divide(input, other) -> Tensor:
    """⌊input / other⌋ elementwise (a constant: no gradient), as ``//`` in PyTorch."""
    from .pointwise import div
    a = input._data if isinstance(input, Tensor) else np.asarray(input)
    if a.dtype.kind in "iub":
        _check_int_divisor("floor_divide", other)
    return div(input, other, rounding_mode="floor")


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001 - PyTorch's name
    """Round to ``decimals`` places, halves to even (∂/∂x = 0); integers are copied."""
    if not isinstance(input, Tensor):
        raise TypeError(f"round(): argument 'input' must be a Tensor, not {type(input).__name__}")
    if input._data.dtype.kind not in "fc":
        if decimals:
            raise RuntimeError("round: decimals is only supported for floating-point tensors")
        return fresh(input)
    return M.Round.apply(input, decimals=int(decimals))


def trunc(input: Tensor) -> Tensor:
    """Round towards zero (∂/∂x = 0); integers are copied."""
    if not isinstance(input, Tensor):
        raise TypeError(f"trunc(): argument 'input' must be a Tensor, not {type(input).__name__}")
    if input._data.dtype.kind not in "fc":
        return fresh(input)
    return M.Trunc.apply(input)


fix = trunc


def atan2(input, other) -> Tensor:
    """The angle of the point (other, input): atan2(y=input, x=other), in (−π, π]."""
    a, b = O.binary(O.float_operand(input, "atan2"), O.float_operand(other, "atan2"), "atan2")
    return M.Atan2.apply(a, b)


arctan2 = atan2


def expm1(input) -> Tensor:
    """eˣ − 1, accurate for small x."""
    return M.Expm1.apply(O.float_operand(input, "expm1"))


def log2(input) -> Tensor:
    """log₂ x."""
    return M.Log2.apply(O.float_operand(input, "log2"))


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A vector → the square matrix with it on diagonal ``diagonal``; a matrix → that diagonal."""
    if not isinstance(input, Tensor):
        raise TypeError(f"diag(): argument 'input' must be a Tensor, not {type(input).__name__}")
    if input.ndim == 1:
        return M.DiagEmbed.apply(input, diagonal=int(diagonal))
    if input.ndim == 2:
        return M.DiagPart.apply(input, diagonal=int(diagonal))
    raise RuntimeError(f"diag(): expected a 1-D or 2-D tensor, got {input.ndim}-D "
                       f"(shape {tuple(input.shape)})")


def nonzero(input: Tensor, *, as_tuple: bool = False):
    """Indices of the non-zero elements: an (n, ndim) int64 tensor, or one vector per dim."""
    a = input.detach().cpu().numpy() if not isinstance(input._data, np.ndarray) else input._data
    idx = np.argwhere(a)
    if as_tuple:
        if a.ndim == 0:
            return (Tensor._wrap(idx.reshape(-1).astype(np.int64), False, None),)
        return tuple(Tensor._wrap(np.ascontiguousarray(idx[:, i]).astype(np.int64), False, None)
                     for i in range(a.ndim))
    return Tensor._wrap(idx.astype(np.int64), False, None)


def isclose(input: Tensor, other, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """|input − other| ≤ atol + rtol·|other| elementwise (a bool tensor; shapes broadcast)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"isclose(): argument 'input' must be a Tensor, not "
                        f"{type(input).__name__}")
    if isinstance(other, Tensor) and input.dtype != other.dtype:
        raise RuntimeError(f"isclose: {np.dtype(input.dtype).name} did not match "
                           f"{np.dtype(other.dtype).name}")
    b = other._data if isinstance(other, Tensor) else other
    return Tensor._wrap(np.asarray(np.isclose(input._data, b, rtol=rtol, atol=atol,
                                              equal_nan=equal_nan)), False, None)


class MedianAll(Function):
    """z = the lower median of all elements (NaN if any is NaN);  ∂z/∂x shared evenly among the
    elements equal to z (PyTorch's rule)."""

    name = "median"

    def forward(self, xp, x):
        flat = x.reshape(-1)
        if flat.size == 0:
            raise RuntimeError("median() input tensor cannot be empty")
        if xp.isnan(flat).any():
            m = xp.asarray(xp.nan, dtype=x.dtype)
        else:
            m = xp.partition(flat, (flat.size - 1) // 2)[(flat.size - 1) // 2]
        self.mask = (x == m)
        self.count, self.dtype = max(int(self.mask.sum()), 1), x.dtype
        return xp.asarray(m, dtype=x.dtype)

    def backward(self, xp, g):
        return (g * (self.mask / self.count).astype(self.dtype),)


def median(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """No dim: the lower median of all elements (the ⌊(n−1)/2⌋-th smallest). With dim:
    (values, indices) of the lower median along dim; NaN wins where a slice holds one."""
    if not isinstance(input, Tensor):
        raise TypeError(f"median(): argument 'input' must be a Tensor, not "
                        f"{type(input).__name__}")
    if dim is None:
        return MedianAll.apply(input)
    if input.ndim == 0:
        normalize_dim(dim, 1, "median")
        return return_type("median")(fresh(input), Tensor._wrap(np.zeros((), np.int64), False, None))
    d = normalize_dim(dim, input.ndim, "median")
    a = np.asarray(input._data)
    n = a.shape[d]
    if n == 0:
        raise IndexError(f"median(): cannot compute the median of an empty dimension {d} "
                         f"(shape {tuple(input.shape)})")
    order = np.argsort(a, axis=d, kind="stable")
    idx = np.take(order, [(n - 1) // 2], axis=d)
    nan = np.isnan(a) if a.dtype.kind == "f" else np.zeros(a.shape, bool)
    has_nan = nan.any(axis=d, keepdims=True)
    idx = np.where(has_nan, np.argmax(nan, axis=d, keepdims=True), idx).astype(np.int64)
    values = ops.take_along_axis(input, idx, d)
    if not keepdim:
        values = ops.reshape(values, values.shape[:d] + values.shape[d + 1:])
        idx = idx.reshape(idx.shape[:d] + idx.shape[d + 1:])
    return return_type("median")(values, Tensor._wrap(idx, False, None))


def hstack(tensors) -> Tensor:
    """Join along dim 1 (dim 0 when every tensor is 1-D); 0-d tensors count as 1-D."""
    from .shaping import cat
    ts = [t if t.ndim else ops.reshape(t, (1,)) for t in tensors]
    return cat(ts, 0 if all(t.ndim == 1 for t in ts) else 1)


def vstack(tensors) -> Tensor:
    """Join along dim 0 after making each tensor at least 2-D (a vector becomes one row)."""
    from .shaping import cat
    ts = [t if t.ndim >= 2 else ops.reshape(t, (1, -1) if t.ndim else (1, 1)) for t in tensors]
    return cat(ts, 0)


def addcmul(input, tensor1, tensor2, *, value=1) -> Tensor:
    """input + value·tensor1·tensor2."""
    prod = ops.multiply(tensor1, tensor2)
    return ops.add(input, prod if value == 1 else ops.multiply(prod, value))


def addcdiv(input, tensor1, tensor2, *, value=1) -> Tensor:
    """input + value·tensor1/tensor2."""
    quot = ops.divide(tensor1, tensor2)
    return ops.add(input, quot if value == 1 else ops.multiply(quot, value))


# -- new_* factories --------------------------------------------------------------------------
def _new_like(self, array, dtype, requires_grad, device=None):
    from .creation import _make
    return _make(array, requires_grad, self.device if device is None else device)


def _new_dtype(self, dtype):
    from .. import dtypes
    return self._data.dtype if dtype is None else dtypes.to_dtype(dtype)


def new_zeros(self, *size, dtype=None, device=None, requires_grad=False, **_):
    """Zeros of ``size`` with this tensor's dtype and device (unless given)."""
    return _new_like(self, np.zeros(size_arg(size), _new_dtype(self, dtype)), dtype,
                     requires_grad, device)


def new_ones(self, *size, dtype=None, device=None, requires_grad=False, **_):
    """Ones of ``size`` with this tensor's dtype and device (unless given)."""
    return _new_like(self, np.ones(size_arg(size), _new_dtype(self, dtype)), dtype,
                     requires_grad, device)


def new_empty(self, *size, dtype=None, device=None, requires_grad=False, **_):
    """An uninitialised tensor of ``size`` (zeros here) with this tensor's dtype and device."""
    return new_zeros(self, *size, dtype=dtype, device=device, requires_grad=requires_grad)


def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False, **_):
    """``fill_value`` everywhere, of ``size``, with this tensor's dtype and device."""
    return _new_like(self, np.full(size_arg((size,)), fill_value, _new_dtype(self, dtype)),
                     dtype, requires_grad, device)


def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False, **_):
    """A new tensor from ``data`` with this tensor's dtype and device (unless given)."""
    if isinstance(data, Tensor):
        data = np.asarray(data.detach()._data)
    return _new_like(self, np.array(data, dtype=_new_dtype(self, dtype)), dtype, requires_grad,
                     device)


def _attach() -> None:
    from . import pointwise as P
    T = Tensor
    T.__mod__ = lambda self, other: remainder(self, other)
    T.__rmod__ = lambda self, other: remainder(other, self)
    T.__floordiv__ = lambda self, other: floor_divide(self, other)
    T.__rfloordiv__ = lambda self, other: floor_divide(other, self)
    T.remainder = remainder
    T.fmod = fmod
    T.floor_divide = floor_divide
    T.round = lambda self, decimals=0: round(self, decimals=decimals)
    T.__round__ = lambda self, ndigits=None: (self.item().__round__(ndigits) if self.ndim == 0
                                              and ndigits is None else
                                              round(self, decimals=ndigits or 0))
    for name in ("trunc", "fix", "atan2", "arctan2", "expm1", "log2", "diag", "nonzero",
                 "isclose", "median", "addcmul", "addcdiv"):
        setattr(T, name, globals()[name])
    for name in ("new_zeros", "new_ones", "new_empty", "new_full", "new_tensor"):
        setattr(T, name, globals()[name])
    inplace = {
        "remainder_": remainder, "fmod_": fmod, "floor_divide_": floor_divide,
        "round_": lambda x, decimals=0: round(x, decimals=decimals), "trunc_": trunc,
        "fix_": trunc, "atan2_": atan2, "arctan2_": atan2, "expm1_": expm1, "log2_": log2,
        "exp_": P.exp, "log_": P.log, "sigmoid_": P.sigmoid, "tanh_": P.tanh, "relu_": P.relu,
        "sqrt_": P.sqrt, "abs_": P.abs, "neg_": P.neg, "pow_": P.pow, "square_": P.square,
        "sin_": P.sin, "cos_": P.cos, "rsqrt_": P.rsqrt, "sign_": P.sign,
        "addcmul_": addcmul, "addcdiv_": addcdiv,
    }
    for name, fn in inplace.items():
        if name not in T.__dict__:
            setattr(T, name, _inplace(name, fn))
    # ``x %= y`` / ``x //= y``: in place outside a graph, else rebinding x (as ``+=`` here)
    from .methods import _inplace_method
    T.__imod__ = _inplace_method("remainder_", T.__mod__)
    T.__ifloordiv__ = _inplace_method("floor_divide_", T.__floordiv__)


_attach()
