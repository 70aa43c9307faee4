"""Figures as ``data:`` URIs, so the report page needs no file beside it and no network.

A PNG is recognised by its eight-byte signature, an SVG by its root ``<svg`` element; anything
else under a figure's name is refused, naming the file. An SVG goes into an ``<img>`` (never
inline), so a script inside one could not run in the page.
"""
from __future__ import annotations

import base64
import re
from pathlib import Path

from .errors import ReportError

__all__ = ["data_uri", "figure", "PNG_SIGNATURE"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SVG_ROOT = re.compile(rb"^\s*(<\?xml[^>]*\?>\s*)?(<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*<svg[\s>]",
                       re.DOTALL)
# A figure larger than this is not embedded (the page would be unwieldy in a browser).
MAX_FIGURE_BYTES = 20 * 2 ** 20


def _mime(path: Path, data: bytes) -> str:
    suffix = path.suffix.lower()
    if suffix == ".png":
        if not data.startswith(PNG_SIGNATURE):
            raise ReportError(f"{path} is not a PNG image (its first bytes are "
                              f"{data[:8]!r}); rebuild or remove it")
        return "image/png"
    if suffix == ".svg":
        if not _SVG_ROOT.match(data[:4096]):
            raise ReportError(f"{path} is not an SVG image (no <svg> root element); rebuild "
                              "or remove it")
        return "image/svg+xml"
    raise ReportError(f"{path}: only .png and .svg figures can be embedded")


def data_uri(path: str | Path) -> str:
    """``data:<mime>;base64,<bytes>`` of a PNG or SVG file: the figure itself, in the page."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReportError(f"cannot read the figure {path} ({exc.strerror or exc})") from None
    if len(data) > MAX_FIGURE_BYTES:
        raise ReportError(f"{path} is {len(data):,} bytes, more than the "
                          f"{MAX_FIGURE_BYTES:,} a report embeds")
    mime = _mime(path, data)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def figure(run_dir: Path, stem: str, alt: str) -> dict | None:
    """The figure ``stem``.svg (preferred: it scales) or ``stem``.png of a run folder as
    ``{"name", "uri", "alt"}``; None when neither exists."""
    for suffix in (".svg", ".png"):
        path = run_dir / f"{stem}{suffix}"
        if path.is_file():
            return {"name": path.name, "uri": data_uri(path), "alt": alt}
    return None
