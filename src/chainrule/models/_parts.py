"""Pieces the built-in models share: activations by name, initialisation schemes, input shapes."""
from __future__ import annotations

import math
from typing import Sequence

from .. import nn

__all__ = ["ACTIVATIONS", "INITS", "activation_type", "initialise", "check_shape",
           "check_hidden", "check_dropout", "flat_size"]

ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU, "gelu": nn.GELU,
               "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "softplus": nn.Softplus}

# The gain each activation asks of Kaiming/Xavier initialisers (nn.init.calculate_gain's names).
_GAIN_NAME = {"relu": "relu", "leaky_relu": "leaky_relu", "elu": "relu", "gelu": "relu",
              "tanh": "tanh", "sigmoid": "sigmoid", "softplus": "relu"}

INITS = ("default", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
         "orthogonal", "normal", "zeros")


def activation_type(name: str, who: str) -> type[nn.Module]:
    """The activation module class by name (``relu``, ``tanh``, ...)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"{who}: unknown activation {name!r}; choose from "
                         f"{', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def initialise(model: nn.Module, scheme: str, act: str, who: str) -> nn.Module:
    """Re-initialise every Linear/Conv weight of ``model`` with ``scheme`` (biases to 0).

    ``default`` keeps PyTorch's U(±1/√fan_in); ``xavier_*`` use std = g·√(2/(fan_in+fan_out)),
    ``kaiming_*`` std = g/√fan_in with g the activation's gain (√2 for ReLU); ``orthogonal``
    scales an orthogonal matrix by g; ``normal`` is N(0, 0.01²) and ``zeros`` all zeros — the
    notes' examples of initialisations that vanish or never break the symmetry.
    """
    if scheme not in INITS:
        raise ValueError(f"{who}: unknown init {scheme!r}; choose from {', '.join(INITS)}")
    if scheme == "default":
        return model
    gain_name = _GAIN_NAME.get(act, "linear")
    gain = nn.init.calculate_gain(gain_name)
    for m in model.modules():
        if not isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            continue
        w = m.weight
        if scheme == "xavier_uniform":
            nn.init.xavier_uniform_(w, gain=gain)
        elif scheme == "xavier_normal":
            nn.init.xavier_normal_(w, gain=gain)
        elif scheme == "kaiming_uniform":
            nn.init.kaiming_uniform_(w, nonlinearity=gain_name)
        elif scheme == "kaiming_normal":
            nn.init.kaiming_normal_(w, nonlinearity=gain_name)
        elif scheme == "orthogonal":
            nn.init.orthogonal_(w, gain=gain)
        elif scheme == "normal":
            nn.init.normal_(w, 0.0, 0.01)
        else:
            nn.init.zeros_(w)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    return model


def _positive_int(v, what: str, who: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"{who}: {what} must be positive integers, got {v!r}")
    return v


def check_shape(shape, who: str) -> tuple[int, ...]:
    """``input_shape`` as a tuple of positive ints (one item, without the batch axis)."""
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or not shape:
        raise ValueError(f"{who}: input_shape must be a non-empty list of positive integers, "
                         f"got {shape!r}")
    return tuple(_positive_int(v, "input_shape entries", who) for v in shape)


def check_hidden(hidden: Sequence[int] | int | None, who: str) -> tuple[int, ...]:
    if hidden is None:
        return ()
    if isinstance(hidden, int) and not isinstance(hidden, bool):
        hidden = (hidden,)
    if not isinstance(hidden, (tuple, list)):
        raise ValueError(f"{who}: hidden must be a list of layer widths, got {hidden!r}")
    return tuple(_positive_int(v, "hidden sizes", who) for v in hidden)


def check_classes(num_classes, who: str) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"{who}: num_classes must be a positive integer, got {num_classes!r}")
    return num_classes


def check_dropout(p, who: str) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
        raise ValueError(f"{who}: dropout must be a probability in [0, 1), got {p!r}")
    return float(p)


def flat_size(shape: Sequence[int]) -> int:
    return int(math.prod(shape))
