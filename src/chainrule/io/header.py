"""The header of a safetensors file (8 bytes little-endian ``N``, then ``N`` bytes of JSON that
map each tensor's name to ``{"dtype", "shape", "data_offsets"}``, plus ``"__metadata__"``).

Read here because the checksum and the messages for foreign files need its parsed form; checked
only where the ``safetensors`` package cannot name the problem clearly (the JSON's shape,
``__metadata__``, each entry's keys and integers, truncation). Dtypes, byte counts and offset
tiling are the package's to check.
"""
from __future__ import annotations

import json
from pathlib import Path

from .errors import CheckpointError
from .sniff import describe

__all__ = ["METADATA", "read_header"]

METADATA = "__metadata__"
MAX_HEADER = 100_000_000  # the safetensors package's limit
_ENTRY_KEYS = {"dtype", "shape", "data_offsets"}


def read_header(raw: bytes, path: Path) -> tuple[dict, int]:
    """The checked header of the safetensors file ``raw`` and where its data starts."""
    if not raw:
        raise CheckpointError(f"load: {path} is empty (0 bytes)")
    if len(raw) < 8:
        raise _foreign(raw, path, f"is truncated ({len(raw)} bytes; a safetensors file "
                                  "starts with an 8-byte header length)")
    n = int.from_bytes(raw[:8], "little")
    if n > MAX_HEADER:
        raise _foreign(raw, path, f"is not a safetensors file or is corrupt: its header length "
                                  f"field says {n} bytes (the limit is {MAX_HEADER})")
    if n > len(raw) - 8:
        raise _foreign(raw, path, f"is truncated: the header says {n} bytes but the file has "
                                  f"{len(raw) - 8} after the length field")
    bad = f"load: {path} has a corrupt safetensors header"
    header = _parse_json(raw[8:8 + n], bad)
    if not isinstance(header, dict):
        raise CheckpointError(f"{bad}: it is a JSON {type(header).__name__}, not an object")
    meta = header.get(METADATA, {})
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise CheckpointError(f"{bad}: {METADATA} must map strings to strings")
    end = max((_check_entry(name, e, bad) for name, e in header.items() if name != METADATA),
              default=0)
    body = len(raw) - 8 - n
    if end > body:
        raise CheckpointError(f"load: {path} is truncated: its tensors need {end} bytes of "
                              f"data, the file has {body}")
    if end < body:
        raise CheckpointError(f"{bad}: the file has {body - end} bytes after its last tensor "
                              "that belong to no tensor")
    return header, 8 + n


def _foreign(raw: bytes, path: Path, problem: str) -> CheckpointError:
    """``problem``, unless the file is recognisably something else (a pickle, a zip, JSON)."""
    kind = describe(raw[:4096])
    if kind is None:
        return CheckpointError(f"load: {path} {problem}")
    return CheckpointError(
        f"load: {path} is not a safetensors checkpoint: it looks like {kind}. chainrule reads "
        "only safetensors files and never unpickles; from PyTorch, write one with "
        "safetensors.torch.save_file(model.state_dict(), path)")


def _unique(pairs: list) -> dict:
    out = dict(pairs)
    if len(out) < len(pairs):  # readers differ on which copy wins, so neither may
        keys = [k for k, _ in pairs]
        raise KeyError(next(k for k in out if keys.count(k) > 1))
    return out


def _no_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _parse_json(body: bytes, bad: str):
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CheckpointError(f"{bad}: byte {exc.start + 8} is not valid UTF-8") from None
    try:
        return json.loads(text, object_pairs_hook=_unique, parse_constant=_no_constant)
    except RecursionError:
        raise CheckpointError(f"{bad}: its JSON nests too deeply") from None
    except KeyError as exc:
        raise CheckpointError(f"{bad}: the key {exc.args[0]!r} appears twice") from None
    except ValueError as exc:
        raise CheckpointError(f"{bad}: it is not valid JSON ({exc})") from None


def _is_count(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _check_entry(name: str, e, bad: str) -> int:
    """Check one tensor's entry has the keys and integer lists a reader needs; its end offset."""
    where = f"{bad}: tensor {name!r}"
    if not isinstance(e, dict) or set(e) != _ENTRY_KEYS:
        got = sorted(e) if isinstance(e, dict) else type(e).__name__
        raise CheckpointError(f"{where} must have exactly the keys dtype, shape and "
                              f"data_offsets (it has {got})")
    shape, offsets = e["shape"], e["data_offsets"]
    if not isinstance(shape, list) or not all(map(_is_count, shape)):
        raise CheckpointError(f"{where} has shape {shape!r}; a shape is a list of non-negative "
                              "integers")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_count, offsets))):
        raise CheckpointError(f"{where} has data_offsets {offsets!r}; they must be [begin, end], "
                              "two non-negative integers")
    return max(offsets)
