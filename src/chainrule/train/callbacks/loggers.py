"""Per-epoch metrics logs on disk: CSV (rewritten atomically every epoch) and JSON Lines
(one line appended per epoch, flushed and fsynced — a crash can at worst cut the last line,
which :func:`read_jsonl` skips). On a resumed run both start from the checkpoint's history, so
the files never hold epochs the resumed run will redo."""
from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

from ...io import write_text
from .base import Callback

__all__ = ["CSVLogger", "JSONLLogger", "read_jsonl", "history_csv"]


def history_csv(rows: list[dict]) -> str:
    """Rows as CSV text; the columns are every key in order of first appearance, blanks where
    a row lacks one."""
    columns: dict[str, None] = {}
    for row in rows:
        for k in row:
            columns.setdefault(k, None)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), restval="", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else repr(v) if isinstance(v, float) else v)
                         for k, v in row.items()})
    return buf.getvalue()


class CSVLogger(Callback):
    """Writes the whole history to ``path`` as CSV after every epoch (atomic rewrite)."""

    order = 70
    rank_zero_only = True  # under mpiexec: only rank 0 writes

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def on_train_begin(self, trainer) -> None:
        write_text(self.path, history_csv(list(trainer.history)))

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        write_text(self.path, history_csv(list(trainer.history)))


def _line(row: dict) -> str:
    return json.dumps(row, allow_nan=True, separators=(",", ":")) + "\n"


class JSONLLogger(Callback):
    """Appends one JSON object per epoch to ``path``. At the start of training the file is
    rewritten (atomically) from the trainer's history: empty for a fresh run, the epochs kept
    in the checkpoint for a resumed one."""

    order = 70
    rank_zero_only = True  # under mpiexec: only rank 0 writes

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def on_train_begin(self, trainer) -> None:
        write_text(self.path, "".join(_line(r) for r in trainer.history))

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(_line(logs))
            f.flush()
            os.fsync(f.fileno())


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """The rows of a JSON Lines log; a cut-off last line (a crash mid-write) is skipped, any
    other bad line is an error naming the file and line."""
    lines = Path(path).read_text(encoding="utf-8").split("\n")
    rows = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError:
            if i == len(lines) - 1:  # the last line has no newline: an interrupted append
                break
            raise ValueError(f"read_jsonl: {path}, line {i + 1} is not valid JSON") from None
    return rows
