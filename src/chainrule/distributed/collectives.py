"""``torch.distributed``'s collectives on Tensors (or NumPy arrays), over MPI.

Arrays go to MPI through the buffer interface — no pickling, and no copy for a contiguous NumPy
array (a strided or device array is staged through a contiguous host copy). Each call is posted
non-blocking and waited for against the deadline (:class:`~chainrule.distributed.work.Work`);
``async_op=True`` returns the Work instead of waiting.

    all_reduce(t, op)      t ← op over ranks of t          (in place)
    broadcast(t, src)      t ← t on rank src
    reduce(t, dst, op)     t on rank dst ← op over ranks of t
    all_gather(ts, t)      ts[r] ← t on rank r
    gather / scatter       the same, to / from one rank
"""
from __future__ import annotations

import enum
from typing import Any, Callable, Sequence

import numpy as np

from . import agreement, world
from .work import Work


class ReduceOp(enum.Enum):
    """How :func:`all_reduce` and :func:`reduce` combine the ranks' values."""
    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"

    def __repr__(self) -> str:
        return f"<ReduceOp.{self.name}>"


class _World:
    """The default (world) group: the only one there is."""

    def __repr__(self) -> str:
        return "<chainrule.distributed.group.WORLD>"


class group:
    """``torch.distributed.group``: ``group.WORLD`` is the default group."""
    WORLD = _World()


def _mpi_op(op, dtype: np.dtype, who: str):
    from mpi4py import MPI
    if not isinstance(op, ReduceOp):
        raise TypeError(f"{who}: op should be a chainrule.distributed.ReduceOp, got {op!r}")
    if op is ReduceOp.AVG and dtype.kind not in "fc":
        raise ValueError(f"{who}: ReduceOp.AVG needs a floating-point tensor, got dtype "
                         f"{dtype} (as in PyTorch; use SUM and divide)")
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and dtype.kind not in "iub":
        raise ValueError(f"{who}: ReduceOp.{op.name} needs an integer or bool tensor, got "
                         f"dtype {dtype}")
    if dtype.kind == "b":       # as gloo: SUM and MAX are a logical or, PRODUCT and MIN an and
        return {ReduceOp.SUM: MPI.LOR, ReduceOp.MAX: MPI.LOR, ReduceOp.BOR: MPI.LOR,
                ReduceOp.PRODUCT: MPI.LAND, ReduceOp.MIN: MPI.LAND, ReduceOp.BAND: MPI.LAND,
                ReduceOp.BXOR: MPI.LXOR}[op]
    return {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
            ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX, ReduceOp.BAND: MPI.BAND,
            ReduceOp.BOR: MPI.BOR, ReduceOp.BXOR: MPI.BXOR}[op]


def _check_group(group_, who: str) -> None:
    if group_ is not None and group_ is not group.WORLD:
        raise ValueError(f"{who}: only the default group (group=None or group.WORLD) is "
                         f"supported, got {group_!r}")


def _check_rank(value, what: str, who: str) -> int:
    size = world.get_world_size()
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or not 0 <= value < size:
        raise ValueError(f"{who}: {what}={value!r} is not a rank of this world of {size} "
                         f"(0..{size - 1})")
    return int(value)


def _array(x, who: str, what: str = "tensor"):
    from ..tensor import Tensor
    if isinstance(x, Tensor):
        return x._data
    if hasattr(x, "__array_interface__") or hasattr(x, "__cuda_array_interface__"):
        return x
    raise TypeError(f"{who}: {what} should be a chainrule Tensor or an array, got "
                    f"{type(x).__name__}")


class _Buffer:
    """What MPI reads and writes for one array: the array itself when it is a contiguous
    NumPy array, else a contiguous host copy that :meth:`write_back` returns to it."""

    __slots__ = ("target", "owner", "buf")

    def __init__(self, x, who: str, what: str = "tensor", copy_in: bool = True):
        self.owner = x
        self.target = _array(x, who, what)
        if isinstance(self.target, np.ndarray) and self.target.flags.c_contiguous:
            self.buf = self.target
        elif isinstance(self.target, np.ndarray):
            self.buf = np.ascontiguousarray(self.target) if copy_in else \
                np.empty(self.target.shape, self.target.dtype)
        else:  # a device (CuPy) array: through the host
            self.buf = self.target.get()

    def write_back(self) -> None:
        if self.buf is not self.target:
            if isinstance(self.target, np.ndarray):
                self.target[...] = self.buf
            else:
                from ..backend import get_array_module
                self.target[...] = get_array_module(self.target).asarray(self.buf)
        bump = getattr(self.owner, "_bump_version", None)
        if bump is not None:
            bump()


def _post(who: str, start: Callable[[], Any], finish: Callable[[], None] | None,
          async_op: bool, detail: str, agree: Any = None) -> Work | None:
    """Post one collective (after checking, when ``agree`` is (shape, dtype), that every rank
    passes the same) and wait for it, or return its Work when ``async_op``."""
    world.comm()
    seq = world.next_seq()
    if agree is not None and world.get_world_size() > 1:
        agreement.check(world.comm(), who, seq, *agree)
    try:
        request = start()
    except Exception as exc:  # MPI's own error, with what was asked of it
        raise RuntimeError(f"{who}: MPI refused the collective ({detail}): {exc}") from exc
    work = Work(request, who, seq, finish)
    if async_op:
        return work
    work.wait()
    return None


def _meta(arr) -> tuple:
    return tuple(arr.shape), arr.dtype


def _describe(arr) -> str:
    return f"shape {tuple(arr.shape)}, dtype {np.dtype(arr.dtype).name}"


def all_reduce(tensor, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False):
    """``tensor`` ← ``op`` over every rank's ``tensor``, in place on every rank."""
    who = "all_reduce"
    _check_group(group, who)
    b = _Buffer(tensor, who)
    mpi_op, size = _mpi_op(op, b.buf.dtype, who), world.get_world_size()

    def finish():
        if op is ReduceOp.AVG:
            b.buf /= size
        b.write_back()

    from mpi4py import MPI
    return _post(who, lambda: world.comm().Iallreduce(MPI.IN_PLACE, b.buf, mpi_op), finish,
                 async_op, _describe(b.buf), _meta(b.buf))


def broadcast(tensor, src: int, group=None, async_op: bool = False):
    """``tensor`` ← rank ``src``'s ``tensor``, in place on every rank."""
    who = "broadcast"
    _check_group(group, who)
    src = _check_rank(src, "src", who)
    b = _Buffer(tensor, who)
    return _post(who, lambda: world.comm().Ibcast(b.buf, root=src), b.write_back, async_op,
                 _describe(b.buf), _meta(b.buf))


def reduce(tensor, dst: int, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False):
    """On rank ``dst``: ``tensor`` ← ``op`` over every rank's ``tensor`` (the others' tensors
    are left as they were)."""
    who = "reduce"
    _check_group(group, who)
    dst = _check_rank(dst, "dst", who)
    b = _Buffer(tensor, who)
    mpi_op, size, here = _mpi_op(op, b.buf.dtype, who), world.get_world_size(), world.get_rank()
    from mpi4py import MPI

    def start():
        if here == dst:
            return world.comm().Ireduce(MPI.IN_PLACE, b.buf, mpi_op, root=dst)
        return world.comm().Ireduce(b.buf, None, mpi_op, root=dst)

    def finish():
        if here == dst:
            if op is ReduceOp.AVG:
                b.buf /= size
            b.write_back()

    return _post(who, start, finish, async_op, _describe(b.buf), _meta(b.buf))


def _check_list(tensors, arr, who: str, what: str) -> list:
    size = world.get_world_size()
    if not isinstance(tensors, Sequence) or len(tensors) != size:
        got = len(tensors) if isinstance(tensors, Sequence) else type(tensors).__name__
        raise ValueError(f"{who}: {what} should be a list of {size} tensors (one per rank), "
                         f"got {got}")
    for i, t in enumerate(tensors):
        a = _array(t, who, f"{what}[{i}]")
        if tuple(a.shape) != tuple(arr.shape) or a.dtype != arr.dtype:
            raise ValueError(f"{who}: {what}[{i}] has {_describe(a)} but the tensor has "
                             f"{_describe(arr)}")
    return list(tensors)


def _scatter_into(tensors, stacked: np.ndarray, who: str) -> None:
    for i, t in enumerate(tensors):
        out = _Buffer(t, who, copy_in=False)
        out.buf[...] = stacked[i]
        out.write_back()


def all_gather(tensor_list: list, tensor, group=None, async_op: bool = False):
    """``tensor_list[r]`` ← rank ``r``'s ``tensor``, on every rank."""
    who = "all_gather"
    _check_group(group, who)
    b = _Buffer(tensor, who)
    outs = _check_list(tensor_list, b.buf, who, "tensor_list")
    stacked = np.empty((len(outs),) + b.buf.shape, b.buf.dtype)
    return _post(who, lambda: world.comm().Iallgather(b.buf, stacked),
                 lambda: _scatter_into(outs, stacked, who), async_op, _describe(b.buf),
                 _meta(b.buf))


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op: bool = False):
    """``output_tensor`` ← every rank's ``input_tensor``, concatenated along dim 0 (shape
    ``(size * n, ...)``) or stacked (shape ``(size, n, ...)``)."""
    who = "all_gather_into_tensor"
    _check_group(group, who)
    b = _Buffer(input_tensor, who, "input_tensor")
    out = _Buffer(output_tensor, who, "output_tensor", copy_in=False)
    size, shape = world.get_world_size(), tuple(b.buf.shape)
    fits = (out.buf.size == size * b.buf.size and out.buf.dtype == b.buf.dtype and (
        tuple(out.buf.shape) == (size,) + shape
        or (len(shape) > 0 and tuple(out.buf.shape) == (size * shape[0],) + shape[1:])))
    if not fits:
        raise ValueError(f"{who}: output_tensor has {_describe(out.buf)}; for an input of "
                         f"{_describe(b.buf)} on {size} ranks it should have shape "
                         f"{(size * shape[0],) + shape[1:] if shape else (size,)} (or "
                         f"{(size,) + shape}) and the same dtype")
    return _post(who, lambda: world.comm().Iallgather(b.buf, out.buf), out.write_back,
                 async_op, _describe(b.buf), _meta(b.buf))


def gather(tensor, gather_list: list | None = None, dst: int = 0, group=None,
           async_op: bool = False):
    """On rank ``dst``: ``gather_list[r]`` ← rank ``r``'s ``tensor`` (others pass None)."""
    who = "gather"
    _check_group(group, who)
    dst = _check_rank(dst, "dst", who)
    b = _Buffer(tensor, who)
    here = world.get_rank()
    if here == dst:
        outs = _check_list(gather_list, b.buf, who, "gather_list")
        stacked = np.empty((len(outs),) + b.buf.shape, b.buf.dtype)
        return _post(who, lambda: world.comm().Igather(b.buf, stacked, root=dst),
                     lambda: _scatter_into(outs, stacked, who), async_op, _describe(b.buf),
                 _meta(b.buf))
    if gather_list:
        raise ValueError(f"{who}: gather_list is for rank dst={dst} only; rank {here} should "
                         "pass None")
    return _post(who, lambda: world.comm().Igather(b.buf, None, root=dst), None, async_op,
                 _describe(b.buf), _meta(b.buf))


def scatter(tensor, scatter_list: list | None = None, src: int = 0, group=None,
            async_op: bool = False):
    """``tensor`` ← rank ``src``'s ``scatter_list[r]`` on each rank ``r``."""
    who = "scatter"
    _check_group(group, who)
    src = _check_rank(src, "src", who)
    out = _Buffer(tensor, who, copy_in=False)
    here = world.get_rank()
    if here == src:
        ins = _check_list(scatter_list, out.buf, who, "scatter_list")
        stacked = np.stack([np.asarray(_array(t, who)) for t in ins]) if ins else None
        return _post(who, lambda: world.comm().Iscatter(stacked, out.buf, root=src),
                     out.write_back, async_op, _describe(out.buf), _meta(out.buf))
    if scatter_list:
        raise ValueError(f"{who}: scatter_list is for rank src={src} only; rank {here} should "
                         "pass None")
    return _post(who, lambda: world.comm().Iscatter(None, out.buf, root=src), out.write_back,
                 async_op, _describe(out.buf), _meta(out.buf))


def barrier(group=None, async_op: bool = False, device_ids=None):
    """Wait until every rank has reached this call."""
    who = "barrier"
    _check_group(group, who)
    return _post(who, lambda: world.comm().Ibarrier(), None, async_op, "no data")
