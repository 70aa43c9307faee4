"""Data-parallel training over MPI: the world, collectives, DistributedDataParallel, samplers."""
from __future__ import annotations

from .world import init, is_initialized, get_rank, get_world_size
from .ddp import DistributedDataParallel
from .sync_batchnorm import SyncBatchNorm

__all__ = ["init", "is_initialized", "get_rank", "get_world_size"]
__all__ += ["DistributedDataParallel", "SyncBatchNorm"]
