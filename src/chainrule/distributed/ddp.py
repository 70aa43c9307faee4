"""DistributedDataParallel: one model replica per MPI rank, gradients averaged during backward.

At construction every parameter and buffer is broadcast from rank 0, so all replicas start equal.
The parameters that need a gradient are grouped, in reverse registration order (roughly the order
backward produces their gradients), into flat buckets of about ``bucket_cap_mb``. A hook on each
parameter fires as soon as its gradient is final; when the last gradient of a bucket is in, the
bucket is copied into its flat buffer and a non-blocking MPI allreduce (sum) starts, while backward
goes on computing earlier layers (a bucket of one parameter — every large weight — sums that
gradient's own array in place instead, saving the copy in and out). Buckets start strictly in order (MPI needs every rank to issue
its collectives in the same order). At the end of backward a queued callback waits for all of
them and writes back g ← (Σ_ranks g) / d, with d the world size (the mean over replicas, as in
PyTorch) or the divisor set by :meth:`DistributedDataParallel.set_gradient_divisor`.

As in PyTorch, a forward under grad mode outside :meth:`~DistributedDataParallel.no_sync`
prepares the next backward to be synced (a later no-grad or no_sync forward does not undo that),
and buffers are broadcast from rank 0 before a forward exactly when the previous forward was such
a synced one (or there was none). Every wait is polled against the deadline
(:mod:`chainrule.distributed.work`), and the hooks hold the DDP weakly: once it is garbage, its
hooks are removed.
"""
from __future__ import annotations

import time
import weakref
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np

from ..autograd import engine, grad_mode
from ..nn.module import Module
from ..tensor import Tensor
from . import agreement, faults, world
from .work import Work, wait_request

__all__ = ["DistributedDataParallel"]


class _Bucket:
    """Parameters whose gradients travel together in one flat buffer and one allreduce."""

    __slots__ = ("index", "params", "names", "slots", "spans", "buffer", "live", "missing",
                 "request")

    def __init__(self, index: int, dtype):
        self.index, self.params, self.names, self.slots, self.spans = index, [], [], [], []
        self.buffer: Any = np.empty(0, dtype)
        self.live: Any = None     # what this backward's allreduce sums: buffer, or the grad itself
        self.missing = 0          # gradients not yet final in this backward
        self.request = None       # the MPI request while the allreduce is in flight


BROADCAST = "DistributedDataParallel broadcast"
GRADIENTS = "DistributedDataParallel gradient allreduce"
UNUSED = "DistributedDataParallel unused-parameter allreduce"
CHECK = "DistributedDataParallel parameter check"


def _broadcast_from_rank0(comm, tensors) -> None:
    """Overwrite every tensor's array with rank 0's (one non-blocking broadcast per tensor,
    all in flight together, then waited against the deadline)."""
    posted = []
    for t in tensors:
        a = t._data
        buf = a if a.flags.c_contiguous else np.ascontiguousarray(a)
        posted.append((t, buf, comm.Ibcast(buf, root=0)))
    for t, buf, request in posted:
        wait_request(request, BROADCAST)
        if buf is not t._data:
            t._data[...] = buf
        t._bump_version()


def _check_same_on_every_rank(comm, named: list) -> None:
    """Raise on every rank alike unless every rank's parameters and buffers have the same
    names' count, shapes and dtypes (PyTorch checks this at construction too)."""
    rows = [agreement.header(tuple(t.shape), t._data.dtype) for _, _, t in named]
    seq = world.next_seq()
    hi, lo = agreement.max_min(comm, np.array([len(rows)], np.int64), CHECK, seq)
    if hi[0] != lo[0]:
        raise ValueError(f"DistributedDataParallel: the ranks' models differ: they have "
                         f"between {lo[0]} and {hi[0]} parameters and buffers (rank "
                         f"{comm.Get_rank()} has {len(rows)}); wrap the same model on every rank")
    if not rows:
        return
    hi, lo = agreement.max_min(comm, np.concatenate(rows), CHECK, seq)
    differs = np.flatnonzero(hi != lo)
    if differs.size:
        kind, name, t = named[int(differs[0]) // agreement.HEADER_LEN]
        raise ValueError(
            f"DistributedDataParallel: {kind} {name} differs across ranks: rank "
            f"{comm.Get_rank()} has shape {tuple(t.shape)}, dtype {np.dtype(t._data.dtype).name}, and some "
            "other rank has a different shape or dtype; wrap the same model on every rank")


def _remove_hooks(handles: list) -> None:
    for h in handles:
        h.remove()


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training over the MPI world (``mpiexec -n N``).

    ``forward`` calls the module; ``state_dict`` keys carry the ``module.`` prefix. Gradients are
    averaged over the ranks during backward; inside :meth:`no_sync` they only accumulate locally.
    ``find_unused_parameters=False`` makes a parameter without a gradient in a synced backward an
    error; with ``True`` it contributes zeros (and a parameter no rank used keeps its ``.grad``).
    ``device_ids``/``output_device`` are accepted for PyTorch compatibility (arrays stay where
    they are)."""

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool = True, process_group=None, bucket_cap_mb: float = 25,
                 find_unused_parameters: bool = False, check_reduction: bool = False,
                 gradient_as_bucket_view: bool = False, static_graph: bool = False, **kwargs):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected a chainrule.nn.Module, got "
                            f"{type(module).__name__}")
        if process_group is not None:
            raise ValueError("DistributedDataParallel: process_group is not supported; the "
                             "model is replicated over the whole MPI world")
        if not bucket_cap_mb or bucket_cap_mb <= 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be positive, got "
                             f"{bucket_cap_mb!r}")
        world.init()
        self.module = module
        self.device_ids, self.output_device, self.dim = device_ids, output_device, dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.bucket_cap_mb = bucket_cap_mb
        # A communicator of our own, so no other collective can interleave with the buckets'.
        self._comm = world.comm().Dup()
        self._world_size = self._comm.Get_size()
        self._rank = self._comm.Get_rank()
        self._divisor: float | None = None
        self._require_sync = True
        self._sync_buffers_next = True      # PyTorch's require_forward_param_sync
        self._armed = False
        self._queued = False
        self.comm_stats = {"steps": 0, "wait_seconds": 0.0, "buckets": 0}
        self._bucket_log: list | None = None     # tests: records ("start", index) events
        if self._world_size > 1:
            _check_same_on_every_rank(self._comm, [
                ("parameter", n, p) for n, p in module.named_parameters()] + [
                ("buffer", n, b) for n, b in module.named_buffers() if b is not None])
        with grad_mode.no_grad():
            _broadcast_from_rank0(self._comm, list(module.parameters()) + [
                b for b in module.buffers() if b is not None])
        self._buckets = self._build_buckets(int(bucket_cap_mb * 1024 * 1024))
        self._handles = []
        me = weakref.ref(self)
        for b in self._buckets:
            for slot, p in zip(b.slots, b.params):
                self._handles.append(p.register_post_accumulate_grad_hook(_hook_for(me, b, slot)))
        weakref.finalize(self, _remove_hooks, self._handles)
        self._got = [False] * sum(len(b.params) for b in self._buckets)

    # -- set-up ----------------------------------------------------------------------------------
    def _build_buckets(self, cap_bytes: int) -> list:
        named = [(n, p) for n, p in self.module.named_parameters() if p.requires_grad]
        for n, p in named:
            if not isinstance(p._data, np.ndarray):
                raise NotImplementedError(
                    f"DistributedDataParallel: parameter {n} is on {p.device}; only CPU "
                    "(NumPy) parameters are supported (the MPI buffers are host arrays)")
        buckets: list = []
        size = 0
        for slot, (name, p) in enumerate(reversed(named)):
            a = p._data
            b = buckets[-1] if buckets else None
            if b is None or b.buffer.dtype != a.dtype or (b.params and size + a.nbytes > cap_bytes):
                b = _Bucket(len(buckets), a.dtype)
                buckets.append(b)
                size = 0
            start = sum(s[1] for s in b.spans)
            b.params.append(p)
            b.names.append(f"module.{name}")
            b.slots.append(slot)
            b.spans.append((start, a.size))
            size += a.nbytes
        for b in buckets:
            b.buffer = np.zeros(sum(s[1] for s in b.spans), b.buffer.dtype)
        return buckets

    # -- the public surface ------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        if self._sync_buffers_next and self.broadcast_buffers and self._world_size > 1:
            buffers = [b for b in self.module.buffers() if b is not None]
            if buffers:
                _broadcast_from_rank0(self._comm, buffers)
        synced = grad_mode.is_grad_enabled() and self._require_sync
        if synced:
            self._arm()
        out = self.module(*inputs, **kwargs)
        self._sync_buffers_next = synced
        return out

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes of forwards run inside this block only accumulate gradients locally;
        the first synced backward after it averages the accumulated sums."""
        old = self._require_sync
        self._require_sync = False
        try:
            yield
        finally:
            self._require_sync = old

    def set_gradient_divisor(self, divisor: float | None) -> None:
        """Make synced gradients Σ_ranks g / ``divisor`` (e.g. the global sample count, when each
        rank's loss is a sum over its samples); None restores the mean over ranks."""
        if divisor is not None and not (float(divisor) > 0):
            raise ValueError(f"set_gradient_divisor: the divisor must be positive, got {divisor!r}")
        self._divisor = None if divisor is None else float(divisor)

    @property
    def gradient_divisor(self) -> float:
        return float(self._world_size) if self._divisor is None else self._divisor

    # -- one synced backward ---------------------------------------------------------------------
    def _arm(self) -> None:
        """Reset the per-backward state: every bucket waits for all its gradients again."""
        for b in self._buckets:
            if b.request is not None:       # a previous backward never finished (it raised)
                b.request.wait()
                b.request = None
            b.missing = len(b.params)
        self._got = [False] * len(self._got)
        self._next = 0
        self._armed, self._queued = True, False

    def _progress(self) -> None:
        """Let MPI move the allreduces in flight (MPICH progresses only inside MPI calls)."""
        for b in self._buckets[:self._next]:
            if b.request is not None and not b.request._done:
                b.request.is_completed()
                return

    def _start_ready_buckets(self) -> None:
        buckets = self._buckets
        while self._next < len(buckets) and buckets[self._next].missing == 0:
            self._start(buckets[self._next])
            self._next += 1

    def _start(self, b: _Bucket) -> None:
        buf = b.live = _own_gradient(b) if len(b.params) == 1 else None
        if buf is None:     # copy the gradients into the bucket's flat buffer
            buf = b.live = b.buffer
            for p, (start, n) in zip(b.params, b.spans):
                g = p.grad
                if g is None:
                    buf[start:start + n] = 0
                else:
                    buf[start:start + n] = g._data.reshape(-1)
        if self._bucket_log is not None:
            self._bucket_log.append(("start", b.index))
        if self._world_size > 1:
            from mpi4py import MPI
            b.request = Work(self._comm.Iallreduce(MPI.IN_PLACE, buf, op=MPI.SUM), GRADIENTS,
                             world.next_seq())

    def _finish(self) -> None:
        """End of backward: start what is left, wait for every bucket, write the averages back."""
        self._armed = False
        unused = [(b, i) for b in self._buckets for i, s in enumerate(b.slots) if not self._got[s]]
        for b, _ in unused:
            b.missing = 0
        self._start_ready_buckets()
        used_anywhere = None
        if self.find_unused_parameters and self._world_size > 1:    # every rank, every step
            from mpi4py import MPI
            used = np.array(self._got, np.int32)
            wait_request(self._comm.Iallreduce(MPI.IN_PLACE, used, op=MPI.SUM), UNUSED)
            used_anywhere = used > 0
        t0 = time.perf_counter()
        for b in self._buckets:
            if b.request is not None:
                b.request.wait()
                b.request = None
        self.comm_stats["wait_seconds"] += time.perf_counter() - t0
        faults.post_next_step()
        self.comm_stats["steps"] += 1
        self.comm_stats["buckets"] += len(self._buckets)
        d = self.gradient_divisor
        skip = {id(b.params[i]) for b, i in unused} if used_anywhere is None else {
            id(b.params[i]) for b, i in unused if not used_anywhere[b.slots[i]]}
        for b in self._buckets:
            buf = (b.buffer if b.live is None else b.live).reshape(-1)
            for p, (start, n) in zip(b.params, b.spans):
                if id(p) in skip:
                    continue
                summed = buf[start:start + n].reshape(p._data.shape)
                if p.grad is None:
                    p.grad = Tensor._wrap(summed / d, False, None)
                else:       # one pass: divide straight into the gradient's storage
                    np.divide(summed, d, out=p.grad._data, casting="same_kind")
                    p.grad._bump_version()
        if unused and not self.find_unused_parameters:
            names = ", ".join(b.names[i] for b, i in unused)
            raise RuntimeError(
                f"DistributedDataParallel: on rank {self._rank} these parameters received no "
                f"gradient in this backward: {names}. They were not used to compute the loss, "
                "so the ranks cannot agree on their gradient; pass find_unused_parameters=True "
                "to DistributedDataParallel (under fit/Trainer: fit(..., ddp_kwargs="
                "{'find_unused_parameters': True}); unused parameters then contribute zeros), "
                "or make every parameter take part in the loss")

    def __getstate__(self):
        raise TypeError("DistributedDataParallel holds an MPI communicator and cannot be "
                        "pickled; save ddp.module.state_dict() instead")


def _own_gradient(b: _Bucket):
    """The gradient array of a one-parameter bucket when the allreduce can sum it in place (a
    contiguous, writable array of its own, of the bucket's dtype) — no copy into the buffer and
    back; the average is then divided into the same array, as it would be anyway. Else None."""
    g = b.params[0].grad
    if g is None:
        return None
    a = g._data
    if (type(a) is np.ndarray and a.base is None and a.flags.c_contiguous and a.flags.writeable
            and a.dtype == b.buffer.dtype):
        return a
    return None


def _hook_for(ddp_ref, bucket: _Bucket, slot: int):
    """The post-accumulate hook of one parameter: count its gradient in, start full buckets.
    It holds the DDP weakly, so a discarded DDP is freed (and its hooks removed)."""
    def hook(param: Tensor) -> None:
        ddp = ddp_ref()
        if ddp is None or not ddp._armed or ddp._got[slot]:
            return
        if not ddp._queued:
            ddp._queued = True
            engine.queue_callback(ddp._finish)
        ddp._got[slot] = True
        bucket.missing -= 1
        ddp._progress()
        if bucket.missing == 0:
            ddp._start_ready_buckets()
    return hook
