"""The main process's side of the workers: start them, keep ``prefetch_factor × num_workers``
batches in flight, hand batches out in sampler order, turn failures into errors, and stop the
workers and unlink every shared-memory block on the way out.

Workers are started with an explicit start method (``forkserver`` by default: the server
process imports chainrule once and forks each worker from it, so starting is cheap and no
threads of the main process are copied, which ``fork`` would do; Python 3.14 makes it Linux's
default). As with ``spawn``, the dataset, ``collate_fn`` and ``worker_init_fn`` are pickled to
each worker, and a script that builds loaders must guard its top level with
``if __name__ == "__main__":``.
"""
from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import time
import weakref
from collections import deque
from multiprocessing.connection import wait
from typing import Iterator

from .errors import DataLoaderWorkerError, death_message, worker_exception
from .info import WORKER_NAME_PREFIX, refuse_in_worker
from .mpi_env import without_mpi_env
from .transport import discard_block, import_batch, sweep_blocks

__all__ = ["WorkerPool", "DEFAULT_START_METHOD", "check_context"]

DEFAULT_START_METHOD = "forkserver"
# Starting a worker sends its arguments through multiprocessing's own pickler (process-to-process
# only: nothing is ever loaded from a file this way); this is the error it raises.
_PicklingError = mp.reduction.pickle.PicklingError
_serial = itertools.count()


def check_context(method) -> None:
    """Raise the error :func:`_context` would raise for ``method``, creating nothing."""
    if isinstance(method, str):
        if method not in mp.get_all_start_methods():
            raise ValueError(f"DataLoader: multiprocessing_context {method!r} is not "
                             f"available here; choose from {mp.get_all_start_methods()}")
    elif not (hasattr(method, "Process") and hasattr(method, "Pipe")):
        raise TypeError(f"DataLoader: multiprocessing_context must be a start method name or a "
                        f"multiprocessing context, got {type(method).__name__}")


def _context(method):
    if method is None:
        method = DEFAULT_START_METHOD
    if isinstance(method, str):
        if method not in mp.get_all_start_methods():
            raise ValueError(f"DataLoader: multiprocessing_context {method!r} is not "
                             f"available here; choose from {mp.get_all_start_methods()}")
        ctx = mp.get_context(method)
        if method == "forkserver":
            ctx.set_forkserver_preload(["chainrule.data.workers.loop"])
        return ctx
    if hasattr(method, "Process") and hasattr(method, "Pipe"):
        return method
    raise TypeError(f"DataLoader: multiprocessing_context must be a start method name or a "
                    f"multiprocessing context, got {type(method).__name__}")


def _stop(procs: list, task_conns: list, result_conns: list, prefix: str) -> None:
    """Ask each worker to stop, wait a little, then terminate; unlink whatever blocks are left."""
    for conn in task_conns:
        try:
            conn.send(None)
        except (OSError, ValueError):
            pass
    deadline = time.monotonic() + 1.0  # a worker busy with a slow item is not waited for
    for p in procs:
        p.join(timeout=max(0.0, deadline - time.monotonic()))
    for p in procs:
        if p.is_alive():
            p.terminate()
            p.join(timeout=2.0)
        if p.is_alive():
            p.kill()
            p.join()
    for conn in result_conns:
        try:
            while conn.poll():
                msg = conn.recv()
                if msg[0] == "ok":
                    discard_block(msg[2])
        except (EOFError, OSError, ValueError):
            pass
    for conn in task_conns + result_conns:
        conn.close()
    for p in procs:
        p.close()
    sweep_blocks(prefix)


class WorkerPool:
    """``num_workers`` processes over one copy each of ``dataset``; :meth:`epoch` runs one
    pass over a sequence of index batches."""

    def __init__(self, dataset, num_workers: int, batched: bool, collate_fn, worker_init_fn,
                 seed: int, timeout: float, prefetch_factor: int, method=None):
        refuse_in_worker(f"DataLoader(num_workers={num_workers})")
        ctx = _context(method)
        self.num_workers, self.timeout = num_workers, timeout
        self.limit = prefetch_factor * num_workers
        self.prefix = f"crdl{os.getpid()}x{next(_serial)}_"
        self._task_ids = itertools.count()
        self._abandoned: set = set()   # tasks of an earlier epoch whose results are unwanted
        self.procs, self.task_conns, self.result_conns = [], [], []
        try:
            with without_mpi_env():   # a worker never joins the rank's MPI job (mpi_env)
                for wid in range(num_workers):
                    task_r, task_w = ctx.Pipe(duplex=False)
                    res_r, res_w = ctx.Pipe(duplex=False)
                    p = ctx.Process(target=_worker_entry, name=f"{WORKER_NAME_PREFIX}{wid}",
                                    args=(wid, num_workers, seed + wid, dataset, batched,
                                          collate_fn, worker_init_fn, self.prefix, task_r, res_w),
                                    daemon=True)
                    try:
                        p.start()
                    except (_PicklingError, AttributeError, TypeError) as exc:
                        raise TypeError(
                            f"DataLoader(num_workers={num_workers}): the dataset, collate_fn and "
                            f"worker_init_fn are pickled to each worker process, and one of them "
                            f"cannot be ({exc}); define functions and classes at module level, "
                            f"not as lambdas or local functions") from None
                    except (BrokenPipeError, EOFError) as exc:   # it died before its task came
                        raise DataLoaderWorkerError(
                            f"DataLoader worker {wid} died while starting ({exc}); its own "
                            f"error, if it printed one, is above (a worker imports the main "
                            f"script again: training code there must sit under "
                            f"`if __name__ == \"__main__\":`)") from None
                    task_r.close()
                    res_w.close()
                    self.procs.append(p)
                    self.task_conns.append(task_w)
                    self.result_conns.append(res_r)
        except BaseException:
            _stop(self.procs, self.task_conns, self.result_conns, self.prefix)
            raise
        self._finalizer = weakref.finalize(self, _stop, self.procs, self.task_conns,
                                           self.result_conns, self.prefix)

    @property
    def alive(self) -> bool:
        return self._finalizer.alive

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs] if self.alive else []

    def shutdown(self) -> None:
        """Stop the workers and unlink every block (idempotent)."""
        self._finalizer()

    def epoch(self, batches: Iterator, epoch: int, base_seed: int, keep: bool) -> Iterator:
        """The batches of ``batches`` (index lists), fetched by the workers, in order; unless
        ``keep`` (persistent workers), the workers stop when the epoch ends or is abandoned."""
        pending: dict = {}   # task id → worker id, sent and not yet back
        ready: dict = {}     # task id → (block name, skeleton), back and not yet handed out
        order: deque = deque()
        source = iter(batches)
        try:
            exhausted = self._fill(source, order, pending, ready, epoch, base_seed, False)
            while order:
                tid = order[0]
                while tid not in ready:
                    self._receive(pending, ready, tid)
                order.popleft()
                name, skeleton = ready.pop(tid)
                if not exhausted:
                    exhausted = self._fill(source, order, pending, ready, epoch, base_seed,
                                           exhausted)
                yield import_batch(name, skeleton)
        except GeneratorExit:  # the consumer stopped early
            if not keep:
                self.shutdown()
            raise
        except BaseException:
            self.shutdown()  # an error or Ctrl-C: nothing of this pool is worth keeping
            raise
        finally:
            for name, _ in ready.values():
                discard_block(name)
            self._abandoned.update(pending)
        if not keep:
            self.shutdown()

    def _fill(self, source, order, pending, ready, epoch, base_seed, exhausted) -> bool:
        while len(pending) + len(ready) < self.limit:
            try:
                indices = next(source)
            except StopIteration:
                return True
            tid = next(self._task_ids)
            wid = tid % self.num_workers
            try:
                self.task_conns[wid].send((tid, indices, epoch, base_seed))
            except OSError:  # the worker died (its pipe is closed): say how, as _receive does
                p = self.procs[wid]
                p.join(timeout=1.0)
                raise DataLoaderWorkerError(death_message(wid, p.pid, p.exitcode)) from None
            pending[tid] = wid
            order.append(tid)
        return exhausted

    def _receive(self, pending: dict, ready: dict, wanted: int) -> None:
        """Wait for the next message from any worker and file it; raise on an error, a dead
        worker or a timeout."""
        sentinels = {p.sentinel: wid for wid, p in enumerate(self.procs)}
        conns = {id(c): wid for wid, c in enumerate(self.result_conns)}
        got = wait(self.result_conns + list(sentinels), timeout=self.timeout or None)
        if not got:
            raise DataLoaderWorkerError(
                f"DataLoader timed out after {self.timeout:g} s waiting for a batch from "
                f"worker {pending.get(wanted)} (timeout={self.timeout:g})")
        dead = []
        for obj in got:
            if id(obj) in conns:
                try:
                    msg = obj.recv()
                except (EOFError, OSError):
                    continue  # the worker died: its sentinel says how
                self._file(msg, pending, ready)
            else:
                dead.append(sentinels[obj])
        for wid in dead:
            conn = self.result_conns[wid]
            try:  # an error it sent before dying is the better report
                while conn.poll():
                    self._file(conn.recv(), pending, ready)
            except (EOFError, OSError):
                pass
            p = self.procs[wid]
            p.join(timeout=1.0)
            raise DataLoaderWorkerError(death_message(wid, p.pid, p.exitcode))

    def _file(self, msg, pending: dict, ready: dict) -> None:
        if msg[0] == "error":
            _, tid, wid, index, type_name, text, tb = msg
            raise worker_exception(wid, index, type_name, text, tb)
        _, tid, name, skeleton = msg
        if tid in pending:
            del pending[tid]
            ready[tid] = (name, skeleton)
        else:
            self._abandoned.discard(tid)
            discard_block(name)


def _worker_entry(*args) -> None:
    from .loop import worker_main
    worker_main(*args)
