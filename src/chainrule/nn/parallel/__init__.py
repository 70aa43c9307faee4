"""``chainrule.nn.parallel``: PyTorch's import path for DistributedDataParallel (loaded on first
use: chainrule.distributed builds on chainrule.nn)."""
from __future__ import annotations

__all__ = ["DistributedDataParallel"]


def __getattr__(name: str):
    if name == "DistributedDataParallel":
        from ...distributed.ddp import DistributedDataParallel
        return DistributedDataParallel
    raise AttributeError(f"module 'chainrule.nn.parallel' has no attribute '{name}'")
