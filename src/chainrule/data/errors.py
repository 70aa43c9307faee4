"""The exceptions bad or missing data raise: :class:`DataError`, naming the file and the problem,
its :class:`DownloadError` for a download no mirror could deliver, and the one wording of
"these files are missing" (:func:`missing_data_message`) that the library, the command line and
the tests' skip reasons share."""
from __future__ import annotations

import os
from typing import Iterable

__all__ = ["DataError", "DownloadError", "missing_data_message", "HOW_TO_POINT"]

HOW_TO_POINT = ("to use local copies, put the files in one of those folders or point chainrule "
                "at the folder holding them: --data-dir DIR on the command line, or the "
                "environment variable CHAINRULE_DATA=DIR (also the download cache)")


class DataError(ValueError):
    """A dataset file or array is unusable: wrong magic number, truncated, checksum mismatch,
    labels out of range, NaN in inputs, inputs and targets of different lengths.

    ``source`` is the file (or a description of the arrays) the problem was found in.
    """

    def __init__(self, source, problem: str):
        self.source = os.fspath(source) if isinstance(source, os.PathLike) else source
        self.problem = problem
        super().__init__(f"{self.source}: {problem}" if self.source else problem)


class DownloadError(DataError):
    """No mirror delivered a complete file with the published checksum (offline, say)."""


def missing_data_message(what: str, looked: Iterable, detail: str = "") -> str:
    """One line: ``what`` is missing (a phrase such as ``"mnist: no t10k-images-idx3-ubyte.gz
    found"``), every place in ``looked`` (in the order searched), an optional ``detail`` (why no
    download helped), and how to point chainrule at local files."""
    places: list[str] = []
    for p in looked:
        text = os.fspath(p)
        if text not in places:
            places.append(text)
    where = ", ".join(places) if places else "nowhere"
    extra = f"; {detail}" if detail else ""
    return f"{what}; looked in {where}{extra}; {HOW_TO_POINT}"
