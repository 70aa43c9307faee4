"""The one exception the checkpoint reader raises for a file it cannot trust."""
from __future__ import annotations


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupt, malformed or not a chainrule
    checkpoint. The message names the file and what is wrong with it."""
