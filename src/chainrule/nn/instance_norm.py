"""InstanceNorm1d/2d: per-sample, per-channel normalisation (``functional.instance_norm``).

As PyTorch: ``affine=False`` and ``track_running_stats=False`` by default; with running
statistics the buffers are ``running_mean``, ``running_var``, ``num_batches_tracked`` and
evaluation normalises with them. Unbatched inputs (C, L) / (C, H, W) are accepted.
"""
from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .normalization import _BatchNorm

__all__ = ["InstanceNorm1d", "InstanceNorm2d"]


class _InstanceNorm(_BatchNorm):
    _spatial = 1

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = False, track_running_stats: bool = False, device=None,
                 dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        name, nd = type(self).__name__, self._spatial
        if input.ndim not in (nd + 1, nd + 2):
            raise ValueError(f"{name}: expected {nd + 1}D (unbatched) or {nd + 2}D input, got "
                             f"input of shape {tuple(input.shape)}")
        unbatched = input.ndim == nd + 1
        x = input.unsqueeze(0) if unbatched else input
        if x.shape[1] != self.num_features and self.affine:
            raise ValueError(f"{name}: expected input's size at dim={int(not unbatched)} to "
                             f"match num_features ({self.num_features}), but got input of shape "
                             f"{tuple(input.shape)}")
        # as PyTorch: num_batches_tracked is kept for the state dict but never counted, and
        # momentum=None leaves the running statistics where they are
        momentum = 0.0 if self.momentum is None else self.momentum
        use_input = self.training or not self.track_running_stats
        y = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            use_input, momentum, self.eps)
        return y.squeeze(0) if unbatched else y


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) or (C, L) inputs."""

    _spatial = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) or (C, H, W) inputs."""

    _spatial = 2
