"""Files: checkpoints (safetensors + JSON metadata, no pickle) and atomic writes."""
from .atomic import atomic_open, write_bytes, write_text
from .checkpoint import save, load
from .errors import CheckpointError

__all__ = ["atomic_open", "write_bytes", "write_text", "save", "load", "CheckpointError"]
