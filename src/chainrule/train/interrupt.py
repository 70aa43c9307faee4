"""Ctrl-C during training: finish the batch, save, return — instead of dying mid-update.

While :class:`GracefulInterrupt` is active, the first SIGINT only sets ``requested``; the loop
checks it after each batch. A second SIGINT raises ``KeyboardInterrupt`` at once (for a run that
hangs). The previous handler is put back on exit. Outside the main thread (where Python cannot
install signal handlers), and where SIGINT is ignored on purpose (``nohup``, a shell's background
job), it does nothing: a run the user shielded from Ctrl-C stays shielded.
"""
from __future__ import annotations

import signal
import threading

__all__ = ["GracefulInterrupt"]


class GracefulInterrupt:
    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.requested = False
        self._previous = None
        self._installed = False

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> "GracefulInterrupt":
        self.requested = False
        if self.enabled and threading.current_thread() is threading.main_thread():
            self._previous = signal.getsignal(signal.SIGINT)
            if self._previous is not signal.SIG_IGN:
                signal.signal(signal.SIGINT, self._handle)
                self._installed = True
        return self

    def __exit__(self, *exc) -> None:
        if self._installed:
            previous = self._previous if self._previous is not None else signal.SIG_DFL
            signal.signal(signal.SIGINT, previous)
            self._installed = False
