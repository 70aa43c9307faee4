"""Host↔device transfers off the training stream: page-locked (pinned) host buffers and copies
queued on a second CUDA stream, so the next batch travels while the current one trains."""
from __future__ import annotations

import numpy as np
import cupy

__all__ = ["pinned_copy", "CopyStream"]


def pinned_copy(a: np.ndarray) -> np.ndarray:
    """A copy of host array ``a`` in page-locked memory (the NumPy array keeps the buffer
    alive); copies from it to the GPU can run asynchronously."""
    mem = cupy.cuda.alloc_pinned_memory(max(a.nbytes, 1))
    out = np.frombuffer(mem, a.dtype, a.size).reshape(a.shape)
    np.copyto(out, a)
    return out


class CopyStream:
    """A non-blocking CUDA stream for host→device copies, with an event per batch."""

    def __init__(self, device_index: int):
        self.device_index = device_index
        with cupy.cuda.Device(device_index):
            self.stream = cupy.cuda.Stream(non_blocking=True)

    def upload(self, host_arrays: list) -> tuple[list, object]:
        """Queue copies of ``host_arrays`` to the GPU on the copy stream, after everything the
        training stream has queued so far (so memory it still reads is never reused); returns
        the device arrays and an event marking the copies' end."""
        with cupy.cuda.Device(self.device_index):
            main = cupy.cuda.get_current_stream()
            self.stream.wait_event(main.record())
            with self.stream:
                out = []
                for a in host_arrays:
                    d = cupy.empty(a.shape, a.dtype)
                    d.set(np.ascontiguousarray(a), stream=self.stream)
                    out.append(d)
                done = self.stream.record()
        return out, done

    def hand_over(self, done) -> None:
        """Make the training stream wait (on the device, not the host) for ``done``."""
        with cupy.cuda.Device(self.device_index):
            cupy.cuda.get_current_stream().wait_event(done)
