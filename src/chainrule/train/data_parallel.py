"""The data-parallel side of ``fit``: the same run on N MPI ranks as on one process.

Started under ``mpiexec -n N`` (N > 1), the Trainer keeps the *global* batch: every rank takes
positions r, r+N, ... of each batch one process would draw (:meth:`DataLoader.shard`), the
model is wrapped in :class:`~chainrule.distributed.DistributedDataParallel`, and each rank
back-propagates its loss weighted by its sample count n_r, with the gradient divisor set to the
global count G, so ∇ = (1/G) Σ_r n_r ∇L_r — the gradient of the global batch's mean loss, never
a mean of per-rank means. Evaluation shards the same way without padding and sums losses,
counts and metric sums over the ranks. Without ``mpiexec`` nothing here imports MPI.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from ..autograd import no_grad
from .evaluation import _array, batch_size_of, check_scalar_loss, model_device, unpack_batch
from .metrics import Metric, resolve_metrics

__all__ = ["detect_world", "rank_zero", "abort_world", "reduce_sums", "evaluate_sharded", "DataParallel"]

# Variables MPI launchers set in each process they start (MPICH/Hydra, Open MPI, PMIx, Slurm).
_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS", "PMIX_SIZE")


def detect_world() -> tuple[int, int]:
    """(rank, size) of the MPI world this process was started in; (0, 1) for a plain
    ``python`` process, which never imports mpi4py."""
    from ..distributed import world
    if world.is_initialized():
        return world.get_rank(), world.get_world_size()
    size = 1
    for var in _SIZE_VARS:
        try:
            size = max(size, int(os.environ.get(var, "1")))
        except ValueError:
            pass
    if size <= 1:
        return 0, 1
    world.init()
    return world.get_rank(), world.get_world_size()


def rank_zero() -> bool:
    """True on rank 0 (and in a single process): the one that prints and writes."""
    from ..distributed import world
    return world.get_rank() == 0


def abort_world(error: BaseException, where: str = "") -> None:
    """Name this rank and ``error`` on stderr, then abort every rank of the world (a caught
    error would leave the others waiting in their next collective until the deadline)."""
    from ..distributed import faults
    faults._report_and_abort(where, type(error), error, error.__traceback__)


def reduce_sums(values: Sequence[float]) -> np.ndarray:
    """The element-wise sum of ``values`` over every rank (float64, with the deadline)."""
    from ..distributed import all_reduce
    buf = np.array(values, dtype=np.float64)
    all_reduce(buf)
    return buf


def evaluate_sharded(model: Callable, loader: Any, loss_fn: Callable | None,
                     metrics: Sequence[Metric | str | Callable] | str | None) -> dict:
    """:func:`~chainrule.train.evaluate` over a loader sharded with ``DataLoader.shard``:
    this rank's losses (weighted by batch size), counts and metric sums, added over the ranks,
    give the numbers one process gets over the whole data set."""
    metric_objs = resolve_metrics(metrics)
    for m in metric_objs:
        m.reset()
        if m.sum_fields is None:
            raise TypeError(f"fit under mpiexec: metric {type(m).__name__} has no sum_fields, "
                            "so its per-rank states cannot be added; give the Metric subclass "
                            "sum_fields = (names of its summed attributes)")
    was_training = getattr(model, "training", None)
    model.eval()
    total, count, device, sizes = 0.0, 0, model_device(model), loader.shard_sizes
    try:
        with no_grad():
            for batch in loader:
                _, mine = sizes.popleft()
                if mine == 0:           # a borrowed sample: another rank evaluates it
                    continue
                inputs, target = unpack_batch(batch, "evaluate", device)
                output = model(*inputs)
                n = batch_size_of(target)
                if loss_fn is not None:
                    loss = check_scalar_loss(loss_fn(output, target), "evaluate")
                    total += float(loss.item() if hasattr(loss, "item") else loss) * n
                if metric_objs:
                    out_a, tgt_a = _array(output), _array(target)
                    for m in metric_objs:
                        m.update(out_a, tgt_a)
                count += n
    finally:
        if was_training:
            model.train()
    fields = [getattr(m, f) for m in metric_objs for f in m.sum_fields]
    summed = reduce_sums([total, count] + fields).tolist()
    total, count, k = summed[0], int(round(summed[1])), 2
    for m in metric_objs:
        for f in m.sum_fields:
            old = getattr(m, f)
            setattr(m, f, int(round(summed[k])) if isinstance(old, (int, np.integer))
                    else summed[k])
            k += 1
    if count == 0:
        raise ValueError("evaluate: the loader gave no batches")
    result: dict[str, float] = {}
    if loss_fn is not None:
        result["loss"] = total / count
    for m in metric_objs:
        result.update(m.compute())
    result["samples"] = count
    return result


class DataParallel:
    """What ``fit`` needs on N > 1 ranks: the DDP-wrapped model, the sharded loaders and the
    per-step reductions."""

    def __init__(self, model: Any, rank: int, size: int):
        from ..distributed.ddp import DistributedDataParallel
        self.rank, self.size = rank, size
        self.ddp = DistributedDataParallel(model)
        self._sharded: list = []

    def shard(self, loaders: Iterable) -> None:
        """Shard each chainrule DataLoader (others are refused: their batches cannot be
        split the same way on every rank)."""
        from ..data import DataLoader
        for loader in loaders:
            if loader is None:
                continue
            if not isinstance(loader, DataLoader):
                raise TypeError(f"fit under mpiexec -n {self.size}: the loaders must be "
                                f"chainrule DataLoaders (to split each global batch among "
                                f"the ranks), got {type(loader).__name__}")
            loader.shard(self.rank, self.size)
            self._sharded.append(loader)

    def unshard(self) -> None:
        for loader in self._sharded:
            loader.shard(0, 1)
        self._sharded = []
