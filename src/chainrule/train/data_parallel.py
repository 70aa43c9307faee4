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

__all__ = ["detect_world", "rank_zero", "abort_world", "reduce_sums", "evaluate_sharded",
           "DataParallel", "is_per_rank", "loss_parts"]

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


def is_per_rank(loader: Any) -> bool:
    """True when ``loader`` already gives each rank its own samples: its sampler (or its batch
    sampler's sampler) has ``num_replicas`` > 1, as a DistributedSampler does — fit then keeps
    its batches whole (per-rank batch size; the global batch is their sum)."""
    for owner in (loader, getattr(loader, "batch_sampler", None)):
        sampler = getattr(owner, "sampler", None)
        if sampler is not None and int(getattr(sampler, "num_replicas", 1) or 1) > 1:
            return True
    return False


def loss_parts(loss_fn: Callable, output: Any, target: Any, mine: int) -> tuple:
    """(this rank's loss sum S_r, its normaliser d_r): the global mean loss is Σ S_r / Σ d_r.
    A loss with ``sum_and_denominator`` (chainrule's CrossEntropyLoss, NLLLoss with
    reduction='mean') gives its own (class weights, ignore_index); any other callable is
    taken as a mean over samples: S_r = n_r·L_r, d_r = n_r. A rank whose rows are borrowed
    (``mine`` = 0) contributes nothing."""
    parts = getattr(loss_fn, "sum_and_denominator", None)
    if parts is not None and getattr(loss_fn, "reduction", "mean") == "mean":
        total, denom = parts(output, target)
        total = check_scalar_loss(total, "fit")
    else:
        loss = check_scalar_loss(loss_fn(output, target), "fit")
        total, denom = loss * mine, float(mine)
    if mine == 0:
        total, denom = total * 0.0, 0.0
    return total, float(denom)


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
    device, per_rank = model_device(model), is_per_rank(loader)
    sizes = None if per_rank else loader.shard_sizes
    sums_b: list[float] = []    # per batch: this rank's loss sum, normaliser, samples
    dens_b: list[float] = []
    counts_b: list[float] = []
    try:
        with no_grad():
            for batch in loader:
                mine = None if per_rank else sizes.popleft()[1]
                if mine == 0:           # a borrowed sample: another rank evaluates it
                    sums_b.append(0.0), dens_b.append(0.0), counts_b.append(0.0)
                    continue
                inputs, target = unpack_batch(batch, "evaluate", device)
                output = model(*inputs)
                n = batch_size_of(target)
                s_r, d_r = (loss_parts(loss_fn, output, target, n) if loss_fn is not None
                            else (0.0, 0.0))
                sums_b.append(float(s_r.item() if hasattr(s_r, "item") else s_r))
                dens_b.append(d_r)
                counts_b.append(float(n))
                if metric_objs:
                    out_a, tgt_a = _array(output), _array(target)
                    for m in metric_objs:
                        m.update(out_a, tgt_a)
    finally:
        if was_training:
            model.train()
    fields = [getattr(m, f) for m in metric_objs for f in m.sum_fields]
    k = len(sums_b)
    summed = reduce_sums(sums_b + dens_b + counts_b + fields)  # the same length on every rank
    s_g, d_g, n_g = summed[:k], summed[k:2 * k], summed[2 * k:3 * k]
    count = int(round(float(n_g.sum())))
    with np.errstate(invalid="ignore", divide="ignore"):
        # one process's evaluate: Σ_b n_b·L_b / Σ_b n_b with L_b = S_b / D_b of each global batch
        total = float((n_g * (s_g / np.where(n_g > 0, d_g, 1.0))).sum())
    summed, k = summed.tolist(), 3 * k
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

    def __init__(self, model: Any, rank: int, size: int, ddp_kwargs: dict | None = None):
        from ..distributed.ddp import DistributedDataParallel
        self.rank, self.size = rank, size
        self._swapped = _to_sync_batchnorm(model)
        try:
            self.ddp = DistributedDataParallel(model, **dict(ddp_kwargs or {}))
        except BaseException:
            self.restore_batchnorm()
            raise
        self._sharded: list = []
        self.per_rank: set[int] = set()   # id of each loader already split by its sampler

    def restore_batchnorm(self) -> None:
        """Put the model's own BatchNorm modules back (they share the synced ones' tensors;
        the running statistics are copied over in case a buffer was replaced)."""
        for parent, name, original, synced in reversed(self._swapped):
            for key in ("weight", "bias"):
                if key in original._parameters:
                    original._parameters[key] = synced._parameters.get(key)
            for key in ("running_mean", "running_var", "num_batches_tracked"):
                if key in original._buffers:
                    original._buffers[key] = synced._buffers.get(key)
            original.training = synced.training
            parent._modules[name] = original
        self._swapped = []

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
            if is_per_rank(loader):     # a DistributedSampler: each rank's batch is its own
                self.per_rank.add(id(loader))
                continue
            loader.shard(self.rank, self.size)
            self._sharded.append(loader)

    def unshard(self) -> None:
        for loader in self._sharded:
            loader.shard(0, 1)
        self._sharded = []
        self.restore_batchnorm()


def _to_sync_batchnorm(model: Any) -> list:
    """Replace each BatchNorm*d below ``model`` by a SyncBatchNorm sharing its tensors, so a
    data-parallel fit normalises over the global batch (as one process does); returns
    (parent, name, original, synced) for :meth:`DataParallel.restore_batchnorm`. A user's own
    loop keeps plain BatchNorm's per-rank statistics (PyTorch's semantics)."""
    from ..distributed.sync_batchnorm import SyncBatchNorm
    from ..nn.normalization import _BatchNorm
    swapped = []
    for _, parent in list(model.named_modules()):
        for name, child in list(parent._modules.items()):
            if isinstance(child, _BatchNorm) and not isinstance(child, SyncBatchNorm):
                synced = SyncBatchNorm.convert_sync_batchnorm(child)
                parent._modules[name] = synced
                swapped.append((parent, name, child, synced))
    return swapped
