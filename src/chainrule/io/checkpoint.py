"""``chainrule.save`` / ``chainrule.load``: checkpoints in the safetensors format, no pickle.

Arrays go into the safetensors body (written and read by the ``safetensors`` package); everything
else (optimizer state, epoch, RNG state, history, configuration) goes into the metadata as one
JSON document under ``chainrule``. A flat dict of tensors (a ``state_dict``) keeps its own keys,
so PyTorch's reader sees ``0.weight``; nested objects store each array under its path
(``optimizer/state/0/exp_avg``) and the JSON tree refers to it by that name.

Integrity (format 2): metadata ``chainrule.sha256`` = ``SHA-256(tag || len(H) || H || data)``,
``H`` the canonical JSON (sorted keys, no spaces) of the whole parsed header without that key and
``data`` every byte after the header: any change to what the file means fails the check, and a
change that parses to the same header (padding, spacing) loads the same content.
Format 1 files (a SHA-256 of the tensors only) load with a warning; saving them again upgrades
them. A file naming either key must pass its check, so one flipped bit cannot make a chainrule
checkpoint pass for a plain safetensors file.
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .. import backend
from ..tensor import Tensor
from .atomic import atomic_open
from .errors import CheckpointError
from .header import METADATA, read_header
from .map_location import place, placer
from .tensor_bytes import from_bytes, to_bytes

__all__ = ["save", "load", "CheckpointError"]

_META_KEY = "chainrule"
_DIGEST_KEY = "chainrule.sha256"
_FORMAT = 2
_TAG = b"chainrule-checkpoint-2\n"
_MARKERS = frozenset({"__tensor__", "__items__", "__tuple__"})  # the tree's own node kinds


def _encode(obj: Any, path: str, arrays: dict) -> Any:
    """JSON tree for ``obj`` with arrays moved into ``arrays`` (name -> ndarray)."""
    if isinstance(obj, Tensor):
        obj = obj._data
    if not isinstance(obj, (np.ndarray, np.generic)) and backend.is_array(obj):
        obj = obj.get()                         # a GPU array is written from a host copy
    if isinstance(obj, np.ndarray):
        name = path or "tensor"
        if name in arrays or name == METADATA:
            raise CheckpointError(f"save: two tensors would be stored under the name {name!r}"
                                  if name in arrays else
                                  f"save: {METADATA!r} cannot name a tensor in safetensors")
        arrays[name] = obj
        return {"__tensor__": name}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        # a user's dict that uses one of the markers as a key goes as pairs, so it reads back
        # as itself rather than as a tensor reference or a tuple
        if all(isinstance(k, str) for k in obj) and not _MARKERS & obj.keys():
            return {k: _encode(v, f"{path}/{k}" if path else k, arrays) for k, v in obj.items()}
        return {"__items__": [[_encode_key(k, path), _encode(v, f"{path}/{k}" if path else str(k),
                                                            arrays)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, f"{path}/{i}" if path else str(i), arrays) for i, v in enumerate(obj)]
        return {"__tuple__": items} if isinstance(obj, tuple) else items
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"save: cannot store a {type(obj).__name__} at {path or 'the top level'!r}; "
                    "checkpoints hold tensors, arrays, numbers, strings, lists and dicts")


def _encode_key(key: Any, path: str) -> Any:
    tensors: dict = {}
    tree = _encode(key, "", tensors)
    if tensors:
        raise TypeError(f"save: a tensor cannot be a dict key (at {path or 'the top level'!r})")
    return tree


def _decode(tree: Any, arrays: dict) -> Any:
    if isinstance(tree, dict):
        if _MARKERS & tree.keys() and len(tree) != 1:
            raise ValueError(f"a node with the keys {sorted(tree)} mixes a marker with others")
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


def _digest(header: dict, chunks) -> str:
    """SHA-256 over the canonical header (without the digest) and the data bytes."""
    meta = {k: v for k, v in header.get(METADATA, {}).items() if k != _DIGEST_KEY}
    canon = json.dumps({**header, METADATA: meta}, sort_keys=True, separators=(",", ":"),
                       ensure_ascii=True).encode("ascii")
    h = hashlib.sha256(_TAG)
    h.update(len(canon).to_bytes(8, "little"))
    h.update(canon)
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()


def _legacy_digest(arrays: dict) -> str:
    """Format 1's checksum: every tensor's name, dtype, shape and bytes, not the metadata."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = arrays[name]
        h.update(f"{name}|{a.dtype.str}|{tuple(a.shape)}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _is_file_object(f: Any) -> bool:
    return not isinstance(f, (str, bytes, os.PathLike)) and (hasattr(f, "write") or
                                                               hasattr(f, "read"))


def _label(f: Any) -> Path:
    """A path for messages: the file's own, or the file object's name."""
    return Path(getattr(f, "name", None) or f"<{type(f).__name__}>") if _is_file_object(f) \
        else Path(f)


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` (tensors, arrays, numbers, strings, lists, dicts) to ``path`` atomically,
    as a safetensors file whose header and data are covered by one SHA-256. ``path`` may also
    be a file object opened for binary writing (written at its position, not atomically: the
    caller owns it)."""
    arrays: dict = {}
    tree = _encode(obj, "", arrays)
    meta = {_META_KEY: json.dumps({"format": _FORMAT, "tree": tree}, allow_nan=True,
                                  separators=(",", ":"))}
    # the package lays the tensors out; the checksum covers that layout, so it is computed on a
    # draft and written into the same file again (the digest moves no offsets)
    draft = to_bytes(arrays, meta)
    header, start = read_header(draft, _label(path))
    meta[_DIGEST_KEY] = _digest(header, (memoryview(draft)[start:],))
    size = len(draft) - start
    del draft
    data = to_bytes(arrays, meta)
    count = f"{len(arrays)} tensor" + ("" if len(arrays) == 1 else "s")
    if _is_file_object(path):
        if not hasattr(path, "write"):
            raise TypeError(f"save: {_label(path)} is not open for writing")
        try:
            path.write(data)
        except TypeError:
            raise TypeError(f"save: {_label(path)} must be opened in binary mode ('wb'); a "
                            "checkpoint is bytes") from None
        return
    with atomic_open(path, "wb", what=f"a checkpoint ({count}, {size} bytes of data)") as f:
        f.write(data)


def load(path: str | os.PathLike, map_location: Any = None, *, weights_only: bool | None = True,
         mmap: bool | None = None) -> Any:
    """Read a checkpoint written by :func:`save` (or any safetensors file of tensors, as a flat
    dict). Raises :class:`CheckpointError` naming the file for anything it cannot trust.

    Tensors load on the CPU; ``map_location`` moves them (see :mod:`chainrule.io.map_location`).
    ``weights_only`` is accepted for PyTorch's sake and is always effectively True: a checkpoint
    holds only arrays and JSON, nothing is unpickled, so no file can run code when loaded.
    ``mmap`` is accepted and ignored (the file is read whole). ``path`` may also be a file
    object opened for binary reading."""
    if weights_only is not None and not isinstance(weights_only, bool):
        raise TypeError(f"load: weights_only must be True, False or None, got {weights_only!r}")
    if _is_file_object(path):
        if not hasattr(path, "read"):
            raise TypeError(f"load: {_label(path)} is not open for reading")
        raw = path.read()
        if isinstance(raw, str):
            raise TypeError(f"load: {_label(path)} must be opened in binary mode ('rb'); a "
                            "checkpoint is bytes")
        return place(_load(_label(path), bytes(raw)), placer(map_location))
    return place(_load(Path(path)), placer(map_location))


def _load(path: Path, raw: bytes | None = None) -> Any:
    if raw is None:
        if not path.is_file():
            raise CheckpointError(f"load: no checkpoint at {path}")
        raw = path.read_bytes()
    header, start = read_header(raw, path)
    arrays = from_bytes(raw, header, path)
    meta = header.get(METADATA, {})
    if _META_KEY not in meta and _DIGEST_KEY not in meta:  # a plain safetensors file
        return {k: Tensor._wrap(v, False, None) for k, v in arrays.items()}
    if _DIGEST_KEY in meta:
        if _digest(header, (memoryview(raw)[start:],)) != meta[_DIGEST_KEY]:
            raise CheckpointError(f"load: {path} is corrupt: its header or tensor data does not "
                                  "match the checksum written with it")
        doc = _document(meta, path, _FORMAT)
    else:
        doc = _document(meta, path, 1)
        if _legacy_digest(arrays) != doc.get("sha256"):
            raise CheckpointError(f"load: {path} is corrupt: its tensor data does not match "
                                  "the checksum written with it")
        warnings.warn(f"load: {path} was written by an older chainrule (checkpoint format 1), "
                      "whose checksum covers the tensor data but not the metadata; save it "
                      "again to protect both", UserWarning, stacklevel=2)
    try:
        return _decode(doc["tree"], arrays)
    except (KeyError, TypeError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"load: {path} has a damaged chainrule header "
                              f"({type(exc).__name__}: {exc})") from None


def _document(meta: dict, path: Path, expected: int) -> dict:
    """The ``chainrule`` metadata document, checked to be of the ``expected`` format (the one
    its checksum key, present or absent, implies)."""
    bad = f"load: {path} has a damaged chainrule header"
    if _META_KEY not in meta:
        raise CheckpointError(f"{bad}: it has a checksum but no {_META_KEY!r} metadata")
    try:
        doc = json.loads(meta[_META_KEY])
    except RecursionError:
        raise CheckpointError(f"{bad}: its metadata nests too deeply") from None
    except ValueError as exc:
        raise CheckpointError(f"{bad}: its metadata is not valid JSON ({exc})") from None
    version = doc.get("format") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or "tree" not in doc or type(version) is not int:
        raise CheckpointError(f"{bad}: its metadata is not a chainrule document")
    if version > _FORMAT:
        raise CheckpointError(f"load: {path} was written by a newer chainrule (checkpoint "
                              f"format {version}; this one reads up to {_FORMAT})")
    if version not in (1, _FORMAT):
        raise CheckpointError(f"{bad}: unknown checkpoint format {version}")
    if version != expected:
        why = (f"format {_FORMAT} files carry a {_DIGEST_KEY!r} checksum and it is missing"
               if version == _FORMAT else
               f"format 1 files carry no {_DIGEST_KEY!r} checksum, yet this one has one")
        raise CheckpointError(f"{bad}: {why}")
    return doc
