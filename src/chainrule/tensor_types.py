"""PyTorch's legacy tensor type names ('torch.FloatTensor') for ``Tensor.type``.

``t.type()`` answers 'chainrule.FloatTensor' (PyTorch's name with chainrule's prefix, as repr
of a dtype says 'chainrule.float32'); ``t.type(name)`` accepts that spelling, PyTorch's
('torch.FloatTensor'), a bare 'FloatTensor', or any dtype.
"""
from __future__ import annotations

import numpy as np

__all__ = ["type_name", "parse", "FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor",
           "IntTensor", "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor"]

_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
          "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
          "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}
_BY_NAME = {v: k for k, v in _NAMES.items()}


def type_name(dtype) -> str:
    """'chainrule.<Kind>Tensor' for a NumPy dtype."""
    kind = _NAMES.get(np.dtype(dtype).name)
    if kind is None:
        raise TypeError(f"type: no PyTorch tensor type name for dtype {np.dtype(dtype).name}")
    return "chainrule." + kind


def parse(spec) -> np.dtype:
    """The dtype a type name or dtype stands for."""
    if isinstance(spec, str):
        short = spec.rsplit(".", 1)[-1]
        if short in _BY_NAME and spec in (short, "torch." + short, "chainrule." + short):
            return np.dtype(_BY_NAME[short])
        if spec.startswith(("torch.cuda.", "chainrule.cuda.")):
            raise TypeError(f"type: {spec!r} names a CUDA tensor type; use .to('cuda') to move "
                            "a tensor and .type() only to change its dtype")
    try:
        return np.dtype(spec)
    except TypeError:
        raise TypeError(f"type: unknown tensor type {spec!r}; use e.g. 'chainrule.FloatTensor', "
                        "'torch.DoubleTensor' or a dtype") from None


class _LegacyType(type):
    """The metaclass of ``chainrule.FloatTensor`` and friends: calling one builds a Tensor of its
    dtype, and ``isinstance(t, chainrule.FloatTensor)`` asks whether ``t`` has that dtype."""

    def __call__(cls, *args, **kwargs):
        from .tensor import Tensor, _NO_DATA
        from .size import Size
        if "dtype" in kwargs:
            raise TypeError(f"{cls.__name__}(): dtype is fixed ({np.dtype(cls.dtype).name})")
        if not args or isinstance(args[0], Size) or all(type(a) is int for a in args) and (
                len(args) > 1 or not isinstance(args[0], (list, tuple))):
            t = Tensor(*(args or (_NO_DATA,)), **kwargs)   # sizes: zeros of this dtype
            t._data = t._data.astype(cls.dtype)
            return t
        if len(args) > 1:
            raise TypeError(f"{cls.__name__}(): pass data as one list or sizes as integers, "
                            f"got {args!r}")
        return Tensor(args[0], dtype=cls.dtype, **kwargs)

    def __instancecheck__(cls, obj) -> bool:
        from .tensor import Tensor
        return isinstance(obj, Tensor) and obj._data.dtype == cls.dtype

    def __repr__(cls) -> str:
        return f"<class 'chainrule.{cls.__name__}'>"


def _legacy(name: str):
    return _LegacyType(name, (), {"dtype": np.dtype(_BY_NAME[name]),
                                  "__doc__": f"Tensors of dtype {_BY_NAME[name]} (PyTorch's "
                                             f"torch.{name}): sizes or data, as Tensor()."})


FloatTensor, DoubleTensor, HalfTensor = (_legacy(n) for n in ("FloatTensor", "DoubleTensor",
                                                              "HalfTensor"))
LongTensor, IntTensor, ShortTensor = (_legacy(n) for n in ("LongTensor", "IntTensor",
                                                           "ShortTensor"))
CharTensor, ByteTensor, BoolTensor = (_legacy(n) for n in ("CharTensor", "ByteTensor",
                                                           "BoolTensor"))
