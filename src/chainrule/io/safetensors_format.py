"""The safetensors file layout, read and written here so every malformed file gets a clear
:class:`CheckpointError` (the ``safetensors`` package, which reads the files we write, is not
needed to read or write them).

Layout: an 8-byte little-endian header length ``N``; ``N`` bytes of UTF-8 JSON (padded with
spaces so the data starts at a multiple of 8); then the tensors' bytes, little-endian, C order,
back to back. The header maps each tensor's name to ``{"dtype", "shape", "data_offsets":
[begin, end]}`` (offsets relative to the data), plus an optional ``"__metadata__"`` of string
to string. A tensor's byte count is ``prod(shape) * itemsize`` and the offsets tile the data
exactly, as the reference reader requires.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .errors import CheckpointError
from .sniff import describe

__all__ = ["DTYPES", "layout", "encode_header", "parse_header", "read_tensors", "METADATA"]

METADATA = "__metadata__"
MAX_HEADER = 100_000_000  # the reference reader's limit
DTYPES = {"BOOL": np.dtype("?"), "U8": np.dtype("u1"), "I8": np.dtype("i1"),
          "I16": np.dtype("<i2"), "U16": np.dtype("<u2"), "I32": np.dtype("<i4"),
          "U32": np.dtype("<u4"), "I64": np.dtype("<i8"), "U64": np.dtype("<u8"),
          "F16": np.dtype("<f2"), "F32": np.dtype("<f4"), "F64": np.dtype("<f8")}
_NAMES = {dt: name for name, dt in DTYPES.items()}
_NOT_IN_NUMPY = ("BF16", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64")
_ENTRY_KEYS = {"dtype", "shape", "data_offsets"}


def layout(arrays: dict) -> tuple[dict, list]:
    """Header entries for ``arrays`` (name -> ndarray) in name order, and the little-endian
    C-ordered arrays to write, in the same order."""
    entries, out, offset = {}, [], 0
    for name in sorted(arrays):
        a = np.asarray(arrays[name])
        le = a.dtype.newbyteorder("<") if a.dtype.byteorder in "=>" else a.dtype
        if le not in _NAMES:
            raise TypeError(f"save: tensor {name!r} has dtype {a.dtype}, which safetensors "
                            f"cannot store; use one of {sorted(str(d) for d in _NAMES)}")
        a = np.asarray(a, dtype=le, order="C")  # (ascontiguousarray would make 0-d 1-d)
        entries[name] = {"dtype": _NAMES[le], "shape": list(a.shape),
                         "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        out.append(a)
    return entries, out


def encode_header(header: dict) -> bytes:
    """The length field and the JSON header, padded with spaces to a multiple of 8 bytes."""
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    body = text.encode("ascii")
    body += b" " * (-(8 + len(body)) % 8)
    return len(body).to_bytes(8, "little") + body


class _Duplicate(Exception):
    pass


def _pairs(pairs: list) -> dict:
    out = {}
    for k, v in pairs:
        if k in out:
            raise _Duplicate(k)
        out[k] = v
    return out


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _not_safetensors(raw: bytes, path: Path, problem: str) -> CheckpointError:
    kind = describe(raw[:4096])
    if kind is not None:
        return CheckpointError(
            f"load: {path} is not a safetensors checkpoint: it looks like {kind}. chainrule "
            "reads only safetensors files and never unpickles; from PyTorch, write one with "
            "safetensors.torch.save_file(model.state_dict(), path)")
    return CheckpointError(f"load: {path} {problem}")


def parse_header(raw: bytes, path: Path) -> tuple[dict, int]:
    """The validated header of a safetensors file and where its data starts."""
    if not raw:
        raise CheckpointError(f"load: {path} is empty (0 bytes)")
    if len(raw) < 8:
        raise _not_safetensors(raw, path, f"is truncated ({len(raw)} bytes; a safetensors "
                                          "file starts with an 8-byte header length)")
    n = int.from_bytes(raw[:8], "little")
    if n > MAX_HEADER:
        raise _not_safetensors(raw, path, f"is not a safetensors file or is corrupt: its "
                                          f"header length field says {n} bytes (the limit is "
                                          f"{MAX_HEADER})")
    if n > len(raw) - 8:
        raise _not_safetensors(raw, path, f"is truncated: the header says {n} bytes but the "
                                          f"file has {len(raw) - 8} after the length field")
    bad = f"load: {path} has a corrupt safetensors header"
    try:
        text = raw[8:8 + n].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CheckpointError(f"{bad}: byte {exc.start + 8} is not valid UTF-8") from None
    try:
        header = json.loads(text, object_pairs_hook=_pairs, parse_constant=_reject_constant)
    except RecursionError:
        raise CheckpointError(f"{bad}: its JSON nests too deeply") from None
    except _Duplicate as exc:
        raise CheckpointError(f"{bad}: the key {exc.args[0]!r} appears twice") from None
    except ValueError as exc:
        raise CheckpointError(f"{bad}: it is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{bad}: it is a JSON {type(header).__name__}, not an object")
    _check_metadata(header.get(METADATA, {}), bad)
    _check_entries(header, len(raw) - 8 - n, path, bad)
    return header, 8 + n


def _check_metadata(meta, bad: str) -> None:
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise CheckpointError(f"{bad}: {METADATA} must map strings to strings")


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _check_entries(header: dict, body: int, path: Path, bad: str) -> None:
    spans = []
    for name, e in header.items():
        if name == METADATA:
            continue
        where = f"{bad}: tensor {name!r}"
        if not isinstance(e, dict) or set(e) != _ENTRY_KEYS:
            got = sorted(e) if isinstance(e, dict) else type(e).__name__
            raise CheckpointError(f"{where} must have exactly the keys dtype, shape and "
                                  f"data_offsets (it has {got})")
        dt, shape, offs = e["dtype"], e["shape"], e["data_offsets"]
        if dt not in DTYPES:
            why = "is not supported by NumPy" if dt in _NOT_IN_NUMPY else "is not a safetensors dtype"
            raise CheckpointError(f"{where} has dtype {dt!r}, which {why}")
        if not isinstance(shape, list) or not all(_is_int(s) and s >= 0 for s in shape):
            raise CheckpointError(f"{where} has shape {shape!r}; a shape is a list of "
                                  "non-negative integers")
        if not (isinstance(offs, list) and len(offs) == 2 and all(_is_int(o) for o in offs)
                and 0 <= offs[0] <= offs[1]):
            raise CheckpointError(f"{where} has data_offsets {offs!r}; they must be "
                                  "[begin, end] with 0 <= begin <= end")
        need = math.prod(shape) * DTYPES[dt].itemsize
        if offs[1] - offs[0] != need:
            raise CheckpointError(f"{where}: shape {shape} of {dt} needs {need} bytes but its "
                                  f"data_offsets {offs} span {offs[1] - offs[0]}")
        spans.append((offs[0], offs[1], name))
    spans.sort()
    end, prev = 0, None
    for begin, stop, name in spans:
        if begin < end:
            raise CheckpointError(f"{bad}: tensors {prev!r} and {name!r} overlap in the data "
                                  f"(bytes {begin} to {end})")
        if begin > end:
            raise CheckpointError(f"{bad}: {begin - end} bytes before tensor {name!r} belong "
                                  "to no tensor")
        end, prev = stop, name
    if end > body:
        raise CheckpointError(f"load: {path} is truncated: its tensors need {end} bytes of "
                              f"data, the file has {body}")
    if end < body:
        raise CheckpointError(f"{bad}: the file has {body - end} bytes after its last tensor "
                              "that belong to no tensor")


def read_tensors(raw: bytes, header: dict, start: int) -> dict:
    """Native-order, writable copies of the tensors a validated header describes."""
    out = {}
    for name, e in header.items():
        if name == METADATA:
            continue
        dt = DTYPES[e["dtype"]]
        a = np.frombuffer(raw, dtype=dt, count=math.prod(e["shape"]),
                          offset=start + e["data_offsets"][0])
        out[name] = a.astype(dt.newbyteorder("="), copy=True).reshape(tuple(e["shape"]))
    return out
