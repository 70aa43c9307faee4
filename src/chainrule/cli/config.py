"""Where ``train``'s options come from, in increasing priority: the built-in defaults, the
options stored in the checkpoint given to ``--resume``, a ``--config FILE.toml``, and the
flags on the command line.

A TOML file uses the long option names as keys (dashes or underscores), with TOML values:
``lr = 0.01``, ``hidden = [256, 128]``, ``batch-norm = true``, ``early-stopping = 10``.
Each value is checked by the same parser as its flag, and so is each option a checkpoint
stores (a hand-edited or foreign checkpoint cannot smuggle in a value no flag accepts). A key
given twice in one file (``batch-size`` and ``batch_size``) is refused: which one wins would be
arbitrary.
"""
from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import Any, Callable

from .args import DEFAULTS, OPTIONS_BY_DEST
from .errors import CLIError

__all__ = ["load_toml", "resolve_options", "check_stored", "RUN_KEYS"]

# Options a checkpoint keeps and a resumed run starts from (not where files go or what to read).
# (--health, like --quiet, is about what a run reports, not what it trains.)
# (--device is where a run computes, not what it trains: a resume may move to another one.)
RUN_KEYS = tuple(k for k in DEFAULTS if k not in ("resume", "config", "quiet", "out",
                                                  "health", "device"))


def _convert(key: str, value: Any, where: str) -> Any:
    dest = key.replace("-", "_")
    opt = OPTIONS_BY_DEST.get(dest)
    if opt is None or dest == "config":
        known = ", ".join(o.flag[2:] for o in OPTIONS_BY_DEST.values() if o.dest != "config")
        raise CLIError(f"{where}: unknown option {key!r}; options are {known}")
    if opt.parse is None:
        if not isinstance(value, bool):
            raise CLIError(f"{where}: {key} must be true or false, got {value!r}")
        return value
    if isinstance(value, list):
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise CLIError(f"{where}: {key} must be a list of integers, got {value!r}")
        text = ",".join(str(v) for v in value) if value else "none"
    elif isinstance(value, bool) or isinstance(value, (dict,)):
        raise CLIError(f"{where}: {key} cannot be {value!r}")
    else:
        text = str(value)
    try:
        return opt.parse(text)
    except argparse.ArgumentTypeError as exc:
        raise CLIError(f"{where}: {key}: {exc}") from None


def load_toml(path: str | Path) -> dict[str, Any]:
    """The options in a TOML file, checked and converted (keys as argparse dests)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise CLIError(f"--config: no such file {str(path)!r}") from None
    except IsADirectoryError:
        raise CLIError(f"--config: {str(path)!r} is a folder, not a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise CLIError(f"--config: {path} is not valid TOML ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CLIError(f"--config: cannot read {path} ({exc})") from None
    if set(data) == {"train"} and isinstance(data["train"], dict):
        data = data["train"]  # a [train] table is accepted too
    seen: dict[str, str] = {}
    for key in data:
        dest = key.replace("-", "_")
        if dest in seen:
            raise CLIError(f"--config: {path} gives {seen[dest]!r} and {key!r}, the same "
                           "option twice; keep one")
        seen[dest] = key
    return {key.replace("-", "_"): _convert(key, value, f"config {path}")
            for key, value in data.items()}


def check_stored(stored: dict[str, Any], where: str) -> dict[str, Any]:
    """The run options a checkpoint stores, each checked by its flag's parser (``None`` is
    kept where the option's default is ``None``, e.g. ``lr``: the optimizer's default)."""
    if not isinstance(stored, dict):
        raise CLIError(f"{where}: the stored run options are not a table ({stored!r})")
    out: dict[str, Any] = {}
    for key, value in stored.items():
        if key not in RUN_KEYS:
            continue
        if value is None and DEFAULTS[key] is None:
            out[key] = None
        else:
            out[key] = _convert(key, value, f"{where}: stored option")
    return out


# Options that belong to one optimizer family: a value stored with the old optimizer of a resumed
# run is dropped (back to the default) when an explicit --optimizer has no use for it.
_OPTIMIZER_ONLY = {"momentum": ("sgd", "rmsprop"), "nesterov": ("sgd",)}


def _drop_stored_options_of_another_optimizer(options: dict[str, Any], explicit: dict) -> None:
    if "optimizer" not in explicit:
        return
    for key, users in _OPTIMIZER_ONLY.items():
        if key not in explicit and options["optimizer"] not in users:
            options[key] = DEFAULTS[key]


def resolve_options(given: argparse.Namespace,
                    stored_for: Callable[[str], dict[str, Any]] | None = None,
                    sources: dict[str, str] | None = None) -> dict[str, Any]:
    """Layer the defaults, the options stored in the ``--resume`` checkpoint (read by
    ``stored_for(path)``), the ``--config`` TOML file and the flags given.

    ``sources``, when given, is filled with where each explicitly given option came from
    (``"--lr"`` or ``"config run.toml"``), so callers can tell a chosen value from a default."""
    flags = {k: v for k, v in vars(given).items() if k in DEFAULTS}
    toml = load_toml(flags["config"]) if flags.get("config") is not None else {}
    resume = flags.get("resume", toml.get("resume"))
    options = dict(DEFAULTS)
    if resume is not None and stored_for is not None:
        stored = check_stored(stored_for(resume), f"checkpoint {resume}")
        options.update(stored)
    options.update(toml)
    options.update(flags)
    if resume is not None:
        _drop_stored_options_of_another_optimizer(options, explicit={**toml, **flags})
    if sources is not None:
        sources.update({k: f"config {flags['config']}" for k in toml})
        sources.update({k: OPTIONS_BY_DEST[k].flag for k in flags})
    return options
