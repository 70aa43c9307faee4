"""The ``chainrule train`` command line that reproduces a run, from the options it stored.

Only options whose value differs from the built-in default are written (a learning rate equal
to the optimizer's default counts as the default), each value in the text its flag's parser
reads back to the same value, and every word shell-quoted.
"""
from __future__ import annotations

import math
import shlex
from typing import Any

from .args import DEFAULT_LR, DEFAULTS, OPTIONS_BY_DEST
from .config import RUN_KEYS

__all__ = ["train_argv", "train_command"]


def _is_default(key: str, value: Any, options: dict[str, Any]) -> bool:
    if key == "lr":
        return value is None or value == DEFAULT_LR.get(options.get("optimizer", "adam"))
    default = DEFAULTS[key]
    if isinstance(default, bool) or isinstance(value, bool):
        return value is default
    return value == default


def _text(key: str, value: Any) -> str:
    """The option text that parses back to ``value``."""
    if value is None:
        return "none"  # only options parsed by types.optional() can hold None here
    if isinstance(value, list):
        return ",".join(str(int(v)) for v in value) if value else "none"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"reproduce: option {key} holds {value!r}, which no flag accepts")
        return repr(value)  # the shortest text that reads back to the same float
    return str(value)


def train_argv(options: dict[str, Any], out: str | None = None) -> list[str]:
    """The words after ``chainrule`` (``["train", "--epochs", "2", ...]``) of a run with these
    stored ``options`` (keys as argparse dests; unknown keys are refused), writing into
    ``out`` when given."""
    unknown = sorted(set(options) - set(RUN_KEYS))
    if unknown:
        raise ValueError(f"reproduce: unknown run option(s) {', '.join(unknown)}; options are "
                         + ", ".join(RUN_KEYS))
    argv = ["train"]
    for key in RUN_KEYS:
        if key not in options or _is_default(key, options[key], options):
            continue
        opt, value = OPTIONS_BY_DEST[key], options[key]
        if opt.parse is None:  # a --x / --no-x switch
            argv.append(opt.flag if value else "--no-" + opt.flag[2:])
        else:
            argv += [opt.flag, _text(key, value)]
    if out is not None:
        argv += ["--out", str(out)]
    return argv


def train_command(options: dict[str, Any], out: str | None = None) -> str:
    """:func:`train_argv` as one shell line: ``chainrule train --epochs 2 --out runs/x``."""
    return shlex.join(["chainrule", *train_argv(options, out)])
