"""The command line's error type and its one-line report."""
from __future__ import annotations

__all__ = ["CLIError", "one_line"]


class CLIError(Exception):
    """A bad option, value or file: reported as one line on stderr, exit status 2."""


def one_line(exc: BaseException) -> str:
    """The exception's message on one line (a KeyError's quotes removed)."""
    text = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    text = " ".join(str(text).split())
    return text or type(exc).__name__
