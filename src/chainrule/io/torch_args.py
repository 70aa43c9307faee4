"""PyTorch's pickle-related arguments to ``save``/``load``, checked.

chainrule's checkpoints are safetensors files (tensors plus a JSON document), never pickle, so
``pickle_module`` can only be left at its default (None, or the standard ``pickle`` module that
is PyTorch's default) and ``pickle_protocol`` / ``_use_new_zipfile_serialization`` change
nothing. Anything that would need a different unpickler is a clear error.
"""
from __future__ import annotations

import sys

__all__ = ["check_pickle_module", "check_pickle_load_args"]


def check_pickle_module(module, op: str) -> None:
    """TypeError unless ``module`` is None or the standard pickle module."""
    if module is None or module is sys.modules.get("pickle"):   # never imported here
        return
    name = getattr(module, "__name__", type(module).__name__)
    raise TypeError(f"{op}: pickle_module={name} is not supported: chainrule checkpoints are "
                    "safetensors files (tensors and JSON-able state), never pickle, so there is "
                    "no pickler to replace; leave pickle_module unset")


def check_pickle_load_args(kwargs: dict) -> None:
    """TypeError naming extra keyword arguments (PyTorch passes them to the unpickler)."""
    if kwargs:
        names = ", ".join(f"{k}=" for k in sorted(kwargs))
        raise TypeError(f"load: {names} would go to pickle's unpickler, and chainrule "
                        "checkpoints are safetensors files, never pickle; drop them")
