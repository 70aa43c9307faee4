"""DataLoader: batches of chainrule Tensors from a dataset, with PyTorch's signature — samplers,
batch samplers, ``collate_fn``, worker processes — shuffled by the loader's own seeded
generator, with a JSON-serialisable ``state_dict`` for bitwise-exact resume mid-epoch.

For a batchable dataset (array-backed: TensorDataset, ArrayDataset, the built-in and
memory-mapped datasets, and Subsets/concatenations of them) each batch is one fancy index per
array — in the main process or, with ``num_workers > 0``, in a worker. Any other dataset is
indexed item by item, each ``dataset[i]`` with sample i's random stream current
(:func:`chainrule.data.sample_generator`), and the items collated; so the batches are the same
with any number of workers, random transforms included.
"""
from __future__ import annotations

import collections
import copy
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from .. import backend
from ._generator import generator_state, resolve_generator, set_generator_state
from .collate import default_collate, to_tensors
from .dataset import Dataset
from . import iterable as _iterable
from .samplers import BatchSampler, RandomSampler, SequentialSampler, epoch_indices
from .workers.fetch import fetch_batch

__all__ = ["DataLoader", "default_collate"]

_MASK64 = 2**63 - 1
# keeps an evaluation twin's per-sample streams apart from its training loader's
_EVALUATION_SALT = 0x5DEECE66D


def _derive_seed(gen: np.random.Generator) -> int:
    """A base seed for the per-sample streams from ``gen``'s current state, without moving it
    (so the shuffling order is what it was before per-sample streams existed)."""
    word = int(copy.deepcopy(gen).integers(0, _MASK64))
    return int(np.random.SeedSequence([word, 0x5EED]).generate_state(2, np.uint64)[0]) \
        & _MASK64


class DataLoader:
    """Iterate over ``dataset`` in batches — PyTorch's ``DataLoader`` signature and semantics.

    ``shuffle`` draws a new permutation each epoch from the loader's own NumPy generator:
    ``generator`` is an int seed, a ``numpy.random.Generator``, or None (then seeded once, at
    construction, by a draw from chainrule's default generator, so ``chainrule.manual_seed``
    makes the order reproducible). ``sampler`` (indices) or ``batch_sampler`` (lists of
    indices) replace the built-in order, with PyTorch's exclusivity rules; ``batch_size=None``
    turns automatic batching off (each item converted to Tensors, or passed to
    ``collate_fn``). ``drop_last`` drops a final short batch. ``collate_fn`` turns a list of
    items into a batch (and forces the item-by-item path).

    ``num_workers > 0`` fetches and collates in that many worker processes (start method
    ``multiprocessing_context``, ``'forkserver'`` by default), keeping ``prefetch_factor``
    (default 2) batches per worker in flight while the caller computes; finished batches come
    back through shared memory and are handed out in sampler order. ``timeout`` (seconds, 0:
    none) bounds each wait for a batch; ``worker_init_fn(worker_id)`` runs in each worker at
    start; ``persistent_workers`` keeps the workers between epochs (and, after an epoch
    broken off, the batches they had prefetched, in shared memory, until the next epoch or
    :meth:`shutdown_workers`). Items fetched one by one
    draw their randomness from a stream of (base seed, pass, index) — the base seed derived
    from the loader's generator (else one draw from chainrule's default generator), the pass
    the number of ``iter(loader)`` calls before this one (a pass broken off counts; resuming a
    loaded mid-epoch state continues its pass) — so any worker count gives the batches of
    ``num_workers=0``, and a new pass never repeats an earlier one's draws. Batchable datasets are fetched with
    one ``get_batch`` per batch in the worker too, without a per-sample stream: their batch
    transforms are deterministic. ``pin_memory=True`` puts batches in page-locked host memory
    when CUDA is available (faster, asynchronous copies to the GPU) and does nothing on a
    CPU-only machine, as in PyTorch; ``pin_memory_device`` is accepted; ``in_order=False`` is accepted, and
    batches still come in order.

    ``state_dict()`` records the completed epochs, the batches handed out in the current one,
    the generator state its order was drawn from and the base seed; after
    ``load_state_dict`` the next ``iter(loader)`` redraws that order and continues from the
    next batch, so a resumed run sees exactly the batches an uninterrupted one would (with
    the built-in samplers, or samplers drawing from the loader's generator). An epoch is
    complete as soon as its last batch has been handed out.
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Iterable | None = None, batch_sampler: Iterable | None = None,
                 num_workers: int = 0, collate_fn: Callable | None = None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable | None = None, multiprocessing_context=None,
                 generator=None, *, prefetch_factor: int | None = None,
                 persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True):
        if batch_size is not None and (not isinstance(batch_size, (int, np.integer))
                                       or isinstance(batch_size, bool) or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size must be a positive integer or None, got "
                             f"{batch_size!r}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got "
                            f"{type(collate_fn).__name__}")
        self._check_workers(num_workers, timeout, prefetch_factor, persistent_workers,
                            worker_init_fn)
        self._iterable = isinstance(dataset, _iterable.IterableDataset)
        if self._iterable:
            _iterable.check_loader_options(shuffle, sampler, batch_sampler)
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None
                                          or drop_last):
            raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                             "batch_size, shuffle, sampler, and drop_last")
        if batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and "
                             "is mutually exclusive with drop_last")
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.num_workers, self.timeout = int(num_workers), float(timeout)
        self.prefetch_factor = prefetch_factor if prefetch_factor is not None or \
            num_workers == 0 else 2
        self.persistent_workers = bool(persistent_workers)
        if multiprocessing_context is not None:
            if self.num_workers == 0:   # PyTorch's rule and words
                raise ValueError("DataLoader: multiprocessing_context can only be used with "
                                 "multi-process loading (num_workers > 0), but got "
                                 "num_workers=0")
            from .workers.pool import check_context
            check_context(multiprocessing_context)  # a bad name fails here, not at iter()
        self.worker_init_fn, self.multiprocessing_context = worker_init_fn, \
            multiprocessing_context
        self.pin_memory, self.pin_memory_device, self.in_order = \
            bool(pin_memory), pin_memory_device, bool(in_order)
        self.generator = (resolve_generator(generator, "DataLoader")
                          if shuffle or generator is not None else None)
        self._base_seed = _derive_seed(self.generator) if self.generator is not None else None
        if self._iterable:          # a stream: no indices; batches of consecutive items
            sampler = batch_sampler = None
        elif batch_sampler is None and sampler is None:
            sampler = (RandomSampler(dataset, generator=self.generator) if self.shuffle
                       else SequentialSampler(dataset))
        if batch_sampler is None and self.batch_size is not None and not self._iterable:
            batch_sampler = BatchSampler(sampler, self.batch_size, self.drop_last)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self._auto_collation = batch_sampler is not None or (self._iterable and
                                                             self.batch_size is not None)
        self.collate_fn = collate_fn if collate_fn is not None else \
            (default_collate if self._auto_collation else None)
        self._batched = collate_fn is None and self._auto_collation and \
            bool(getattr(dataset, "batchable", False))
        self._pool = None
        self._epoch = 0            # epochs whose batches have all been handed out
        self._passes = 0           # __iter__ calls that started a pass (a resume continues one)
        self._pass = 0             # the current pass's number: the per-sample streams' epoch
        self._active = False       # an epoch is under way
        self._position = 0         # batches handed out in the current epoch
        self._epoch_state = None   # generator state before this epoch's order was drawn
        self._resume = False       # the next __iter__ continues a loaded mid-epoch state
        self._token = None
        self._follows = None       # the training loader whose streams an evaluation twin uses
        self._shard = None         # (rank, world): hand out this rank's rows of each batch
        self.shard_sizes: collections.deque = collections.deque()

    def shard(self, rank: int, world: int) -> None:
        """Hand out only rank ``rank``'s share (of ``world``) of every batch: positions
        rank, rank + world, ... of the batch one process would get (``world`` 1: all of it).
        Order, length, position and ``state_dict`` stay those of the whole (global) batches,
        so a state resumes with any number of ranks. A rank whose share of a short last
        batch is empty gets the batch's first sample instead; for every batch handed out,
        ``shard_sizes`` gains ``(global size, this rank's true size)`` (0 for a borrowed one),
        to be popped from the left by whoever consumes the batches."""
        if not (isinstance(world, int) and world >= 1 and isinstance(rank, int)
                and 0 <= rank < world):
            raise ValueError(f"DataLoader.shard: rank {rank!r} of world {world!r} is not a "
                             "rank (need 0 <= rank < world)")
        if world > 1 and self.batch_sampler is None:
            raise ValueError("DataLoader.shard: the loader has no batches (batch_size=None); "
                             "give it a batch_size to split its batches among ranks")
        self._shard = None if world == 1 else (rank, world)
        self.shard_sizes.clear()

    def _sharded(self, batches: Iterator) -> Iterator:
        rank, world = self._shard
        log = self.shard_sizes
        for idx in batches:
            part = idx[rank::world]
            if len(part):
                log.append((len(idx), len(part)))
                yield part
            else:
                log.append((len(idx), 0))
                yield idx[:1]

    @staticmethod
    def _check_workers(num_workers, timeout, prefetch_factor, persistent, init_fn) -> None:
        if not isinstance(num_workers, (int, np.integer)) or isinstance(num_workers, bool) \
                or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers option should be non-negative; use "
                             f"num_workers=0 to disable multiprocessing (got {num_workers!r})")
        if not isinstance(timeout, (int, float)) or timeout < 0:
            raise ValueError(f"DataLoader: timeout option should be non-negative, got "
                             f"{timeout!r}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("DataLoader: prefetch_factor option could only be specified in "
                             "multiprocessing. Let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if prefetch_factor is not None and (not isinstance(prefetch_factor, (int, np.integer))
                                            or prefetch_factor < 1):
            raise ValueError(f"DataLoader: prefetch_factor must be a positive integer, got "
                             f"{prefetch_factor!r}")
        if persistent and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if init_fn is not None and not callable(init_fn):
            raise TypeError(f"DataLoader: worker_init_fn must be callable, got "
                            f"{type(init_fn).__name__}")

    def __len__(self) -> int:
        if self._iterable:      # as PyTorch: from the dataset's own __len__, if it has one
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    @property
    def epoch(self) -> int:
        """How many epochs have been handed out in full."""
        return self._epoch

    @property
    def base_seed(self) -> int:
        """The seed of the per-sample streams (drawn from chainrule's default generator on
        first use when the loader has no generator of its own)."""
        if self._base_seed is None:
            self._base_seed = int(backend.default_generator().integers(0, _MASK64))
        return self._base_seed

    def __iter__(self) -> Iterator:
        if self._iterable:
            return _iterable.iterate(self)
        start = self._position if self._resume else 0
        if not self._resume:        # a new pass: its samples draw new random numbers
            self._pass = self._passes
            self._passes += 1
            if self._follows is not None:   # an evaluation twin: fixed by its training loader
                lead = self._follows
                self._base_seed = (lead.base_seed ^ _EVALUATION_SALT) & _MASK64
                self._pass = lead.epoch
        self._resume = False
        self._epoch_state = generator_state(self.generator) if self.generator is not None \
            else None
        batches = self._index_batches()
        self._active, self._position = True, start
        self._token = token = object()
        nb = len(self)
        if start >= nb:
            self._finish_epoch()
            return iter(())
        if start:
            batches = _skip(batches, start)
        if self._shard is not None:
            self.shard_sizes.clear()
            batches = self._sharded(batches)
        if self.num_workers == 0:
            fetched = None if self._batched else self._serial_items(batches)
        else:
            fetched = self._workers().epoch(batches, self._pass,
                                            0 if self._batched else self.base_seed,
                                            self.persistent_workers)
        return self._count(fetched, batches, start, nb, token)

    def _serial_items(self, batches: Iterator) -> Iterator:
        base, epoch, collate = self.base_seed, self._pass, self.collate_fn
        for idx in batches:
            yield fetch_batch(self.dataset, idx, False, collate, base, epoch)

    def _index_batches(self) -> Iterator:
        """This epoch's batches of indices (single indices without auto-batching)."""
        if self.batch_sampler is None:
            return iter(self.sampler)
        bs = self.batch_sampler
        order = epoch_indices(bs.sampler) if type(bs) is BatchSampler else None
        if order is None:
            return iter(bs)
        size, n = bs.batch_size, len(order)
        stop = n - n % size if bs.drop_last else n
        return (order[lo:lo + size] for lo in range(0, stop, size))

    def _workers(self):
        from .workers.pool import WorkerPool
        if self._pool is None or not self._pool.alive:
            self._pool = WorkerPool(self.dataset, self.num_workers, self._batched,
                                    self.collate_fn, self.worker_init_fn, self.base_seed,
                                    self.timeout, self.prefetch_factor,
                                    self.multiprocessing_context)
        return self._pool

    def _finish_epoch(self) -> None:
        self._active, self._position, self._epoch_state = False, 0, None
        self._epoch += 1
        if self._pool is not None and not self.persistent_workers:
            self._pool.shutdown()

    def _count(self, fetched: Iterator | None, batches: Iterator, start: int, nb: int,
               token) -> Iterator:
        """Hand out the batches, moving the loader's position (``fetched`` None: the main
        process's fast path, one ``get_batch`` per batch)."""
        if fetched is None:
            get_batch = self.dataset.get_batch
            fetched = (to_tensors(get_batch(idx)) for idx in batches)
        if self.pin_memory:                   # page-locked copies when CUDA is there, else as is
            from .prefetch import pin_batch, pinning_available
            if pinning_available():
                fetched = (pin_batch(batch) for batch in fetched)
        for b, batch in enumerate(fetched, start):
            if self._token is token:  # only the newest iterator moves the loader's state
                self._position = b + 1
                if b + 1 == nb:
                    self._finish_epoch()
            yield batch

    def evaluation_twin(self, batch_size: int | None = None) -> "DataLoader":
        """A loader over the same dataset, in order, for evaluating on the training data:
        without touching this loader's order or resume state. Its per-sample streams follow
        this loader's (its seed, salted, and the number of epochs this loader has completed),
        so an evaluation after epoch e draws the same augmentation in a run and in its resume,
        and draws nothing from chainrule's default generator."""
        collate = None if self.collate_fn is default_collate else self.collate_fn
        twin = DataLoader(self.dataset, batch_size=batch_size or self.batch_size,
                          shuffle=False, drop_last=False, collate_fn=collate)
        twin._follows = self
        return twin

    def shutdown_workers(self) -> None:
        """Stop the worker processes now (they also stop when the loader is collected)."""
        if self._pool is not None:
            self._pool.shutdown()

    def __del__(self):
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_pool"] = None  # worker processes do not travel
        return state

    # ---- exact resume -------------------------------------------------------------------
    def state_dict(self) -> dict:
        """JSON-serialisable: the generator state at the start of the current epoch (or now,
        between epochs), the completed epochs, the batches handed out in this epoch and the
        per-sample streams' base seed."""
        if self._active:
            gen = copy.deepcopy(self._epoch_state)
        else:
            gen = generator_state(self.generator) if self.generator is not None else None
        return {"epoch": self._epoch, "position": self._position if self._active else 0,
                "in_epoch": self._active, "generator": gen, "batch_size": self.batch_size,
                "shuffle": self.shuffle, "drop_last": self.drop_last,
                "num_samples": len(self.dataset), "base_seed": self._base_seed,
                "passes": self._passes, "pass": self._pass}

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict`; the next ``iter(loader)`` continues where it left off
        (same order, from the next batch)."""
        mine = self.state_dict()
        for key in ("batch_size", "shuffle", "drop_last", "num_samples"):
            if key in state and state[key] != mine[key]:
                raise ValueError(f"DataLoader.load_state_dict: state has {key}={state[key]!r} "
                                 f"but this loader has {key}={mine[key]!r}")
        if state.get("generator") is not None:
            if self.generator is None:
                self.generator = np.random.Generator(np.random.PCG64())
                if isinstance(self.sampler, RandomSampler) and self.sampler.generator is None:
                    self.sampler.generator = self.generator
            set_generator_state(self.generator, state["generator"])
        if state.get("base_seed") is not None:
            self._base_seed = int(state["base_seed"])
        self._epoch = int(state["epoch"])
        self._active = self._resume = bool(state.get("in_epoch", False))
        # states written before passes were counted: one pass per epoch (+ the one under way)
        self._passes = int(state.get("passes", self._epoch + self._active))
        self._pass = int(state.get("pass", self._epoch))
        self._position = int(state["position"]) if self._active else 0
        self._epoch_state = state.get("generator") if self._active else None
        self._token = None  # iterators from before the load no longer move the state

    def __repr__(self) -> str:
        workers = f", num_workers={self.num_workers}" if self.num_workers else ""
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}{workers})")


def _skip(batches: Iterator, count: int) -> Iterator:
    """``batches`` without its first ``count`` (index batches only: nothing is fetched)."""
    for _ in range(count):
        next(batches, None)
    return batches
