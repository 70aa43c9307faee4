"""Errors from worker processes, re-raised in the main process with where they happened."""
from __future__ import annotations

import builtins
import signal

__all__ = ["DataLoaderWorkerError", "worker_exception", "death_message"]


class DataLoaderWorkerError(RuntimeError):
    """A worker failed (an exception that is not a built-in one, a death, a timeout)."""


def worker_exception(worker_id: int, index, type_name: str, message: str, tb: str
                     ) -> BaseException:
    """The exception to raise in the main process for one a worker caught: the same built-in
    type where it is one (ValueError, KeyError, …), else :class:`DataLoaderWorkerError`; its
    message names the worker, the dataset index and carries the worker's traceback."""
    where = f"dataset index {index!r}" if index is not None else "worker_init_fn"
    text = (f"{type_name} in DataLoader worker {worker_id} while loading {where}: {message}\n"
            f"\nTraceback in the worker:\n{tb.rstrip()}")
    cls = getattr(builtins, type_name, None)
    if isinstance(cls, type) and issubclass(cls, Exception) and cls not in (
            KeyError, UnicodeError, UnicodeDecodeError, UnicodeEncodeError, OSError):
        try:
            return cls(text)
        except Exception:  # a built-in needing other arguments
            pass
    if cls is KeyError:
        return KeyError(text)
    return DataLoaderWorkerError(text)


def death_message(worker_id: int, pid: int, exitcode: int | None) -> str:
    """'DataLoader worker 1 (pid 4242) was killed by signal 9 (SIGKILL)' and the like."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = "unknown signal"
        return (f"DataLoader worker {worker_id} (pid {pid}) was killed by signal {-exitcode} "
                f"({name}); if it was SIGKILL, the system may have run out of memory")
    return (f"DataLoader worker {worker_id} (pid {pid}) exited unexpectedly (exit code "
            f"{exitcode}); its own error, if it printed one, is above (a worker imports the main "
            f"script again: training code there must sit under `if __name__ == \"__main__\":`)")
