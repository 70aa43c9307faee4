"""The ``chainrule`` command (also ``python -m chainrule``):

    chainrule train [--dataset digits] [--model mlp] ... [--out DIR]   train and report
    chainrule evaluate CKPT [--dataset NAME] [--split test]             metrics of a checkpoint
    chainrule predict CKPT FILE.npy [--output PATH]                     classes of new inputs

A bad option, value or file prints one line naming it and exits with status 2 (set
``CHAINRULE_DEBUG=1`` to see the traceback instead); Ctrl-C during training saves a checkpoint
and exits with status 130.
"""
from __future__ import annotations

import os
import sys
from typing import Sequence

from .args import build_parser
from .errors import CLIError, one_line

__all__ = ["main", "CLIError"]


def _command(name: str):
    if name == "train":
        from .train_cmd import run_train
        return run_train
    from .use_cmd import run_evaluate, run_predict
    return run_evaluate if name == "evaluate" else run_predict


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0, 2 for a bad option or file)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _command(args.command)(args)
    except (CLIError, ValueError, TypeError, KeyError, OSError, ImportError) as exc:
        if os.environ.get("CHAINRULE_DEBUG"):
            raise
        print(f"chainrule {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return 2
