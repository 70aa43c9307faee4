"""Run folders for the report tests: one short real training run, a health record written by
hand (two verdicts, one with markup in its evidence) and a tiny PNG."""
from __future__ import annotations

import contextlib
import html
import io
import json
import re
import shutil
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path

import chainrule.cli as cli

# A small, fast run: digits (scikit-learn, no download), one epoch of a small MLP with batch norm.
TRAIN_ARGS = ["train", "--epochs", "1", "--hidden", "16,8", "--batch-norm", "--lr", "0.01",
              "--seed", "3", "--quiet"]
HOSTILE = "<script>alert('x')</script>"


def tiny_png(width: int = 24, height: int = 12) -> bytes:
    """A valid RGB PNG of one colour, written from the format's definition."""
    rows = b"".join(b"\x00" + b"\xc8\x3c\x3c" * width for _ in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


VERDICTS = [
    {"kind": "vanishing_gradient", "layer": "4.weight", "epoch": 1, "step": 30,
     "evidence": f"gradient norm 3e-9 {HOSTILE} stayed below 1e-7", "remedy":
     "use --init kaiming_normal or --batch-norm"},
    {"kind": "exploding_update", "layer": None, "epoch": None, "step": None,
     "evidence": "update/weight ratio 0.4 & rising", "remedy": "lower --lr"},
]


def write_health(run_dir: Path, verdicts: list[dict] | None = None) -> dict:
    record = {"format": "chainrule-health/1", "every": 10, "layers": ["1", "4"],
              "series": {"1": {"epoch": [1], "grad_norm": [0.25], "update_ratio": [0.001]},
                         "4": {"epoch": [1], "grad_norm": [3e-9], "update_ratio": [1e-8]}},
              "verdicts": VERDICTS if verdicts is None else verdicts}
    (run_dir / "health.json").write_text(json.dumps(record), encoding="utf-8")
    (run_dir / "health.png").write_bytes(tiny_png())
    return record


def train_run(run_dir: Path, capsys=None) -> tuple[int, str, str]:
    """``chainrule train`` into ``run_dir`` in-process: (status, stdout, stderr)."""
    code = cli.main(TRAIN_ARGS + ["--out", str(run_dir)])
    out, err = capsys.readouterr() if capsys is not None else ("", "")
    return code, out, err


# the folder name of the shared run: markup, an ampersand and a quote, all to be escaped
RUN_NAME = "digits <script>x&'"
_SHARED: dict[str, tuple[Path, int, str, str]] = {}


def shared_run(tmp_path_factory) -> tuple[Path, int, str, str]:
    """One real run for the whole session (every report test reads it, none changes it):
    (folder, train's exit status, its stdout, its stderr)."""
    if "run" not in _SHARED:
        run_dir = tmp_path_factory.mktemp("report-run") / RUN_NAME
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main([a for a in TRAIN_ARGS if a != "--quiet"]
                            + ["--out", str(run_dir)])
        _SHARED["run"] = (run_dir, code, out.getvalue(), err.getvalue())
    return _SHARED["run"]


def copy_run(tmp_path_factory, tmp_path: Path) -> Path:
    """A private copy of the shared run, for a test that changes files."""
    source = shared_run(tmp_path_factory)[0]
    assert shared_run(tmp_path_factory)[1] == 0
    copy = tmp_path / source.name
    shutil.copytree(source, copy)
    return copy


class Page(HTMLParser):
    """The parts of a page the tests read: every tag's attributes and the visible text."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.chunks: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.chunks.append(data)

    @property
    def text(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.chunks))

    def find(self, tag: str, **attrs: str) -> list[dict]:
        return [a for t, a in self.tags if t == tag
                and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())]


def unescape(text: str) -> str:
    return html.unescape(text)
