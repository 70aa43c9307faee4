"""The training loop: ``fit`` / :class:`Trainer` and what it records after every epoch.

The notes' algorithm: initialise θ, then for each epoch and each minibatch of B samples —
forward, loss L(t, θ) = (1/B) Σ l(x⁽ⁿ⁾, y⁽ⁿ⁾; θ), backprop ∇L, update θ ← θ − γ ∇L (the
optimizer's rule). After every epoch, in eval mode and without a graph, a full pass over the
training set and over the validation (and test) set gives each split's loss and error rate
(accuracy = 1 − error rate); the running mean of the minibatch losses seen during the epoch is
logged too (``train_running_loss``; it mixes weights from the start and end of the epoch and,
with dropout, is measured in train mode, so it differs from ``train_loss``).

Under ``mpiexec -n N`` the same code trains data-parallel (:mod:`.data_parallel`): the batch
size is the global batch, each rank computes on its share, gradients, losses and metrics are
summed over the ranks, and the run — dropout masks included (:mod:`chainrule.data.batch_rng`)
— gives one process's numbers to rounding; rank 0 alone prints and writes.
"""
from __future__ import annotations

import os
import time

import numpy as np
from typing import Any, Callable, Collection, Iterable, Sequence

from ..data import batch_rng
from .callbacks.base import CallbackList
from .callbacks.lr import LRSchedulerCallback
from .checkpointing import load_checkpoint, save_checkpoint
from ..data.prefetch import prefetch_to
from .evaluation import (batch_size_of, check_scalar_loss, eval_loader, evaluate, model_device,
                         unpack_batch)
from .history import History
from .interrupt import GracefulInterrupt
from .data_parallel import evaluate_sharded
from .metrics import resolve_metrics

__all__ = ["Trainer", "fit"]

SKIPPABLE = ("optimizer", "scheduler")  # what Trainer.load_checkpoint(skip=...) can leave out
_STEP_SALT = 0xD20F  # keeps the steps' random streams apart from the loader's per-sample ones
_MASK63 = 2**63 - 1


def _check_epochs(epochs: Any) -> int:
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"fit: epochs must be a non-negative integer, got {epochs!r}")
    return epochs


class Trainer:
    """A model, a loss, an optimizer and (optionally) a scheduler, callbacks and metrics.

    ``trainer.fit(train_loader, epochs=n, val_loader=..., test_loader=...)`` trains until
    ``n`` epochs have been completed in total (a resumed run counts the epochs in its
    checkpoint) and returns the :class:`History`. ``scheduler`` is stepped once per epoch
    (a ``ReduceLROnPlateau`` with ``val_loss``); for per-batch schedules pass
    ``LRSchedulerCallback(scheduler, interval='step')`` in ``callbacks`` instead.
    ``eval_train=False`` skips the full pass over the training set (faster; then only the
    running loss describes training).

    Under ``mpiexec -n N`` (N > 1) the model is wrapped in DistributedDataParallel
    (``ddp_kwargs`` are passed to it, e.g. ``{'find_unused_parameters': True}`` for a model
    with parameters the loss does not use) and its BatchNorm layers act as SyncBatchNorm
    during the fit (restored after), so the run does not depend on N.
    """

    def __init__(self, model: Any, loss_fn: Callable, optimizer: Any, *, scheduler: Any = None,
                 callbacks: Iterable = (), metrics: Sequence | str | None = ("accuracy",),
                 eval_train: bool = True, eval_batch_size: int | None = None,
                 handle_sigint: bool = True, ddp_kwargs: dict | None = None):
        if not callable(model) or not hasattr(model, "parameters"):
            raise TypeError(f"Trainer: model must be a Module, got {type(model).__name__}")
        if not callable(loss_fn):
            raise TypeError(f"Trainer: loss_fn must be callable, got {type(loss_fn).__name__}")
        if not callable(getattr(optimizer, "step", None)):
            raise TypeError(f"Trainer: optimizer must have a step() method, got "
                            f"{type(optimizer).__name__}")
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.scheduler = scheduler
        cbs = list(callbacks)
        if scheduler is not None:
            cbs.append(LRSchedulerCallback(scheduler, "epoch", save_state=False))
        self.callbacks = CallbackList(cbs)
        self.metrics = resolve_metrics(metrics)
        self.eval_train, self.eval_batch_size = eval_train, eval_batch_size
        self.handle_sigint = handle_sigint
        self.ddp_kwargs = dict(ddp_kwargs or {})
        self.history = History()
        self.epoch = 0            # epochs completed
        self.epochs = 0           # the target of the current fit
        self.global_step = 0      # optimizer steps taken
        self.stop_training = False
        self.interrupted = False
        self.restored_epoch: int | None = None
        self.running_loss = float("nan")
        self.resumed_batches = 0  # batches of the current epoch done before a resume
        self.train_loader = self.val_loader = self.test_loader = None
        self._partial: dict | None = None  # a mid-epoch checkpoint's running sums
        self._abort_epoch = False
        self._sigint: GracefulInterrupt | None = None
        self.rank, self.world_size = 0, 1  # under mpiexec -n N: this rank and N (set by fit)
        self._dp = None                   # the data-parallel helper when N > 1
        self._calls = self.callbacks      # the callbacks this rank runs (rank 0: all)
        self._step_seed: int | None = None  # keys the steps' random draws (dropout masks)

    # -- control -------------------------------------------------------------------------------
    def stop(self, reason: str = "stopped", immediately: bool = False) -> None:
        """Stop after this epoch (or, with ``immediately``, after this batch, dropping the
        unfinished epoch); ``history.stop_reason`` records ``reason``."""
        self.stop_training = True
        self.history.stop_reason = reason
        self._abort_epoch = self._abort_epoch or immediately

    @property
    def _interrupt_requested(self) -> bool:
        return self._sigint is not None and self._sigint.requested

    # -- checkpoints ---------------------------------------------------------------------------
    def _loaders(self) -> dict:
        return {name: ld for name, ld in (("train", self.train_loader),
                                          ("val", self.val_loader),
                                          ("test", self.test_loader)) if ld is not None}

    def save_checkpoint(self, path: str | os.PathLike, config: dict | None = None):
        """Write everything needed to continue this run exactly (see
        :func:`~chainrule.train.save_checkpoint`), including the callbacks' state and, when
        called mid-epoch, the epoch's running sums."""
        extra = {"callbacks": self.callbacks.state_dict(), "partial_epoch": self._partial,
                 "stop_training": self.stop_training, "step_seed": self._step_seed}
        if self.rank != 0:  # data-parallel: every rank holds the same state; rank 0 writes it
            from pathlib import Path
            return Path(path)
        return save_checkpoint(path, self.model, self.optimizer, self.scheduler,
                               epoch=self.epoch, history=self.history, loaders=self._loaders(),
                               config=config, global_step=self.global_step, extra=extra)

    def load_checkpoint(self, path: str | os.PathLike, *, skip: Collection[str] = ()):
        """Restore a checkpoint written by :meth:`save_checkpoint` into this trainer (model,
        optimizer, scheduler, loader positions, RNG, history, callbacks); returns it.

        ``skip`` names parts that keep their fresh state instead: ``'optimizer'`` (its
        moments, buffers and param groups — e.g. the run continues with another optimizer)
        and ``'scheduler'`` (the ``scheduler`` and every :class:`LRSchedulerCallback`'s
        schedule — e.g. a new schedule starts at its beginning)."""
        skip = (skip,) if isinstance(skip, str) else tuple(skip)
        unknown = sorted(set(skip) - set(SKIPPABLE))
        if unknown:
            raise ValueError(f"load_checkpoint: skip={sorted(skip)} has {unknown}; the parts "
                             f"that can be skipped are {list(SKIPPABLE)}")
        ckpt = load_checkpoint(path, self.model,
                               None if "optimizer" in skip else self.optimizer,
                               None if "scheduler" in skip else self.scheduler,
                               loaders=self._loaders())
        self.epoch, self.global_step = ckpt.epoch, ckpt.global_step
        self.history = ckpt.history
        states = dict(ckpt.extra.get("callbacks") or {})
        if "scheduler" in skip:
            for key, cb in zip(self.callbacks.keys(), self.callbacks):
                if isinstance(cb, LRSchedulerCallback):
                    states.pop(key, None)
        self.callbacks.load_state_dict(states)
        partial = ckpt.extra.get("partial_epoch")
        has_loader_state = "train" in ckpt.loaders
        self._partial = partial if partial and has_loader_state else None
        self.stop_training = bool(ckpt.extra.get("stop_training", False))
        seed = ckpt.extra.get("step_seed")
        self._step_seed = int(seed) if seed is not None else None
        return ckpt

    def _choose_step_seed(self, train_loader) -> int:
        """The seed of the steps' random draws: from the training DataLoader's per-sample
        seed, else a hash of chainrule's default generator's state — read, not advanced, so
        fit on a plain iterable leaves the global random stream as it found it."""
        from .. import backend
        from ..data import DataLoader
        if isinstance(train_loader, DataLoader):
            return (train_loader.base_seed ^ _STEP_SALT) & _MASK63
        import hashlib
        import json
        state = backend.default_generator().bit_generator.state
        digest = hashlib.blake2b(json.dumps(state, sort_keys=True, default=str).encode(),
                                 digest_size=8).digest()
        return (int.from_bytes(digest, "little") ^ _STEP_SALT) & _MASK63

    def _start_world(self) -> None:
        """Under ``mpiexec -n N`` (N > 1): wrap the model in DDP, shard the loaders and run
        the output-only callbacks (``rank_zero_only``) on rank 0 alone."""
        from .data_parallel import detect_world
        self.rank, self.world_size = detect_world()
        self._calls = self.callbacks
        if self.world_size == 1:
            return
        from .data_parallel import DataParallel
        self._dp = DataParallel(self.model, self.rank, self.world_size, self.ddp_kwargs)
        self._dp.shard([self.train_loader, self._train_eval, self.val_loader,
                        self.test_loader])
        if self.rank != 0:
            self._calls = CallbackList([cb for cb in self.callbacks
                                        if not getattr(cb, "rank_zero_only", False)])

    def _stop_world(self) -> None:
        if self._dp is not None:
            self._dp.unshard()
            self._dp = None

    # -- the loop ------------------------------------------------------------------------------
    def fit(self, train_loader: Iterable, *, epochs: int, val_loader: Iterable | None = None,
            test_loader: Iterable | None = None,
            resume: str | os.PathLike | None = None, skip: Collection[str] = ()) -> History:
        """Train until ``epochs`` epochs are complete; ``resume`` continues from a checkpoint
        (same loaders, model, optimizer and scheduler as the run that wrote it), less the
        parts named in ``skip`` (see :meth:`load_checkpoint`)."""
        self.epochs = _check_epochs(epochs)
        self.train_loader, self.val_loader, self.test_loader = \
            train_loader, val_loader, test_loader
        self._train_eval = eval_loader(train_loader, self.eval_batch_size) \
            if self.eval_train else None
        self.interrupted = False
        self.restored_epoch = None
        self._step_seed = None
        if resume is not None:
            self.load_checkpoint(resume, skip=skip)
        else:
            self._partial = None
            self.stop_training = False
        if self._step_seed is None:
            self._step_seed = self._choose_step_seed(train_loader)
        self._start_world()
        if not self.stop_training:
            self.history.stop_reason = None
        self.history.restored_epoch = None
        with GracefulInterrupt(self.handle_sigint) as sigint:
            self._sigint = sigint
            try:
                self._calls.call("on_train_begin", self)
                while self.epoch < self.epochs and not self.stop_training:
                    self._run_epoch()
                    if self._agree_interrupt():
                        break
                if self._agree_interrupt():
                    self.interrupted = True
                    self.history.stop_reason = "interrupted"
                    self._calls.call("on_interrupt", self)
                self._calls.call("on_train_end", self)
            except BaseException as error:
                # hooks on the model, open files: every callback releases what it holds
                self._calls.call_each("on_exception", self, error, error=error)
                raise
            finally:
                self._sigint = None
                self._stop_world()
        return self.history

    def _agree_interrupt(self) -> bool:
        """Whether Ctrl-C was requested — on N > 1 ranks, on any rank (one small allreduce at
        each point where the ranks could otherwise part: after each epoch, at the end)."""
        sigint = self._sigint
        requested = sigint is not None and sigint.requested
        if self._dp is not None:
            from .data_parallel import reduce_sums
            requested = bool(reduce_sums([float(requested)])[0])
            if requested and sigint is not None:
                sigint.requested = True
        return requested

    def _current_lr(self) -> float | None:
        groups = getattr(self.optimizer, "param_groups", None)
        return float(groups[0]["lr"]) if groups else None

    def _train_batches(self) -> dict:
        """One pass of updates over the training loader; returns the epoch's running sums
        (with ``lr``, the learning rate in force when the epoch began — kept in a mid-epoch
        checkpoint, so a resumed epoch logs it rather than the rate at the resume point)."""
        sums = self._partial or {"batches": 0, "loss_sum": 0.0, "samples": 0, "seconds": 0.0,
                                 "lr": self._current_lr()}
        self._partial = None
        self.running_loss = sums["loss_sum"] / sums["samples"] if sums["samples"] else \
            float("nan")
        if self._dp is not None:
            return self._train_batches_parallel(sums)
        model, opt, cbs = self.model, self.optimizer, self._calls
        seed, activate, GlobalBatch = self._step_seed, batch_rng.activate, batch_rng.GlobalBatch
        try:
            total = len(self.train_loader)
        except TypeError:
            total = None
        model.train()
        device = model_device(model)                # None on the CPU: batches stay put
        start = time.perf_counter()
        for batch in prefetch_to(self.train_loader, device):    # GPU: next batch copied early
            index = sums["batches"]
            cbs.call("on_batch_begin", self, index)
            inputs, target = unpack_batch(batch, "fit", device)
            n = batch_size_of(target)
            opt.zero_grad()
            activate(GlobalBatch(seed, self.global_step, n))  # dropout masks by (step, row)
            try:
                loss = check_scalar_loss(self.loss_fn(model(*inputs), target), "fit")
                loss.backward()
            finally:
                activate(None)
            cbs.call("after_backward", self)
            opt.step()
            self.global_step += 1
            value = float(loss.item())
            sums["batches"] += 1
            sums["loss_sum"] += value * n
            sums["samples"] += n
            self.running_loss = sums["loss_sum"] / sums["samples"]
            cbs.call("on_batch_end", self, index, {"loss": value, "size": n})
            last = total is not None and sums["batches"] >= total
            if self._abort_epoch or (self._interrupt_requested and not last):
                sums["seconds"] += time.perf_counter() - start
                self._partial = sums if not self._abort_epoch else None
                return sums
        sums["seconds"] += time.perf_counter() - start
        return sums

    def _train_batches_parallel(self, sums: dict) -> dict:
        """:meth:`_train_batches` on N > 1 ranks: this rank's share of each global batch of
        G samples, its loss back-propagated with weight n_r and the gradients summed over the
        ranks and divided by G; the batch loss logged is Σ_r n_r·L_r / G on every rank.
        Losses with ``sum_and_denominator`` (class weights, ignore_index) back-propagate
        their sums instead, divided by the normaliser summed over the ranks. A loader that
        is already per rank (a DistributedSampler) keeps its batches; G is their sum."""
        from ..distributed.faults import post_step
        from ..tensor import Tensor
        from .data_parallel import reduce_sums
        model, opt, cbs, ddp = self.model, self.optimizer, self._calls, self._dp.ddp
        seed, activate, GlobalBatch = self._step_seed, batch_rng.activate, batch_rng.GlobalBatch
        rank, size = self.rank, self.world_size
        per_rank = id(self.train_loader) in self._dp.per_rank
        sizes = None if per_rank else self.train_loader.shard_sizes
        from .data_parallel import loss_parts
        own_parts = getattr(self.loss_fn, "sum_and_denominator", None) is not None
        try:
            total = len(self.train_loader)
        except TypeError:
            total = None
        model.train()
        device = model_device(model)
        start = time.perf_counter()
        for batch in self.train_loader:
            index = sums["batches"]
            cbs.call("on_batch_begin", self, index)
            inputs, target = unpack_batch(batch, "fit", device)
            local_n = batch_size_of(target)
            if per_rank:
                mine = local_n
                global_n = int(round(reduce_sums([float(mine)])[0]))
            else:
                global_n, mine = sizes.popleft()
            opt.zero_grad()
            step_batch = GlobalBatch(seed, self.global_step, global_n, rank, size, local_n)
            step_batch.borrowed = mine == 0     # SyncBatchNorm leaves a stand-in row out
            activate(step_batch)
            try:
                part, denom = loss_parts(self.loss_fn, ddp(*inputs), target, mine)
                if own_parts:           # the loss's own normaliser, summed over the ranks
                    denom = float(reduce_sums([denom])[0])
                else:
                    denom = float(global_n)
                ddp.set_gradient_divisor(denom)
                part.backward(Tensor(np.ones(part.shape, dtype=part.dtype)))
            finally:
                activate(None)
            cbs.call("after_backward", self)
            opt.step()
            post_step(self.global_step)
            self.global_step += 1
            # one small allreduce: the batch loss, and whether any rank got Ctrl-C (so all stop)
            loss_sum, stops = reduce_sums([float(part.item()),
                                           float(self._interrupt_requested)]).tolist()
            if stops and self._sigint is not None:
                self._sigint.requested = True
            value = loss_sum / denom if denom else float("nan")
            agreed_stop = bool(stops)   # a Ctrl-C after this allreduce counts at the next one
            sums["batches"] += 1
            sums["loss_sum"] += value * global_n
            sums["samples"] += global_n
            self.running_loss = sums["loss_sum"] / sums["samples"]
            cbs.call("on_batch_end", self, index, {"loss": value, "size": global_n})
            last = total is not None and sums["batches"] >= total
            if self._abort_epoch or (agreed_stop and not last):
                sums["seconds"] += time.perf_counter() - start
                self._partial = sums if not self._abort_epoch else None
                return sums
        sums["seconds"] += time.perf_counter() - start
        return sums

    def _run_epoch(self) -> None:
        number = self.epoch + 1
        self._abort_epoch = False
        self.resumed_batches = (self._partial or {}).get("batches", 0)
        self._calls.call("on_epoch_begin", self, number)
        start = time.perf_counter() - (self._partial or {}).get("seconds", 0.0)
        sums = self._train_batches()
        if self._partial is not None or self._abort_epoch:
            return  # interrupted mid-epoch: the epoch is not complete and is not recorded
        if sums["batches"] == 0:
            raise ValueError("fit: the training loader gave no batches")
        row: dict[str, Any] = {"epoch": number}
        lr = sums.get("lr", self._current_lr())  # a checkpoint from before "lr" was kept
        if lr is not None:
            row["lr"] = float(lr)
        row["train_running_loss"] = sums["loss_sum"] / sums["samples"]
        for name, loader in (("train", self._train_eval), ("val", self.val_loader),
                             ("test", self.test_loader)):
            if loader is None:
                continue
            result = evaluate(self.model, loader, self.loss_fn, self.metrics) \
                if self._dp is None else \
                evaluate_sharded(self.model, loader, self.loss_fn, self.metrics)
            result.pop("samples")
            row.update({f"{name}_{k}": v for k, v in result.items()})
        self.model.train()
        row["train_seconds"] = sums["seconds"]
        row["epoch_seconds"] = time.perf_counter() - start
        row["samples_per_second"] = sums["samples"] / sums["seconds"] if sums["seconds"] \
            else float("nan")
        self.epoch = number
        self.history.append(row)
        self._calls.call("on_epoch_end", self, number, self.history[-1])


def fit(model: Any, loss_fn: Callable, optimizer: Any, train_loader: Iterable, *, epochs: int,
        val_loader: Iterable | None = None, test_loader: Iterable | None = None,
        scheduler: Any = None, callbacks: Iterable = (),
        metrics: Sequence | str | None = ("accuracy",), resume: str | os.PathLike | None = None,
        eval_train: bool = True, handle_sigint: bool = True,
        ddp_kwargs: dict | None = None) -> History:
    """Train ``model`` and return its :class:`History` (one dict per epoch).

    Each epoch: a pass of minibatch updates over ``train_loader``, then — in eval mode, without
    gradients — the loss and metrics (by default accuracy and error rate) over the training,
    validation and test sets, wall time and samples/s. Ctrl-C finishes the current batch, lets
    callbacks save (``ModelCheckpoint`` writes its last file) and returns the history so far.
    ``resume`` continues from a checkpoint until ``epochs`` epochs are complete in total.
    Under ``mpiexec -n N``: ``ddp_kwargs`` go to DistributedDataParallel (e.g.
    ``{'find_unused_parameters': True}``) — see :class:`Trainer`.
    """
    trainer = Trainer(model, loss_fn, optimizer, scheduler=scheduler, callbacks=callbacks,
                      metrics=metrics, eval_train=eval_train, handle_sigint=handle_sigint,
                      ddp_kwargs=ddp_kwargs)
    return trainer.fit(train_loader, epochs=epochs, val_loader=val_loader,
                       test_loader=test_loader, resume=resume)
