"""PyTorch's ``out=`` keyword: write a function's result into a given tensor and return it.

The rules, as PyTorch 2.x applies them: the result is cast into ``out``'s dtype when the cast
keeps or widens the kind (bool < integer < floating < complex, :func:`can_cast`), else an error;
an ``out`` of another shape is resized (with PyTorch's warning when it held elements); the write
is an in-place change (``out``'s version moves); none of it is recorded by autograd, so an
argument that requires grad while grad mode is on is an error. Tuple results (values, indices)
take a tuple of outs whose dtypes must match exactly, as index outputs (``argmax``) must be int64.

:func:`install` rebinds the public functions of a namespace to thin wrappers with the same
signature plus a keyword-only ``out=None``; called without ``out`` a wrapper costs one
``is None`` test and the extra call.
"""
from __future__ import annotations

import inspect
import warnings
from typing import Any, Callable

import numpy as np

from ..autograd import grad_mode
from ..tensor import Tensor

# Public functions PyTorch gives out=, by how the result meets out.
ELEMENTWISE_AND_REDUCTIONS = (
    "matmul", "mm", "bmm", "addmm", "addmv", "addr", "baddbmm", "addbmm", "dot", "vdot", "mv",
    "outer", "inner", "kron", "tensordot", "add", "sub", "subtract", "mul", "multiply", "div",
    "divide", "true_divide", "floor_divide", "pow", "float_power", "neg", "negative", "abs",
    "absolute", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt",
    "square", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "arctan2", "sinh", "cosh",
    "tanh", "asinh", "acosh", "atanh", "arcsin", "arccos", "arctan", "sigmoid", "logit", "erf",
    "erfc", "erfinv", "reciprocal", "sign", "sgn", "trunc", "fix", "frac", "clamp", "clip",
    "maximum", "minimum", "fmax", "fmin", "hypot", "lerp", "addcmul", "addcdiv", "where", "cat",
    "concat", "concatenate", "stack", "hstack", "vstack", "dstack", "column_stack", "sum",
    "nansum", "mean", "nanmean", "prod", "cumsum", "cumprod", "logsumexp", "logcumsumexp",
    "amax", "amin", "max", "min", "all", "any", "std", "var", "std_mean", "var_mean",
    "remainder", "fmod", "round", "floor", "ceil", "gather", "index_select", "index_add",
    "take_along_dim", "masked_select", "logical_and", "logical_or", "logical_not",
    "logical_xor", "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less",
    "less_equal", "not_equal", "tril", "triu", "diag", "median", "mode", "kthvalue", "sort",
    "topk", "cummax", "cummin", "bernoulli", "multinomial", "normal",
)
# Index outputs: out must be int64 exactly (PyTorch: "Expected out tensor to have dtype long int").
INDEX_RESULTS = ("argmax", "argmin", "nonzero")
# Factories: out's dtype and device stand in for dtype=/device= when those are not given.
FACTORIES = ("zeros", "ones", "full", "empty", "arange", "linspace", "logspace", "eye", "rand",
             "randn", "randint", "randperm")

_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
_TORCH_DTYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half",
                      "bfloat16": "BFloat16", "int64": "Long", "int32": "Int", "int16": "Short",
                      "int8": "Char", "uint8": "Byte", "bool": "Bool", "complex64": "ComplexFloat",
                      "complex128": "ComplexDouble"}
_LONG_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
               "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
               "bool": "bool"}


def can_cast(from_dtype: Any, to_dtype: Any) -> bool:
    """Whether a result of ``from_dtype`` may be written into ``to_dtype``: the kind may stay or
    widen (bool → integer → floating → complex), any size (PyTorch's ``torch.can_cast``)."""
    return _KIND_RANK[np.dtype(to_dtype).kind] >= _KIND_RANK[np.dtype(from_dtype).kind]


def _torch_name(dtype: Any) -> str:
    name = np.dtype(dtype).name
    return _TORCH_DTYPE_NAMES.get(name, name)


def _check_out(op: str, out: Any) -> Tensor:
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}(): argument 'out' must be a Tensor, not {type(out).__name__}")
    return out


def _refuse_autograd(op: str, result: Tensor, out: Tensor) -> None:
    if grad_mode._grad_enabled[0] and (result.requires_grad or out.requires_grad):
        raise RuntimeError(f"{op}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")


def _write(op: str, result: Tensor, out: Tensor, exact: bool) -> Tensor:
    """Cast ``result`` into ``out`` (resized to its shape when they differ) in place."""
    have, want = result._data.dtype, out._data.dtype
    if exact and have != want:
        raise RuntimeError(f"{op}(): expected out tensor to have dtype "
                           f"{_LONG_NAMES.get(np.dtype(have).name, have)}, but got "
                           f"{_LONG_NAMES.get(np.dtype(want).name, want)} instead")
    if not can_cast(have, want):
        raise RuntimeError(f"{op}(): result type {_torch_name(have)} can't be cast to the "
                           f"desired output type {_torch_name(want)}")
    if result.device != out.device:
        raise RuntimeError(f"{op}(): the result is on {result.device} but out is on "
                           f"{out.device}; out= cannot copy across devices")
    shape = tuple(result._data.shape)
    if tuple(out._data.shape) == shape:
        out._data[...] = result._data
    else:
        if out._data.size:
            warnings.warn(
                f"An output with one or more elements was resized since it had shape "
                f"{list(out._data.shape)}, which does not match the required output shape "
                f"{list(shape)}. This behavior is deprecated, and in a future PyTorch release "
                "outputs will not be resized unless they have zero elements. You can explicitly "
                "reuse an out tensor t by resizing it, inplace, to zero elements with "
                "t.resize_(0). (chainrule: out= in " + op + ")", UserWarning, stacklevel=4)
        out._data = result._data.astype(want, copy=result._data.dtype != want)
    out._bump_version()
    return out


def write_out(op: str, result: Any, out: Any, *, index: bool = False) -> Any:
    """Write ``result`` (a tensor, or a tuple such as (values, indices)) into ``out`` under
    PyTorch's rules (see the module docstring) and return ``out`` (or the tuple of outs)."""
    if isinstance(result, tuple):
        if not isinstance(out, (tuple, list)) or len(out) != len(result):
            raise TypeError(f"{op}(): out must be a tuple of {len(result)} tensors for this "
                            f"call, got {type(out).__name__}")
        outs = [_check_out(op, o) for o in out]
        for r, o in zip(result, outs):
            _refuse_autograd(op, r, o)
        written = [_write(op, r, o, exact=True) for r, o in zip(result, outs)]
        return type(result)(*written) if hasattr(result, "_fields") else tuple(written)
    _check_out(op, out)
    _refuse_autograd(op, result, out)
    return _write(op, result, out, exact=index)


def _call_with_out(op: str, fn: Callable, factory: bool, index: bool, out: Any,
                   args: tuple, kwargs: dict) -> Any:
    if factory:
        _check_out(op, out)
        _refuse_autograd(op, out, out)
        if "dtype" in kwargs and kwargs["dtype"] is None:
            kwargs["dtype"] = out.dtype
        if "device" in kwargs and kwargs["device"] is None:
            kwargs["device"] = out.device
    elif isinstance(out, Tensor) and out.requires_grad and grad_mode._grad_enabled[0]:
        _refuse_autograd(op, out, out)     # before computing, as PyTorch does
    return write_out(op, fn(*args, **kwargs), out, index=index)


def with_out(fn: Callable, name: str | None = None) -> Callable:
    """``fn`` with a keyword-only ``out=None`` added to its signature (same other parameters and
    defaults); ``out`` given, the result is written into it by :func:`write_out`."""
    inner = getattr(fn, "__size_keyword_inner__", None)
    if inner is not None:       # f(*size, ...) that also takes size=: out= goes on the inner one
        from ._args import size_keyword
        return size_keyword(with_out(inner, name))
    op = name or fn.__name__
    sig = inspect.signature(fn)
    if "out" in sig.parameters:
        return fn
    head, call, pos, kw, env = [], [], [], [], {"_fn": fn, "_call": _call_with_out}
    star, last_positional_only = False, 0
    for i, p in enumerate(sig.parameters.values()):
        default = ""
        if p.default is not p.empty:
            env[f"_d{i}"] = p.default
            default = f"=_d{i}"
        if p.kind is p.VAR_KEYWORD:
            raise TypeError(f"with_out: {op} takes **{p.name}; give it out= by hand")
        if p.kind is p.VAR_POSITIONAL:
            head.append(f"*{p.name}")
            call.append(f"*{p.name}")
            pos.append(f"*{p.name}")
            star = True
        elif p.kind is p.KEYWORD_ONLY:
            if not star:
                head.append("*")
                star = True
            head.append(p.name + default)
            call.append(f"{p.name}={p.name}")
            kw.append(f"{p.name!r}: {p.name}")
        else:
            head.append(p.name + default)
            call.append(p.name)
            pos.append(p.name)
            if p.kind is p.POSITIONAL_ONLY:
                last_positional_only = len(head)
    if last_positional_only:
        head.insert(last_positional_only, "/")
    if not star:
        head.append("*")
    head.append("out=None")
    factory, index = op in FACTORIES, op in INDEX_RESULTS
    env.update(_op=op, _factory=factory, _index=index)
    source = (f"def {op}({', '.join(head)}):\n"
              f"    if out is None:\n"
              f"        return _fn({', '.join(call)})\n"
              f"    return _call(_op, _fn, _factory, _index, out, ({', '.join(pos)}{',' if pos else ''}), "
              f"{{{', '.join(kw)}}})\n")
    exec(compile(source, f"<out= wrapper of {op}>", "exec"), env)  # noqa: S102 - built from a signature
    wrapper = env[op]
    wrapper.__doc__ = fn.__doc__
    wrapper.__module__ = fn.__module__
    wrapper.__qualname__ = getattr(fn, "__qualname__", op)
    out_param = inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None)
    params = list(sig.parameters.values())
    wrapper.__signature__ = sig.replace(parameters=params + [out_param])
    wrapper.__wrapped_without_out__ = fn
    return wrapper


def install(namespace: dict) -> list[str]:
    """Rebind, in ``namespace``, each function PyTorch gives ``out=`` to its :func:`with_out`
    wrapper; returns the names rebound."""
    done = []
    for name in (*ELEMENTWISE_AND_REDUCTIONS, *INDEX_RESULTS, *FACTORIES):
        fn = namespace.get(name)
        if fn is None or not callable(fn) or isinstance(fn, type):
            continue
        try:
            namespace[name] = with_out(fn, name)
        except (TypeError, ValueError):      # a signature we cannot mirror: left as it is
            continue
        done.append(name)
    return done
