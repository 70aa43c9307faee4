"""Verified downloads into chainrule's cache: mirrors tried in turn, md5-checked, atomic.

A file is streamed to a temporary name beside its destination while its md5 is computed; only
when the byte count matches ``Content-Length`` and the digest matches the published one is it
renamed into place (``os.replace``), so a truncated or corrupted download never replaces a good
cached file, and a crash never leaves half a file under the real name.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO, Sequence

from ..io.atomic import atomic_open
from .errors import DataError, DownloadError

__all__ = ["cache_dir", "md5sum", "download"]

_CHUNK = 1 << 20


def cache_dir(*parts: str) -> Path:
    """``$CHAINRULE_DATA`` if set, else ``~/.cache/chainrule``, joined with ``parts``."""
    root = os.environ.get("CHAINRULE_DATA")
    base = Path(root) if root else Path.home() / ".cache" / "chainrule"
    return base.joinpath(*parts)


def md5sum(path) -> str:
    """Hex md5 digest of a file, read in 1 MiB chunks."""
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _fetch(url: str, out: BinaryIO, md5: str | None, timeout: float) -> None:
    """Stream ``url`` into ``out``; raise DataError if it is short or its md5 is wrong."""
    req = urllib.request.Request(url, headers={"User-Agent": "chainrule"})
    h = hashlib.md5(usedforsecurity=False)
    got = 0
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        expected = resp.headers.get("Content-Length")
        while True:
            try:
                chunk = resp.read(_CHUNK)
            except http.client.IncompleteRead as e:
                got += len(e.partial)
                raise DataError(url, f"truncated download: the connection closed after {got} "
                                     f"of {expected} bytes") from None
            if not chunk:
                break
            out.write(chunk)
            h.update(chunk)
            got += len(chunk)
    if expected is not None and got != int(expected):
        raise DataError(url, f"truncated download: received {got} of {expected} bytes")
    if md5 is not None and h.hexdigest() != md5.lower():
        raise DataError(url, f"checksum mismatch: md5 {h.hexdigest()}, expected {md5.lower()} "
                             f"({got} bytes received)")


def download(urls: Sequence[str] | str, dest, md5: str | None = None, *, force: bool = False,
             timeout: float = 30.0, verbose: bool = False) -> Path:
    """Fetch ``dest`` from the first of ``urls`` that delivers a complete file whose md5 is
    ``md5`` (when given); mirrors are tried in turn. An existing ``dest`` with the right digest
    is kept unless ``force``. Raises :class:`DownloadError` (a :class:`DataError`) listing
    every mirror's failure; a good
    file already at ``dest`` is then left untouched."""
    dest = Path(dest)
    urls = [urls] if isinstance(urls, str) else list(urls)
    if not urls:
        raise ValueError("download: no URLs given")
    failures = []
    if dest.exists() and not force:
        have = md5sum(dest) if md5 is not None else None
        if have is None or have == md5.lower():
            return dest
        failures.append(f"cached copy has md5 {have}, expected {md5.lower()}; fetching again")
    dest.parent.mkdir(parents=True, exist_ok=True)
    for url in urls:
        if verbose:
            print(f"chainrule: downloading {url} -> {dest}", file=sys.stderr)
        try:
            # the temporary is removed on any failure and renamed only after the checks pass
            with atomic_open(dest, "wb", what=f"a download from {url}") as out:
                _fetch(url, out, md5, timeout)
            return dest
        except DataError as e:
            failures.append(f"{url}: {e.problem}")
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as e:
            failures.append(f"{url}: {type(e).__name__}: {e}")
        if verbose:
            print(f"chainrule: {failures[-1]}", file=sys.stderr)
    raise DownloadError(dest, "download failed from every mirror:\n  " + "\n  ".join(failures))
