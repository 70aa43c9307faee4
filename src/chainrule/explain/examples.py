"""The lecture notes' worked examples as traces (``chainrule explain --example NAME``).

* ``circuit``: f(x, y) = x²y + y + 2 at (3, 4): f = 42, ∂f/∂x = 2xy = 24, ∂f/∂y = x² + 1 = 10.
* ``neuron``: f = x1 − σ(w3·x3 + w4·x4), with net2 = w3·x3 + w4·x4 and x2 = σ(net2):
  δ_w3 = −σ′(net2)·x3.
* ``multipath``: f = (x3 + x5) − σ(w3·x3 + w4·x4): x3 reaches f on two paths, so
  δ_x3 = 1 − σ′(net2)·w3, the sum of one term per path.
* ``xor-net``: a 2-2-1 sigmoid network on the four XOR points with the cross-entropy loss,
  z1 = x·W1 + b1, a1 = σ(z1), z2 = a1·W2 + b2, ŷ = σ(z2), L = mean BCE(ŷ, y).

The numbers the notes leave open (the neuron's inputs and weights, the XOR net's weights) are
fixed here so every run prints the same trace.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = ["Example", "EXAMPLES", "build", "circuit", "neuron", "multipath", "xor_net"]


@dataclass
class Example:
    """A worked example: its title, its function in words, its trace and the leaves whose
    δ's answer it."""

    name: str
    title: str
    trace: object
    answers: list[str] = field(default_factory=list)   #: leaves to report ∂f/∂leaf for


def _scalars(**values: float) -> dict:
    import chainrule as cr
    return {k: cr.tensor(v, requires_grad=True) for k, v in values.items()}


def circuit() -> Example:
    """f(x, y) = x²y + y + 2 at x = 3, y = 4 (the notes' computation graph)."""
    import chainrule as cr
    v = _scalars(x=3.0, y=4.0)
    x, y = v["x"], v["y"]
    with cr.autograd.record():
        f = x ** 2 * y + y + 2
        t = cr.explain.trace(f, names=v)
    return Example("circuit", "f(x, y) = x²y + y + 2 at x = 3, y = 4", t, ["x", "y"])


def neuron() -> Example:
    """f = x1 − σ(w3·x3 + w4·x4): one sigmoid neuron feeding a difference."""
    import chainrule as cr
    v = _scalars(x1=1.0, x3=2.0, x4=-1.0, w3=0.5, w4=0.25)
    with cr.autograd.record():
        w3x3 = v["w3"] * v["x3"]
        w4x4 = v["w4"] * v["x4"]
        net2 = w3x3 + w4x4
        x2 = net2.sigmoid()
        f = v["x1"] - x2
        t = cr.explain.trace(f, names={**v, "w3x3": w3x3, "w4x4": w4x4, "net2": net2,
                                       "x2": x2})
    title = ("f = x1 − σ(w3·x3 + w4·x4) at x1 = 1, x3 = 2, x4 = -1, w3 = 0.5, w4 = 0.25; "
             "δ_w3 = −σ′(net2)·x3")
    return Example("neuron", title, t, ["w3", "w4", "x3", "x4", "x1"])


def multipath() -> Example:
    """f = (x3 + x5) − σ(w3·x3 + w4·x4): x3 is used twice, so its δ is a sum of two paths."""
    import chainrule as cr
    v = _scalars(x3=2.0, x5=0.5, x4=-1.0, w3=0.5, w4=0.25)
    with cr.autograd.record():
        x1 = v["x3"] + v["x5"]
        w3x3 = v["w3"] * v["x3"]
        w4x4 = v["w4"] * v["x4"]
        net2 = w3x3 + w4x4
        x2 = net2.sigmoid()
        f = x1 - x2
        t = cr.explain.trace(f, names={**v, "x1": x1, "w3x3": w3x3, "w4x4": w4x4,
                                       "net2": net2, "x2": x2})
    title = ("f = (x3 + x5) − σ(w3·x3 + w4·x4) at x3 = 2, x5 = 0.5, x4 = -1, w3 = 0.5, "
             "w4 = 0.25; two paths from x3: δ_x3 = 1 − σ′(net2)·w3")
    return Example("multipath", title, t, ["x3", "x5", "x4", "w3", "w4"])


#: weights of the XOR net: hidden unit 1 ≈ OR, hidden unit 2 ≈ NAND, output ≈ AND of them
XOR_WEIGHTS = {
    "W1": [[4.0, -4.0], [4.0, -4.0]], "b1": [-2.0, 6.0],
    "W2": [[5.0], [5.0]], "b2": [-7.5],
}


def xor_net() -> Example:
    """A 2-2-1 sigmoid network on the four XOR points, mean binary cross-entropy."""
    import chainrule as cr
    from ..nn import functional as F
    params = {k: cr.tensor(np.array(v, np.float32), requires_grad=True)
              for k, v in XOR_WEIGHTS.items()}
    x = cr.tensor(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32))
    y = cr.tensor(np.array([[0], [1], [1], [0]], np.float32))
    with cr.autograd.record():
        z1 = x @ params["W1"] + params["b1"]
        a1 = z1.sigmoid()
        z2 = a1 @ params["W2"] + params["b2"]
        y_hat = z2.sigmoid()
        loss = F.binary_cross_entropy(y_hat, y)
        t = cr.explain.trace(loss, names={**params, "x": x, "y": y, "z1": z1, "a1": a1,
                                          "z2": z2, "ŷ": y_hat, "L": loss})
    title = ("XOR net: z1 = x·W1 + b1, a1 = σ(z1), z2 = a1·W2 + b2, ŷ = σ(z2), "
             "L = mean BCE(ŷ, y) over the four XOR points")
    return Example("xor-net", title, t, ["W1", "b1", "W2", "b2"])


#: example name -> builder
EXAMPLES: dict[str, Callable[[], Example]] = {
    "circuit": circuit, "neuron": neuron, "multipath": multipath, "xor-net": xor_net}


def build(name: str) -> Example:
    """The example called ``name`` (one of :data:`EXAMPLES`)."""
    try:
        return EXAMPLES[name]()
    except KeyError:
        raise ValueError(f"no example {name!r}; examples: {', '.join(EXAMPLES)}") from None
