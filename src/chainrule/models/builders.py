"""The built-in models: ``logreg``, ``mlp``, ``resmlp`` and ``cnn``.

Each builder takes the shape of one input item (without the batch axis) and the number of
classes, and returns a ``chainrule.nn.Sequential`` whose output is one logit per class (the
softmax lives in the loss, ``nn.CrossEntropyLoss``). Inputs of any shape are flattened for the
fully connected models; the CNN adds the channel axis to (H, W) images and (L,) signals.

Each builder ``name`` writes its layers once, as the plan ``name_plan`` returns (see
:mod:`._plan`), and builds that; :mod:`.size` counts the same plan without allocating.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from .. import nn
from ._parts import (activation_type, check_classes, check_dropout, check_hidden, check_shape,
                     flat_size, initialise)
from ._plan import Dim, Layer, build, conv, free, linear, norm, residual

__all__ = ["logreg", "mlp", "resmlp", "cnn", "PLANS", "logreg_plan", "mlp_plan", "resmlp_plan",
           "cnn_plan"]


def _act(name: str, who: str) -> Layer:
    return free(activation_type(name, who))


def _dense_stack(plan: list[Layer], sizes: Sequence[int], start: Dim, act: str, dropout: float,
                 batch_norm: bool, who: str) -> Dim:
    """Append Linear → [BatchNorm1d] → activation → [Dropout] for each width; returns the last."""
    prev = start
    for width in sizes:
        plan.append(linear(prev, Dim(width, "hidden")))
        if batch_norm:
            plan.append(norm(1, Dim(width, "hidden")))
        plan.append(_act(act, who))
        if dropout:
            plan.append(free(nn.Dropout, dropout))
        prev = Dim(width, "hidden")
    return prev


def _classes(num_classes: Any, who: str) -> Dim:
    return Dim(check_classes(num_classes, who), "num_classes")


def _flat(shape: Sequence[int]) -> Dim:
    return Dim(flat_size(shape), "input_shape")


def logreg_plan(input_shape: Sequence[int], num_classes: int) -> list[Layer]:
    """The layers of :func:`logreg`."""
    shape = check_shape(input_shape, "logreg")
    return [free(nn.Flatten), linear(_flat(shape), _classes(num_classes, "logreg"))]


def logreg(input_shape: Sequence[int], num_classes: int, *, init: str = "default"
           ) -> nn.Sequential:
    """Multinomial logistic regression: logits = W·vec(x) + b, trained with softmax
    cross-entropy (the MLP with no hidden layer)."""
    return initialise(build(logreg_plan(input_shape, num_classes)), init, "linear", "logreg")


def mlp_plan(input_shape: Sequence[int], num_classes: int, *, hidden: Sequence[int],
             activation: str, dropout: float, batch_norm: bool) -> list[Layer]:
    """The layers of :func:`mlp`."""
    who = "mlp"
    shape = check_shape(input_shape, who)
    plan: list[Layer] = [free(nn.Flatten)]
    last = _dense_stack(plan, check_hidden(hidden, who), _flat(shape), activation,
                        check_dropout(dropout, who), bool(batch_norm), who)
    plan.append(linear(last, _classes(num_classes, who)))
    return plan


def mlp(input_shape: Sequence[int], num_classes: int, *, hidden: Sequence[int] = (256, 128),
        activation: str = "relu", dropout: float = 0.0, batch_norm: bool = False,
        init: str = "default") -> nn.Sequential:
    """Multilayer perceptron: vec(x) → [Linear → (BatchNorm) → activation → (Dropout)] per
    hidden width → Linear to the logits. ``hidden=()`` is logistic regression."""
    plan = mlp_plan(input_shape, num_classes, hidden=hidden, activation=activation,
                    dropout=dropout, batch_norm=batch_norm)
    return initialise(build(plan), init, activation, "mlp")


def resmlp_plan(input_shape: Sequence[int], num_classes: int, *, hidden: Sequence[int],
                activation: str, dropout: float, batch_norm: bool) -> list[Layer]:
    """The layers of :func:`resmlp`."""
    who = "resmlp"
    shape = check_shape(input_shape, who)
    widths = check_hidden(hidden, who)
    if not widths:
        raise ValueError("resmlp: hidden must name at least one block width")
    p = check_dropout(dropout, who)
    prev = Dim(widths[0], "hidden")
    plan = [free(nn.Flatten), linear(_flat(shape), prev), _act(activation, who)]
    for size in widths:
        width = Dim(size, "hidden")
        block = [linear(prev, width)]
        if batch_norm:
            block.append(norm(1, width))
        block.append(_act(activation, who))
        if p:
            block.append(free(nn.Dropout, p))
        block.append(linear(width, width))
        if batch_norm:
            block.append(norm(1, width))
        proj = None if prev.size == width.size else linear(prev, width, bias=False)
        plan += [residual(block, proj), _act(activation, who)]
        prev = width
    plan.append(linear(prev, _classes(num_classes, who)))
    return plan


def resmlp(input_shape: Sequence[int], num_classes: int, *, hidden: Sequence[int] = (128, 128),
           activation: str = "relu", dropout: float = 0.0, batch_norm: bool = False,
           init: str = "default") -> nn.Sequential:
    """Residual MLP: vec(x) → Linear to hidden[0] → activation, then one residual block per
    entry of ``hidden``, h ← act(P(h) + f(h)) with f = Linear → (BatchNorm) → act → (Dropout)
    → Linear → (BatchNorm) and P the identity (or a Linear projection where the width
    changes), then Linear to the logits. The skip path gives ∂y/∂h = P + ∂f/∂h, so gradients
    reach the first layers however deep the stack."""
    plan = resmlp_plan(input_shape, num_classes, hidden=hidden, activation=activation,
                       dropout=dropout, batch_norm=batch_norm)
    return initialise(build(plan), init, activation, "resmlp")


def _conv_out(size: int, k: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - k) // stride + 1


def cnn_plan(input_shape: Sequence[int], num_classes: int, *, channels: Sequence[int] | None,
             kernel_size: Sequence[int] | int | None, hidden: Sequence[int] | None,
             activation: str, dropout: float, batch_norm: bool, dims: int | None
             ) -> list[Layer]:
    """The layers of :func:`cnn`."""
    who = "cnn"
    shape = check_shape(input_shape, who)
    if dims is None:
        dims = 1 if len(shape) == 1 else 2
    if dims not in (1, 2):
        raise ValueError(f"cnn: dims must be 1 or 2, got {dims!r}")
    if len(shape) not in ((1, 2) if dims == 1 else (2, 3)):
        want = "(L,) or (C, L)" if dims == 1 else "(H, W) or (C, H, W)"
        raise ValueError(f"cnn: a {dims}-d CNN needs input_shape {want}, got {list(shape)}")
    plan: list[Layer] = []
    if len(shape) == dims:
        shape = (1,) + shape
        # (N, L) → (N, 1, L); (N, H, W) → (N, 1, H, W)
        plan.append(free(nn.Unflatten, 1, shape[:2]))
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
    spatial = list(shape[1:])
    prev = shape[0]
    for c, k in zip(channels, kernels):
        stride, pad, pool = (1, k // 2, 2) if dims == 2 else (2, 1, 1)
        plan.append(conv(dims, prev, c, k, stride, pad))
        if batch_norm:
            plan.append(norm(dims, Dim(c, "channels")))
        plan.append(_act(activation, who))
        if pool > 1:
            plan.append(free(nn.MaxPool2d, pool))
        spatial = [_conv_out(s, k, stride, pad) // pool for s in spatial]
        if min(spatial) < 1:
            raise ValueError(f"cnn: input_shape {list(input_shape)} is too small for "
                             f"{len(channels)} convolution stages (the feature map vanishes)")
        prev = c
    plan.append(free(nn.Flatten))
    cells = flat_size(spatial)
    start = Dim(prev * cells, "input_shape" if cells > prev else "channels")
    last = _dense_stack(plan, hidden, start, activation, p, False, who)
    plan.append(linear(last, _classes(num_classes, who)))
    return plan


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
    plan = cnn_plan(input_shape, num_classes, channels=channels, kernel_size=kernel_size,
                    hidden=hidden, activation=activation, dropout=dropout,
                    batch_norm=batch_norm, dims=dims)
    return initialise(build(plan), init, activation, "cnn")


# Each built-in model's plan by name: what :mod:`.size` counts without building.
PLANS: dict[str, Callable[..., list[Layer]]] = {"logreg": logreg_plan, "mlp": mlp_plan,
                                                "resmlp": resmlp_plan, "cnn": cnn_plan}
