"""The commands beyond train, evaluate and predict: each lives in its own module of this package,
which offers ``add_parser(subparsers)`` (its options) and ``run(args) -> int`` (its exit status).

One line per command below; the modules are imported only when the parser is built or the
command runs.
"""
from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["COMMANDS", "command_module", "command_modules"]

#: command name -> module in chainrule.cli
COMMANDS: dict[str, str] = {
    "playground": "playground_cmd",
    "report": "report_cmd",
    "export": "export_cmd",
    "explain": "explain_cmd",
    "data": "data_cmd",
}


def command_module(name: str) -> ModuleType:
    """The module that implements the command ``name``."""
    return importlib.import_module(f"{__package__}.{COMMANDS[name]}")


def command_modules() -> list[ModuleType]:
    """Every extra command's module, in the order of :data:`COMMANDS`."""
    return [command_module(name) for name in COMMANDS]
