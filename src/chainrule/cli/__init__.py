"""The ``chainrule`` command (also ``python -m chainrule``):

    chainrule train [--dataset digits] [--model mlp] ... [--out DIR]   train and report
    chainrule evaluate CKPT [--dataset NAME] [--split test]             metrics of a checkpoint
    chainrule predict CKPT FILE.npy [--output PATH]                     classes of new inputs
    chainrule explain "x**2*y + y + 2" --at x=3,y=4 [--out g.svg]       the two passes, drawn
    chainrule explain CKPT                                              a model's layer view
    chainrule playground --surface valley [--out fig.png]               optimizers on 2-D surfaces
    chainrule report RUN_DIR                                            (re)build report.html
    chainrule export CKPT --onnx model.onnx                             the model as ONNX

A bad option, value or file prints one line naming it and exits with status 2 (set
``CHAINRULE_DEBUG=1`` to see the traceback instead); so does running out of memory (the line
says what was being allocated and which option asked for it). Ctrl-C during training saves a
checkpoint and exits with status 130; Ctrl-C at any other moment (start-up, loading data, a
second Ctrl-C while saving) prints one line and exits with status 130 too.
"""
from __future__ import annotations

import os
import sys
from typing import Sequence

from .args import build_parser
from .errors import CLIError, one_line

__all__ = ["main", "CLIError"]


def _command(name: str):
    from .commands import COMMANDS, command_module
    if name in COMMANDS:
        return command_module(name).run
    if name == "train":
        from .train_cmd import run_train
        return run_train
    from .use_cmd import run_evaluate, run_predict
    return run_evaluate if name == "evaluate" else run_predict


INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a process stopped by Ctrl-C


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0; 2 for a bad option or file, or too
    little memory; 130 when interrupted)."""
    command = "chainrule"
    try:
        args = build_parser().parse_args(argv)
        command = f"chainrule {args.command}"
        return _command(args.command)(args)
    except KeyboardInterrupt:
        if os.environ.get("CHAINRULE_DEBUG"):
            raise
        print(f"{command}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except MemoryError as exc:
        if os.environ.get("CHAINRULE_DEBUG"):
            raise
        print(f"{command}: error: out of memory ({one_line(exc)})", file=sys.stderr)
        return 2
    except (CLIError, ValueError, TypeError, KeyError, OSError, ImportError) as exc:
        if os.environ.get("CHAINRULE_DEBUG"):
            raise
        print(f"{command}: error: {one_line(exc)}", file=sys.stderr)
        return 2
