"""Where ``train``'s options come from, in increasing priority: the built-in defaults, the
options stored in the checkpoint given to ``--resume``, a ``--config FILE.toml``, and the
flags on the command line.

A TOML file uses the long option names as keys (dashes or underscores), with TOML values:
``lr = 0.01``, ``hidden = [256, 128]``, ``batch-norm = true``, ``early-stopping = 10``.
Each value is checked by the same parser as its flag.
"""
from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import Any, Callable

from .args import DEFAULTS, OPTIONS_BY_DEST
from .errors import CLIError

__all__ = ["load_toml", "resolve_options", "RUN_KEYS"]

# Options a checkpoint keeps and a resumed run starts from (not where files go or what to read).
RUN_KEYS = tuple(k for k in DEFAULTS if k not in ("resume", "config", "quiet", "out"))


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
    return {key.replace("-", "_"): _convert(key, value, f"config {path}")
            for key, value in data.items()}


def resolve_options(given: argparse.Namespace,
                    stored_for: Callable[[str], dict[str, Any]] | None = None
                    ) -> dict[str, Any]:
    """Layer the defaults, the options stored in the ``--resume`` checkpoint (read by
    ``stored_for(path)``), the ``--config`` TOML file and the flags given."""
    flags = {k: v for k, v in vars(given).items() if k in DEFAULTS}
    toml = load_toml(flags["config"]) if flags.get("config") is not None else {}
    resume = flags.get("resume", toml.get("resume"))
    options = dict(DEFAULTS)
    if resume is not None and stored_for is not None:
        options.update({k: v for k, v in stored_for(resume).items() if k in RUN_KEYS})
    options.update(toml)
    options.update(flags)
    return options
