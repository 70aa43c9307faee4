"""Atomic file writes: write to a temporary name beside the target, fsync, rename, fsync the
directory.

``os.replace`` is atomic on POSIX and Windows, so a reader (or a crash) sees either the old file
or the new one, never half of either; syncing the directory afterwards makes the new name itself
survive a power cut. Every file a user keeps — checkpoints, metrics, reports — is written
through here.

Files get the permissions a plain ``open(path, "w")`` would give them: an existing target keeps
its mode, a new one gets ``0o666 & ~umask``.

Temporaries are named ``.<target>.<host>.<pid>.<random>.tmp``. A writer killed mid-write
(``kill -9``, OOM) cannot remove its own, so every write first removes the stale temporaries of
*its* target (see :mod:`chainrule.io.stale` for the rule that keeps a live writer's file).
"""
from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path
from typing import IO, Iterator

from .stale import host_tag, remove_stale, temp_stem

__all__ = ["atomic_open", "write_bytes", "write_text"]

# errors of the caller's writes that mean "the file could not be written" (disk full, quota,
# file too large, I/O error); other errors raised in the caller's block are theirs to report
_WRITE_ERRNOS = {getattr(errno, name) for name in ("ENOSPC", "EDQUOT", "EFBIG", "EIO")
                 if hasattr(errno, name)}
_O_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) \
    | getattr(os, "O_CLOEXEC", 0)


def _temp_path(path: Path) -> Path:
    name = f".{temp_stem(path.name)}.{host_tag()}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    return path.with_name(name)


def _write_error(exc: OSError, path: Path, what: str) -> OSError:
    """The same kind of OSError (same errno), naming the target and what was being written."""
    reason = exc.strerror or str(exc)
    return OSError(exc.errno, f"{reason} while writing {what} to {path} (nothing was "
                              "replaced; the temporary file was removed)")


def _create(path: Path) -> tuple[int, Path]:
    """A new temporary beside ``path`` with the mode ``open()`` would give ``path``."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = None
    for _ in range(100):
        tmp = _temp_path(path)
        try:
            fd = os.open(tmp, _O_FLAGS, 0o666)  # the umask applies, as for open()
        except FileExistsError:
            continue
        if mode is not None:
            try:
                if hasattr(os, "fchmod"):
                    os.fchmod(fd, mode)
                else:  # pragma: no cover - Windows
                    os.chmod(tmp, mode)
            except OSError:
                os.close(fd)
                os.unlink(tmp)
                raise
        return fd, tmp
    raise FileExistsError(errno.EEXIST, f"could not create a temporary file beside {path}")


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (POSIX; a no-op where directories cannot be
    opened, as on Windows, or the file system does not sync them)."""
    if os.name == "nt":  # pragma: no cover
        return
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb", *,
                what: str = "data") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success it replaces ``path`` atomically, on
    error it is removed and ``path`` is untouched. ``what`` describes the content for error
    messages ("checkpoint", "metrics"). An OSError while writing (a full disk, a quota) is
    re-raised with the same errno, naming ``path`` and ``what``."""
    if mode not in ("w", "wb", "wt"):
        raise ValueError(f"atomic_open: mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path)
    try:
        fd, tmp = _create(path)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot create a temporary file beside {path} to write "
                                 f"{what}: {exc.strerror or exc}") from exc
    in_body = False
    try:
        text = {"encoding": "utf-8"} if "b" not in mode else {}
        with os.fdopen(fd, mode, **text) as f:
            in_body = True
            yield f
            in_body = False
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and (not in_body or (exc.errno in _WRITE_ERRNOS
                                                         and exc.filename is None)):
            raise _write_error(exc, path, what) from exc
        raise
    try:
        _fsync_dir(path.parent)
    except OSError as exc:
        raise OSError(exc.errno, f"wrote {what} to {path} but could not sync its directory "
                                 f"({exc.strerror or exc}); a power cut may lose the new "
                                 "name") from exc


def write_bytes(path: str | os.PathLike, data: bytes, *, what: str | None = None) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb", what=what or f"{len(data)} bytes") as f:
        f.write(data)


def write_text(path: str | os.PathLike, text: str, *, what: str | None = None) -> None:
    """Write ``text`` to ``path`` atomically, as UTF-8."""
    with atomic_open(path, "w", what=what or f"{len(text)} characters of text") as f:
        f.write(text)
