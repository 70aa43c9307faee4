"""Recognise common non-safetensors files by their first bytes, for error messages."""
from __future__ import annotations

__all__ = ["describe"]

# (magic prefix, what a file starting with it is)
_MAGIC = (
    (b"PK\x03\x04", "a zip archive (PyTorch's torch.save format)"),
    (b"\x93NUMPY", "a NumPy .npy file"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file (Keras/h5py)"),
    (b"\x1f\x8b", "a gzip file"),
)


def describe(raw: bytes) -> str | None:
    """What ``raw`` (a file's first bytes, or all of it) looks like, or None when it is not a
    format we recognise. A pickle starts with the PROTO opcode ``0x80`` and a protocol number
    2..5 (PyTorch's legacy torch.save and pickle.dump write that); JSON is text that starts
    with ``{`` or ``[`` after optional whitespace."""
    for magic, what in _MAGIC:
        if raw.startswith(magic):
            return what
    if len(raw) >= 2 and raw[0] == 0x80 and 2 <= raw[1] <= 5:
        return "a pickle file (PyTorch's legacy torch.save format or pickle.dump)"
    text = raw.lstrip(b" \t\r\n\xef\xbb\xbf")
    if text[:1] in (b"{", b"[") and _mostly_text(raw):
        return "a JSON document (for example metrics.json)"
    if raw and _mostly_text(raw):
        return "a text file"
    return None


def _mostly_text(raw: bytes) -> bool:
    head = raw[:512]
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # a multi-byte character cut by the slice is fine
            return False
    return all(b >= 0x20 or b in b"\t\r\n" for b in head)
