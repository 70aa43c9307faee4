"""The one exception bad data raises: :class:`DataError`, naming the file and the problem."""
from __future__ import annotations

import os

__all__ = ["DataError"]


class DataError(ValueError):
    """A dataset file or array is unusable: wrong magic number, truncated, checksum mismatch,
    labels out of range, NaN in inputs, inputs and targets of different lengths.

    ``source`` is the file (or a description of the arrays) the problem was found in.
    """

    def __init__(self, source, problem: str):
        self.source = os.fspath(source) if isinstance(source, os.PathLike) else source
        self.problem = problem
        super().__init__(f"{self.source}: {problem}" if self.source else problem)
