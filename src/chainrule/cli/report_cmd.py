"""``chainrule report RUN_DIR [--out PATH]``: (re)build a run's report page from its files.

``chainrule train`` calls :func:`report_after_training` when a run ends, so a finished run's
folder holds ``report.html`` beside its checkpoint, metrics and curves.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import CLIError

__all__ = ["add_parser", "run", "report_after_training"]


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="build the report page (report.html) of a training run",
                       description="Build RUN_DIR/report.html from the files 'chainrule "
                       "train' wrote there: configuration, final metrics, learning curves, "
                       "gradient-health verdicts, the model's layers and the command that "
                       "reproduces the run. One self-contained file; it fetches nothing.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="the run's folder (train's --out)")
    p.add_argument("--out", default=None, metavar="PATH",
                   help="where to write the page (default: RUN_DIR/report.html)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors "
                   "(default: off)")
    p.set_defaults(command="report")


def _write(run_dir: str | Path, out: str | Path | None) -> Path:
    from ..train.report import ReportError, write_report
    from .reproduce import train_command
    try:
        return write_report(run_dir, out, command=train_command)
    except ReportError as exc:
        raise CLIError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    if not run_dir.exists():
        raise CLIError(f"no run folder at {args.run_dir!r}")
    if not run_dir.is_dir():
        raise CLIError(f"{args.run_dir!r} is not a folder; give the folder 'chainrule train "
                       "--out' wrote")
    path = _write(run_dir, args.out)
    if not args.quiet:
        print(f"wrote {path}")
    return 0


def report_after_training(out: str | Path) -> Path | None:
    """Write ``out/report.html`` at the end of ``chainrule train``; without Jinja2, or when a
    file of the run cannot be shown, print a one-line note and return None: the run itself
    succeeded, and ``chainrule report`` can build the page later."""
    try:
        return _write(out, None)
    except (ImportError, CLIError, OSError) as exc:
        why = " ".join(str(exc).split())
    except Exception as exc:  # a fault in the page must not fail a finished run
        why = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    print(f"chainrule train: note: no report page ({why})", file=sys.stderr)
    return None
