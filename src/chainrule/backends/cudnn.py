"""``chainrule.backends.cudnn``: PyTorch's cuDNN switches as attributes with no effect (chainrule
has no cuDNN path; its convolutions are im2col + GEMM, deterministic on the CPU)."""
from __future__ import annotations

benchmark: bool = False
deterministic: bool = False
enabled: bool = True
allow_tf32: bool = True


def is_available() -> bool:
    """False: chainrule never calls cuDNN."""
    return False


def version() -> None:
    """None, as PyTorch answers without cuDNN."""
    return None
