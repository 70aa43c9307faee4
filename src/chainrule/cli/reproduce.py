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

__all__ = ["train_argv", "train_command", "resume_argv"]


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


def _flag_words(key: str, value: Any) -> list[str]:
    opt = OPTIONS_BY_DEST[key]
    if opt.parse is None:  # a --x / --no-x switch
        return [opt.flag if value else "--no-" + opt.flag[2:]]
    return [opt.flag, _text(key, value)]


def resume_argv(before: dict[str, Any], after: dict[str, Any], out: str) -> list[str]:
    """The words of the ``chainrule train --resume OUT/model.safetensors ...`` that turned a
    run with stored options ``before`` into one with ``after``: each option whose value
    changed is given (a resume keeps every option it is not given)."""
    unknown = sorted((set(before) | set(after)) - set(RUN_KEYS))
    if unknown:
        raise ValueError(f"reproduce: unknown run option(s) {', '.join(unknown)}; options are "
                         + ", ".join(RUN_KEYS))
    from pathlib import PurePath
    argv = ["train", "--resume", str(PurePath(out) / "model.safetensors")]
    for key in RUN_KEYS:
        if key in after and after[key] != before.get(key, DEFAULTS[key]):
            if key == "lr" and after[key] is None:
                continue  # "the optimizer's default" is not a value a resume can be given
            argv += _flag_words(key, after[key])
    return argv


def train_command(options: dict[str, Any], out: str | None = None,
                  resumed_from: dict[str, Any] | None = None) -> str:
    """:func:`train_argv` as one shell line: ``chainrule train --epochs 2 --out runs/x``; with
    ``resumed_from`` (the options stored before), the :func:`resume_argv` line that continued
    that run in ``out``."""
    if resumed_from is not None:
        if out is None:
            raise ValueError("reproduce: a resume command needs the run folder (out)")
        return shlex.join(["chainrule", *resume_argv(resumed_from, options, out)])
    return shlex.join(["chainrule", *train_argv(options, out)])
