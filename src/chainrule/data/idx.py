"""The IDX file format (MNIST's): a 4-byte magic number, big-endian dimensions, then the data.

Magic number bytes: ``0 0 <type code> <ndim>``; then ``ndim`` big-endian uint32 sizes; then
``prod(sizes)`` items of the type in big-endian order, row-major. MNIST images are
``0x00000803`` (uint8, 3-d: N × 28 × 28) and labels ``0x00000801`` (uint8, 1-d: N).
Files may be gzip-compressed (``.gz``); :func:`read_idx` reads both.
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..io.atomic import atomic_open
from .errors import DataError

__all__ = ["read_idx", "write_idx", "read_idx_header", "IdxHeader", "IDX_TYPES",
           "IMAGES_MAGIC", "LABELS_MAGIC"]

# IDX type code -> big-endian NumPy dtype
IDX_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
             0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_CODES = {dt.newbyteorder("="): code for code, dt in IDX_TYPES.items()}
IMAGES_MAGIC = 0x00000803  # uint8, 3 dimensions
LABELS_MAGIC = 0x00000801  # uint8, 1 dimension


class IdxHeader(NamedTuple):
    """What an IDX header says: the item dtype (big-endian), the shape, and where data starts."""
    magic: int
    dtype: np.dtype
    shape: tuple[int, ...]
    offset: int

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _parse_header(head: bytes, source, expect_magic: int | None) -> IdxHeader:
    if len(head) < 4:
        raise DataError(source, f"truncated IDX file: {len(head)} bytes, too short for the "
                                f"4-byte magic number")
    magic = int.from_bytes(head[:4], "big")
    code, ndim = head[2], head[3]
    if head[0] != 0 or head[1] != 0 or code not in IDX_TYPES or ndim == 0:
        raise DataError(source, f"wrong magic number 0x{magic:08X}: not an IDX file (expected "
                                f"0x0000TTDD with type code TT in "
                                f"{{{', '.join(f'{c:02X}' for c in IDX_TYPES)}}} and DD >= 1 "
                                f"dimensions)")
    if expect_magic is not None and magic != expect_magic:
        raise DataError(source, f"wrong magic number 0x{magic:08X}, expected "
                                f"0x{expect_magic:08X} ({IDX_TYPES[(expect_magic >> 8) & 0xFF].name}"
                                f", {expect_magic & 0xFF}-d)")
    end = 4 + 4 * ndim
    if len(head) < end:
        raise DataError(source, f"truncated IDX header: {ndim} dimensions need {end} bytes, "
                                f"the file has {len(head)}")
    shape = tuple(int.from_bytes(head[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return IdxHeader(magic, IDX_TYPES[code], shape, end)


def read_idx_header(path, expect_magic: int | None = None) -> IdxHeader:
    """Parse the header of an uncompressed or gzipped IDX file without reading its data."""
    path = Path(path)
    opener = gzip.open if _is_gzip(path) else open
    try:
        with opener(path, "rb") as f:
            head = f.read(4 + 4 * 255)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(path, f"cannot read the gzip stream ({e})") from None
    return _parse_header(head, path, expect_magic)


def _check_size(header: IdxHeader, have: int, source) -> None:
    want = header.nbytes
    dims = " × ".join(map(str, header.shape))
    if have < want:
        raise DataError(source, f"truncated IDX file: the header promises {dims} items of "
                                f"{header.dtype.itemsize} byte(s) = {want} data bytes, found {have}")
    if have > want:
        raise DataError(source, f"IDX file has {have - want} bytes beyond the {dims} items its "
                                f"header declares (corrupt or not an IDX file)")


def read_idx(path, expect_magic: int | None = None) -> np.ndarray:
    """Read a whole IDX file (raw or ``.gz``) into a native-byte-order array.

    ``expect_magic`` (e.g. :data:`IMAGES_MAGIC`) makes any other magic number a
    :class:`DataError`, as is a truncated file or one with trailing bytes.
    """
    path = Path(path)
    try:
        if _is_gzip(path):
            with gzip.open(path, "rb") as f:
                raw = f.read()
        else:
            raw = path.read_bytes()
    except FileNotFoundError:
        raise
    except (OSError, EOFError, zlib.error) as e:
        # gzip raises EOFError on a cut-off stream and BadGzipFile/zlib.error on corruption
        problem = "truncated gzip stream" if isinstance(e, EOFError) else "corrupt gzip stream"
        raise DataError(path, f"{problem} ({e})") from None
    header = _parse_header(raw[:4 + 4 * 255], path, expect_magic)
    _check_size(header, len(raw) - header.offset, path)
    arr = np.frombuffer(raw, dtype=header.dtype, offset=header.offset).reshape(header.shape)
    return arr.astype(header.dtype.newbyteorder("="))  # a writable, native-order copy


def write_idx(path, array) -> Path:
    """Write ``array`` as an IDX file (gzipped when ``path`` ends in ``.gz``), atomically.

    Supported dtypes: uint8, int8, int16, int32, float32, float64.
    """
    path = Path(path)
    arr = np.asarray(array)
    native = arr.dtype.newbyteorder("=")
    if native not in _CODES:
        raise TypeError(f"write_idx: IDX cannot store dtype {np.dtype(arr.dtype).name}; use one of "
                        f"{sorted(str(d.newbyteorder('=')) for d in IDX_TYPES.values())}")
    if arr.ndim == 0 or arr.ndim > 255:
        raise ValueError(f"write_idx: need 1 to 255 dimensions, got shape {tuple(arr.shape)}")
    header = bytes([0, 0, _CODES[native], arr.ndim])
    header += b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    payload = header + np.ascontiguousarray(arr, dtype=IDX_TYPES[_CODES[native]]).tobytes()
    with atomic_open(path, "wb", what=f"an IDX file of shape {tuple(arr.shape)}") as f:
        if path.suffix == ".gz":
            with gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as g:
                g.write(payload)
        else:
            f.write(payload)
    return path
