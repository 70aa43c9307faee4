"""PyTorch's legacy tensor type names ('torch.FloatTensor') for ``Tensor.type``.

``t.type()`` answers 'chainrule.FloatTensor' (PyTorch's name with chainrule's prefix, as repr
of a dtype says 'chainrule.float32'); ``t.type(name)`` accepts that spelling, PyTorch's
('torch.FloatTensor'), a bare 'FloatTensor', or any dtype.
"""
from __future__ import annotations

import numpy as np

__all__ = ["type_name", "parse"]

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
