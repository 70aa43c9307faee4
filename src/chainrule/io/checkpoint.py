"""``chainrule.save`` / ``chainrule.load``: checkpoints in the safetensors format, no pickle.

Arrays go into the safetensors body; everything else (optimizer hyperparameters and step counts,
scheduler state, epoch, RNG state, history, the model's configuration) goes into the header's
metadata as one JSON document under the key ``chainrule``. A flat dict of tensors (a model's
``state_dict``) is stored under its own keys, so PyTorch's safetensors reader sees the same
names (``0.weight``, ``bn.running_mean``). Nested objects store each array under its
path (``optimizer/state/0/exp_avg``) and the JSON tree refers to it by that name.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..tensor import Tensor
from .atomic import write_bytes

__all__ = ["save", "load", "CheckpointError"]

_META_KEY = "chainrule"
_FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupt or not a chainrule checkpoint."""


def _safetensors_numpy():
    try:
        from safetensors import numpy as st_numpy
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("checkpoints need the safetensors package: "
                          "pip install 'chainrule[io]'") from None
    return st_numpy


def _encode(obj: Any, path: str, arrays: dict) -> Any:
    """JSON tree for ``obj`` with arrays moved into ``arrays`` (name -> ndarray)."""
    if isinstance(obj, Tensor):
        obj = obj._data
    if isinstance(obj, np.ndarray):
        name = path or "tensor"
        if name in arrays:
            raise CheckpointError(f"save: two tensors would be stored under the name {name!r}")
        arrays[name] = obj if obj.flags.c_contiguous else obj.copy(order="C")  # keeps 0-d as 0-d
        return {"__tensor__": name}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {k: _encode(v, f"{path}/{k}" if path else k, arrays) for k, v in obj.items()}
        return {"__items__": [[_encode(k, "", {}), _encode(v, f"{path}/{k}" if path else str(k),
                                                         arrays)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, f"{path}/{i}" if path else str(i), arrays) for i, v in enumerate(obj)]
        return {"__tuple__": items} if isinstance(obj, tuple) else items
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"save: cannot store a {type(obj).__name__} at {path or 'the top level'!r}; "
                    "checkpoints hold tensors, arrays, numbers, strings, lists and dicts")


def _decode(tree: Any, arrays: dict) -> Any:
    if isinstance(tree, dict):
        if "__tensor__" in tree:
            return Tensor._wrap(arrays[tree["__tensor__"]], False, None)
        if "__items__" in tree:
            return {_decode(k, arrays): _decode(v, arrays) for k, v in tree["__items__"]}
        if "__tuple__" in tree:
            return tuple(_decode(v, arrays) for v in tree["__tuple__"])
        return {k: _decode(v, arrays) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_decode(v, arrays) for v in tree]
    return tree


def _digest(arrays: dict) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes (safetensors has no checksum)."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = arrays[name]
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` (tensors, arrays, numbers, strings, lists, dicts) to ``path`` atomically."""
    arrays: dict = {}
    tree = _encode(obj, "", arrays)
    meta = {_META_KEY: json.dumps({"format": _FORMAT, "sha256": _digest(arrays), "tree": tree},
                                  allow_nan=True, separators=(",", ":"))}
    data = _safetensors_numpy().save(arrays, metadata=meta)
    write_bytes(path, data)


def load(path: str | os.PathLike) -> Any:
    """Read a checkpoint written by :func:`save` (or any safetensors file of tensors)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"load: no checkpoint at {path}")
    raw = path.read_bytes()
    arrays, meta = _parse(raw, path)
    if meta is None or _META_KEY not in meta:  # a plain safetensors file: a flat dict of tensors
        return {k: Tensor._wrap(v, False, None) for k, v in arrays.items()}
    try:
        doc = json.loads(meta[_META_KEY])
        expected = doc["sha256"]
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"load: {path} has a damaged chainrule header ({exc})") from None
    if _digest(arrays) != expected:
        raise CheckpointError(f"load: {path} is corrupt: its tensor data does not match the "
                              "checksum written with it")
    try:
        return _decode(doc["tree"], arrays)
    except (KeyError, TypeError) as exc:
        raise CheckpointError(f"load: {path} has a damaged chainrule header ({exc})") from None


def _parse(raw: bytes, path: Path) -> tuple[dict, dict | None]:
    """Arrays and metadata from safetensors bytes, with errors that name the file."""
    if len(raw) < 8:
        raise CheckpointError(f"load: {path} is truncated ({len(raw)} bytes)")
    header_len = int.from_bytes(raw[:8], "little")
    if header_len > len(raw) - 8:
        raise CheckpointError(f"load: {path} is truncated: the header says {header_len} bytes "
                              f"but the file has {len(raw) - 8} after the length field")
    try:
        header = json.loads(raw[8:8 + header_len])
    except ValueError:
        raise CheckpointError(f"load: {path} is not a safetensors file or its header is "
                              "corrupt") from None
    body = len(raw) - 8 - header_len
    ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"]
    if ends and max(ends) > body:
        raise CheckpointError(f"load: {path} is truncated: tensors need {max(ends)} bytes of "
                              f"data, the file has {body}")
    try:
        arrays = _safetensors_numpy().load(raw)
    except Exception as exc:  # safetensors raises its own error type
        raise CheckpointError(f"load: {path} is corrupt ({exc})") from None
    return arrays, header.get("__metadata__")
