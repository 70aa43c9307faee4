"""SyncBatchNorm: batch normalisation whose statistics are those of the batch over all ranks.

Forward: per channel, the ranks sum their values and counts (μ = Σx / N over the global N, uneven
per-rank batches allowed), then their squared deviations (σ² = Σ(x − μ)² / N). Backward: with
x̂ = (x − μ)·r and r = 1/√(σ² + ε), ∂L/∂x = r·(g − Σg/N − x̂·Σ(g·x̂)/N), both sums over the global
batch, so they too are reduced across ranks. The running statistics move towards μ and the global
unbiased σ²·N/(N − 1). In one process (or outside the MPI world) it is BatchNorm.
"""
from __future__ import annotations

import numpy as np

from ..nn.functional.normalization import (Normalize, _affine, _check_param,
                                           update_running_stats)
from ..nn.module import Module
from ..nn.normalization import _BatchNorm
from ..tensor import Tensor
from . import world
from .work import wait_request

__all__ = ["SyncBatchNorm"]


def _allreduce_sum(comm, a: np.ndarray) -> np.ndarray:
    """Σ over the ranks of ``a`` (non-blocking, waited against the deadline)."""
    from mpi4py import MPI
    a = np.ascontiguousarray(a)
    wait_request(comm.Iallreduce(MPI.IN_PLACE, a, op=MPI.SUM), "SyncBatchNorm allreduce")
    return a


class SyncNormalize(Normalize):
    """x̂ = (x − μ)·r with the global batch's μ and σ² (given); ∂L/∂x = r·(g − Σg/N − x̂·Σ(g·x̂)/N)
    with the two sums reduced over every rank."""

    name = "sync_batch_norm"

    def forward(self, xp, x, axes=(), eps=1e-5, stats=None, comm=None, count=1,
                borrowed=False):
        self.comm, self.count, self.borrowed = comm, count, borrowed
        return super().forward(xp, x, axes=axes, eps=eps, stats=stats)

    def backward(self, xp, g):
        x, xhat, r = self.saved
        if isinstance(x, Tensor):
            raise RuntimeError("SyncBatchNorm: double backward (create_graph=True) across ranks "
                               "is not supported")
        axes, c = self.axes, xhat.shape[1]
        if self.borrowed:   # fit's stand-in row is no sample: it adds nothing, gets nothing
            _allreduce_sum(self.comm, np.zeros(2 * c, dtype=g.dtype))
            return (xp.zeros_like(g),)
        sums = np.concatenate([xp.sum(g, axis=axes), xp.sum(g * xhat, axis=axes)])
        sums = _allreduce_sum(self.comm, sums) / self.count
        shape = (1, c) + (1,) * (g.ndim - 2)
        mean_g, mean_gx = sums[:c].reshape(shape), sums[c:].reshape(shape)
        return (r * (g - mean_g - xhat * mean_gx),)


def sync_batch_norm(input: Tensor, running_mean, running_var, weight, bias, momentum: float,
                    eps: float, comm) -> Tensor:
    """Training-mode batch norm over the batch of every rank in ``comm`` (see the module doc)."""
    name = "SyncBatchNorm"
    c = input.shape[1]
    for what, p in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        _check_param(name, what, p, c)
    x = input._data
    if not isinstance(x, np.ndarray):
        raise NotImplementedError(f"{name}: inputs on {input.device} are not supported across "
                                  "ranks yet (the MPI buffers are host arrays)")
    axes = (0,) + tuple(range(2, input.ndim))
    shape = (1, c) + (1,) * (input.ndim - 2)
    from ..data import batch_rng
    step = batch_rng.current()
    borrowed = step is not None and step.borrowed
    if borrowed:   # fit's stand-in row: this rank holds no sample
        x = np.zeros((0,) + x.shape[1:], x.dtype)
    first = _allreduce_sum(comm, np.concatenate([x.sum(axis=axes), [x.size // c]]).astype(x.dtype))
    n = int(round(float(first[c])))
    if n <= 1:
        raise ValueError(f"{name}: expected more than 1 value per channel over all ranks when "
                         f"training, got {n} (this rank's input has shape {tuple(input.shape)})")
    mu = (first[:c] / n).astype(x.dtype, copy=False).reshape(shape)
    dev = x - mu
    var = (_allreduce_sum(comm, (dev * dev).sum(axis=axes)) / n).astype(x.dtype, copy=False)
    x = input._data
    var = var.reshape(shape)
    update_running_stats(running_mean, running_var, mu, var, n, momentum)
    y = SyncNormalize.apply(input, axes=axes, eps=eps, stats=(mu, var), comm=comm, count=n,
                              borrowed=borrowed)
    return _affine(y, weight, bias, shape)


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation of (N, C, ...) inputs with statistics reduced over all MPI ranks
    (PyTorch's ``nn.SyncBatchNorm``); equal to BatchNorm on the concatenated global batch."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, process_group=None,
                 device=None, dtype=None):
        if process_group is not None:
            raise ValueError("SyncBatchNorm: process_group is not supported; statistics are "
                             "reduced over the whole MPI world")
        super().__init__(num_features, eps, momentum, affine, track_running_stats,
                         device=device, dtype=dtype)

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim < 2:
            raise ValueError(f"SyncBatchNorm: expected at least 2D input (N, C, ...), got "
                             f"{input.ndim}D input of shape {tuple(input.shape)}")
        if input.shape[1] != self.num_features:
            raise ValueError(f"SyncBatchNorm: expected {self.num_features} channels in dim 1, "
                             f"got input of shape {tuple(input.shape)}")

    def forward(self, input: Tensor) -> Tensor:
        synced = (self.training and world.is_initialized() and world.get_world_size() > 1)
        if not synced:
            return super().forward(input)
        self._check_input_dim(input)
        factor = 0.1 if self.momentum is None else self.momentum
        if self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked._data += 1
            self.num_batches_tracked._bump_version()
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked._data)
        keep = self.track_running_stats
        return sync_batch_norm(input, self.running_mean if keep else None,
                               self.running_var if keep else None, self.weight, self.bias,
                               factor, self.eps, world.comm())

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """Return ``module`` with every BatchNorm*d replaced by a SyncBatchNorm that shares its
        parameters and buffers (the module itself if it is one; otherwise changed in place)."""
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, process_group)
            for name in ("weight", "bias"):
                out._parameters[name] = module._parameters.get(name)
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                out._buffers[name] = module._buffers.get(name)
            out.training = module.training
        for name, child in list(module._modules.items()):
            if child is not None:
                converted = cls.convert_sync_batchnorm(child, process_group)
                if converted is not child:
                    module._modules[name] = converted
        return out

