"""The report's error type."""
from __future__ import annotations

__all__ = ["ReportError"]


class ReportError(ValueError):
    """A run folder's file is missing, unreadable or damaged; the message names the file."""
