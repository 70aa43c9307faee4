"""The built-in models: ``logreg``, ``mlp``, ``resmlp`` and ``cnn``.

Each builder takes the shape of one input item (without the batch axis) and the number of
classes, and returns a ``chainrule.nn.Sequential`` whose output is one logit per class (the
softmax lives in the loss, ``nn.CrossEntropyLoss``). Inputs of any shape are flattened for the
fully connected models; the CNN adds the channel axis to (H, W) images and (L,) signals.
"""
from __future__ import annotations

from typing import Sequence

from .. import nn
from ._parts import activation as make_activation
from ._parts import (check_classes, check_dropout, check_hidden, check_shape, flat_size,
                     initialise)

__all__ = ["logreg", "mlp", "resmlp", "cnn"]


def _dense_stack(layers: list, sizes: Sequence[int], start: int, act: str, dropout: float,
                 batch_norm: bool, who: str) -> int:
    """Append Linear → [BatchNorm1d] → activation → [Dropout] for each width; returns the last."""
    prev = start
    for width in sizes:
        layers.append(nn.Linear(prev, width))
        if batch_norm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(make_activation(act, who))
        if dropout:
            layers.append(nn.Dropout(dropout))
        prev = width
    return prev


def logreg(input_shape: Sequence[int], num_classes: int, *, init: str = "default"
           ) -> nn.Sequential:
    """Multinomial logistic regression: logits = W·vec(x) + b, trained with softmax
    cross-entropy (the MLP with no hidden layer)."""
    shape = check_shape(input_shape, "logreg")
    model = nn.Sequential(nn.Flatten(), nn.Linear(flat_size(shape),
                                                  check_classes(num_classes, "logreg")))
    return initialise(model, init, "linear", "logreg")


def mlp(input_shape: Sequence[int], num_classes: int, *, hidden: Sequence[int] = (256, 128),
        activation: str = "relu", dropout: float = 0.0, batch_norm: bool = False,
        init: str = "default") -> nn.Sequential:
    """Multilayer perceptron: vec(x) → [Linear → (BatchNorm) → activation → (Dropout)] per
    hidden width → Linear to the logits. ``hidden=()`` is logistic regression."""
    who = "mlp"
    shape = check_shape(input_shape, who)
    layers: list = [nn.Flatten()]
    last = _dense_stack(layers, check_hidden(hidden, who), flat_size(shape), activation,
                        check_dropout(dropout, who), bool(batch_norm), who)
    layers.append(nn.Linear(last, check_classes(num_classes, who)))
    return initialise(nn.Sequential(*layers), init, activation, who)


def resmlp(input_shape: Sequence[int], num_classes: int, *, hidden: Sequence[int] = (128, 128),
           activation: str = "relu", dropout: float = 0.0, batch_norm: bool = False,
           init: str = "default") -> nn.Sequential:
    """Residual MLP: vec(x) → Linear to hidden[0] → activation, then one residual block per
    entry of ``hidden``, h ← act(P(h) + f(h)) with f = Linear → (BatchNorm) → act → (Dropout)
    → Linear → (BatchNorm) and P the identity (or a Linear projection where the width
    changes), then Linear to the logits. The skip path gives ∂y/∂h = P + ∂f/∂h, so gradients
    reach the first layers however deep the stack."""
    who = "resmlp"
    shape = check_shape(input_shape, who)
    widths = check_hidden(hidden, who)
    if not widths:
        raise ValueError("resmlp: hidden must name at least one block width")
    p = check_dropout(dropout, who)
    layers: list = [nn.Flatten(), nn.Linear(flat_size(shape), widths[0]), _act(activation, who)]
    prev = widths[0]
    for width in widths:
        block: list = [nn.Linear(prev, width)]
        if batch_norm:
            block.append(nn.BatchNorm1d(width))
        block.append(_act(activation, who))
        if p:
            block.append(nn.Dropout(p))
        block.append(nn.Linear(width, width))
        if batch_norm:
            block.append(nn.BatchNorm1d(width))
        proj = None if prev == width else nn.Linear(prev, width, bias=False)
        layers += [nn.Residual(nn.Sequential(*block), proj), _act(activation, who)]
        prev = width
    layers.append(nn.Linear(prev, check_classes(num_classes, who)))
    return initialise(nn.Sequential(*layers), init, activation, who)


def _act(name: str, who: str) -> nn.Module:
    return make_activation(name, who)


def _conv_out(size: int, k: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - k) // stride + 1


def cnn(input_shape: Sequence[int], num_classes: int, *, channels: Sequence[int] | None = None,
        kernel_size: Sequence[int] | int | None = None, hidden: Sequence[int] | None = None,
        activation: str = "relu", dropout: float = 0.0, batch_norm: bool = False,
        init: str = "default", dims: int | None = None) -> nn.Sequential:
    """A small convolutional network, 2-D for images and 1-D for signals.

    ``dims`` is inferred from ``input_shape``: (H, W) or (C, H, W) → 2, (L,) → 1 (pass
    ``dims=1`` for a (C, L) signal).

    * 2-D, LeNet-style with same padding (so 8 × 8 digits and 28 × 28 MNIST both fit): per
      entry of ``channels`` (default 16, 32) Conv2d(k × k, padding k//2) → (BatchNorm2d) →
      activation → MaxPool2d(2); then Flatten → [Linear → activation → (Dropout)] per entry
      of ``hidden`` (default 128) → Linear to the logits.
    * 1-D, the MNIST-1D paper's CNN by default: Conv1d(1, 25, 5, stride 2, padding 1),
      Conv1d(25, 25, 3, 2, 1), Conv1d(25, 25, 3, 2, 1), activation after each, Flatten,
      Linear(125, 10) for 40-sample signals (``hidden`` default none).
    """
    who = "cnn"
    shape = check_shape(input_shape, who)
    if dims is None:
        dims = 1 if len(shape) == 1 else 2
    if dims not in (1, 2):
        raise ValueError(f"cnn: dims must be 1 or 2, got {dims!r}")
    if len(shape) not in ((1, 2) if dims == 1 else (2, 3)):
        want = "(L,) or (C, L)" if dims == 1 else "(H, W) or (C, H, W)"
        raise ValueError(f"cnn: a {dims}-d CNN needs input_shape {want}, got {list(shape)}")
    if len(shape) == dims:
        shape = (1,) + shape
    if channels is None:
        channels = (25, 25, 25) if dims == 1 else (16, 32)
    channels = check_hidden(channels, who)
    if not channels:
        raise ValueError("cnn: channels must name at least one convolution")
    if kernel_size is None:
        kernel_size = (5,) + (3,) * (len(channels) - 1) if dims == 1 else 5
    kernels = check_hidden(kernel_size, who)
    if len(kernels) == 1:
        kernels = kernels * len(channels)
    if len(kernels) != len(channels):
        raise ValueError(f"cnn: kernel_size has {len(kernels)} entries but channels has "
                         f"{len(channels)}")
    hidden = check_hidden(((128,) if dims == 2 else ()) if hidden is None else hidden, who)
    p = check_dropout(dropout, who)
    layers: list = []
    if len(check_shape(input_shape, who)) == dims:
        layers.append(nn.Unflatten(1, shape[:2]))  # (N, L) → (N, 1, L); (N, H, W) → (N, 1, H, W)
    spatial = list(shape[1:])
    prev = shape[0]
    for c, k in zip(channels, kernels):
        if dims == 2:
            layers.append(nn.Conv2d(prev, c, k, padding=k // 2))
            if batch_norm:
                layers.append(nn.BatchNorm2d(c))
            layers += [_act(activation, who), nn.MaxPool2d(2)]
            spatial = [_conv_out(s, k, 1, k // 2) // 2 for s in spatial]
        else:
            layers.append(nn.Conv1d(prev, c, k, stride=2, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm1d(c))
            layers.append(_act(activation, who))
            spatial = [_conv_out(s, k, 2, 1) for s in spatial]
        if min(spatial) < 1:
            raise ValueError(f"cnn: input_shape {list(input_shape)} is too small for "
                             f"{len(channels)} convolution stages (the feature map vanishes)")
        prev = c
    layers.append(nn.Flatten())
    last = _dense_stack(layers, hidden, prev * flat_size(spatial), activation, p, False, who)
    layers.append(nn.Linear(last, check_classes(num_classes, who)))
    return initialise(nn.Sequential(*layers), init, activation, who)
