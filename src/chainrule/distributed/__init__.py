"""Data-parallel training over MPI: the world, collectives, DistributedDataParallel, samplers.

``torch.distributed``'s names: ``init_process_group(backend='mpi')``, ``get_rank``,
``all_reduce(t, op=ReduceOp.SUM)``, ``broadcast``, ``all_gather``, ``barrier`` ... Start the
program with ``mpiexec -n N python train.py``; as a plain ``python`` process it is a world of one.
Collectives wait against a deadline (``set_timeout``, ``$CHAINRULE_DIST_TIMEOUT``) and a failing
rank stops them all (:mod:`chainrule.distributed.faults`).
"""
from __future__ import annotations

from .world import (init, is_initialized, is_available, init_process_group,
                    destroy_process_group, get_backend, get_rank, get_world_size, set_timeout,
                    get_timeout)
from .collectives import (ReduceOp, group, all_reduce, broadcast, reduce, all_gather,
                          all_gather_into_tensor, gather, scatter, barrier)
from .work import Work
from .faults import post_step
from .sampler import DistributedSampler
from . import faults

__all__ = ["init", "is_initialized", "is_available", "init_process_group",
           "destroy_process_group", "get_backend", "get_rank", "get_world_size", "set_timeout",
           "get_timeout", "ReduceOp", "group", "all_reduce", "broadcast", "reduce", "all_gather",
           "all_gather_into_tensor", "gather", "scatter", "barrier", "Work", "post_step",
           "DistributedSampler", "faults"]
from .ddp import DistributedDataParallel
from .sync_batchnorm import SyncBatchNorm

__all__ += ["DistributedDataParallel", "SyncBatchNorm"]
