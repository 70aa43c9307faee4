"""Stale temporaries of atomic writes: which ones are safe to remove.

A temporary is named ``.<stem>.<host>.<pid>.<random>.tmp`` (stem: the target's name, cut to
120 characters so the whole name stays within the 255 bytes file systems allow). It is stale,
and removed before the next write to the same target, when

* it was made on this host by a process that no longer exists (``kill -9``, OOM kill, power
  loss) — a live writer, this process included, keeps its file; or
* it cannot be attributed (made on another host sharing the directory, or by chainrule before
  the pid was in the name: ``.<target>.<8 random chars>.tmp``) and nobody has written to it for
  a day. A writer appends to its temporary continuously and renames it within seconds to
  minutes, so a day without a change means its writer is gone; a slower rule (age alone, for
  every file) would either delete a slow live writer's file or keep garbage for days.

Only names this library's pattern makes are considered; nothing else in the directory is
touched. A pid recycled by an unrelated process keeps its orphan until that process ends — the
safe direction of the mistake.
"""
from __future__ import annotations

import contextlib
import os
import re
import socket
import time
from functools import lru_cache
from pathlib import Path

__all__ = ["host_tag", "temp_stem", "remove_stale", "UNATTRIBUTED_STALE_AFTER_S"]

UNATTRIBUTED_STALE_AFTER_S = 24 * 3600
_STEM_CHARS = 120


def temp_stem(name: str) -> str:
    return name[:_STEM_CHARS]


@lru_cache(maxsize=1)
def host_tag() -> str:
    """This host's name as letters, digits and '-' (at most 32), for temporaries' names."""
    tag = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname() or "host")[:32]
    return tag or "host"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name == "nt":  # pragma: no cover - os.kill(pid, 0) would terminate it on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # exists (another user's) or not a pid we can judge: keep its file
    return True


def _is_stale(name: str, full: Path, ours: re.Pattern, legacy: re.Pattern, now: float) -> bool:
    m = ours.fullmatch(name)
    if m is not None and m["host"] == host_tag():
        return not _pid_alive(int(m["pid"]))
    if m is None and legacy.fullmatch(name) is None:
        return False
    try:
        return now - full.stat().st_mtime > UNATTRIBUTED_STALE_AFTER_S
    except OSError:
        return False


def remove_stale(target: Path) -> list[Path]:
    """Remove the stale temporaries of ``target`` (see the module's rule); return them.
    Failures to list or remove are ignored: cleaning is best effort and never blocks a write."""
    stem = re.escape(temp_stem(target.name))
    ours = re.compile(rf"\.{stem}\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)\.[0-9a-f]{{8}}\.tmp")
    legacy = re.compile(rf"\.{re.escape(target.name)}\.[a-z0-9_]{{8}}\.tmp")
    prefix = f".{temp_stem(target.name)}."
    removed = []
    now = time.time()
    try:
        names = [n for n in os.listdir(target.parent) if n.startswith(prefix)]
    except OSError:
        return removed
    for name in names:
        full = target.parent / name
        if (ours.fullmatch(name) or legacy.fullmatch(name)) and \
                _is_stale(name, full, ours, legacy, now):
            with contextlib.suppress(OSError):
                os.unlink(full)
                removed.append(full)
    return removed
