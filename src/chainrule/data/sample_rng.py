"""One random stream per sample, so augmentation does not depend on who loads the sample.

PyTorch seeds each loading worker, so with random transforms its batches change with the number
of workers. chainrule instead derives a stream from three numbers — the loader's base seed, the
epoch (how many times the loader has been iterated) and the sample's index in the dataset — and
sets it before each ``dataset[i]``; transforms and user code draw from
:func:`sample_generator`. The same seed then gives the same augmented batches with 0, 1 or any
number of workers, and a resumed run draws what the uninterrupted one would have.

Outside a loader (a dataset indexed by hand), :func:`sample_generator` is chainrule's default
generator, which ``chainrule.manual_seed`` seeds.
"""
from __future__ import annotations

import contextlib
import threading
from typing import Iterator

import numpy as np

from .. import backend

__all__ = ["sample_generator", "sample_stream", "using_sample_stream"]

_local = threading.local()
# _local.generator: the current stream, or None; _local.pending: a (seed, epoch, index) whose
# stream is built only if someone asks for it (building one costs ~20 µs, which a loader paying
# it per item whose dataset draws nothing would notice).


def sample_stream(base_seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator of sample ``index`` in epoch ``epoch`` of a loader seeded ``base_seed``:
    PCG64 seeded by the SeedSequence of (base_seed, epoch, index) — independent streams for
    distinct triples."""
    return np.random.Generator(np.random.PCG64(
        np.random.SeedSequence([int(base_seed), int(epoch), int(index)])))


def sample_generator() -> np.random.Generator:
    """The generator random transforms draw from: the current sample's stream inside a
    DataLoader (or :func:`using_sample_stream`), chainrule's default generator elsewhere."""
    pending = getattr(_local, "pending", None)
    if pending is not None:
        _local.generator, _local.pending = sample_stream(*pending), None
    gen = getattr(_local, "generator", None)
    return gen if gen is not None else backend.default_generator()


def enter_lazy_stream(base_seed: int, epoch: int, index: int) -> tuple:
    """Make sample ``index``'s stream current without building it until
    :func:`sample_generator` is called; returns what to hand :func:`restore_stream`."""
    previous = (getattr(_local, "generator", None), getattr(_local, "pending", None))
    _local.generator, _local.pending = None, (base_seed, epoch, index)
    return previous


def restore_stream(previous: tuple) -> None:
    """Undo :func:`enter_lazy_stream`."""
    _local.generator, _local.pending = previous


@contextlib.contextmanager
def using_sample_stream(base_seed: int, epoch: int, index: int) -> Iterator[np.random.Generator]:
    """Within the block, :func:`sample_generator` is sample ``index``'s stream."""
    previous = (getattr(_local, "generator", None), getattr(_local, "pending", None))
    _local.generator, _local.pending = sample_stream(base_seed, epoch, index), None
    try:
        yield _local.generator
    finally:
        _local.generator, _local.pending = previous
