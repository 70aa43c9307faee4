"""The worker process: receive batches of indices, fetch and collate them, hand the result back
through shared memory; an exception is sent back (with the index and traceback) instead."""
from __future__ import annotations

import random
import signal
import traceback

from ... import backend
from .fetch import fetch_batch
from .info import WorkerInfo, _set_worker_info
from .transport import discard_block, export_batch

__all__ = ["worker_main"]


def _report(result_conn, task_id, worker_id: int, index, exc: BaseException) -> None:
    result_conn.send(("error", task_id, worker_id, index, type(exc).__name__, str(exc),
                      "".join(traceback.format_exception(exc))))


def worker_main(worker_id: int, num_workers: int, seed: int, dataset, batched: bool,
                collate_fn, worker_init_fn, block_prefix: str, task_conn, result_conn) -> None:
    """Run until the main process sends None or goes away (its pipe closes). Tasks are
    ``(task_id, indices, epoch, base_seed)``; replies ``("ok", task_id, block, skeleton)`` or
    ``("error", task_id, worker_id, index, type name, message, traceback)``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    seed = int(seed) % 2**63
    backend.manual_seed(seed)
    random.seed(seed)
    _set_worker_info(WorkerInfo(worker_id, num_workers, seed, dataset))
    try:
        if worker_init_fn is not None:
            worker_init_fn(worker_id)
    except Exception as exc:  # reported at the first batch
        try:
            _report(result_conn, None, worker_id, None, exc)
        except (BrokenPipeError, OSError):
            pass
        return
    where = [None]
    while True:
        try:
            task = task_conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if task is None:
            return
        task_id, indices, epoch, base_seed = task
        try:
            batch = fetch_batch(dataset, indices, batched, collate_fn, base_seed, epoch, where)
            name, skeleton = export_batch(batch, f"{block_prefix}{worker_id}_{task_id}")
            del batch
            reply = ("ok", task_id, name, skeleton)
        except Exception as exc:
            reply = None
            try:
                _report(result_conn, task_id, worker_id, where[0], exc)
            except (BrokenPipeError, OSError):
                return
        if reply is not None:
            try:
                result_conn.send(reply)
            except (BrokenPipeError, OSError):
                discard_block(reply[2])
                return
            except Exception as exc:  # a leaf of the batch that cannot be pickled
                discard_block(reply[2])
                _report(result_conn, task_id, worker_id, indices, exc)
