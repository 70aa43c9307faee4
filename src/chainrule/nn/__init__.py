"""``chainrule.nn``: modules, layers, losses, initialisers and utilities (PyTorch's names)."""
from . import functional  # noqa: F401
