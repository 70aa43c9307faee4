"""The command line's error type, its one-line report, and naming what ran out of memory."""
from __future__ import annotations

import contextlib
from typing import Iterator

__all__ = ["CLIError", "one_line", "phase"]


class CLIError(Exception):
    """A bad option, value or file: reported as one line on stderr, exit status 2."""


def one_line(exc: BaseException) -> str:
    """The exception's message on one line (a KeyError's quotes removed)."""
    text = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    text = " ".join(str(text).split())
    return text or type(exc).__name__


@contextlib.contextmanager
def phase(what: str, options: str) -> Iterator[None]:
    """Turn a MemoryError inside the block into a :class:`CLIError` saying what was being
    done, the allocation NumPy refused (its size and shape) and the ``options`` that set it."""
    try:
        yield
    except MemoryError as exc:
        detail = one_line(exc) if str(exc) else "an allocation failed"
        raise CLIError(f"out of memory while {what}: {detail}; {options} set how much this "
                       "needs (give smaller values)") from None
