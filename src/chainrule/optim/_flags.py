"""PyTorch's implementation switches on the optimizers: ``foreach``, ``fused``,
``differentiable``, ``capturable``.

``foreach`` and ``fused`` choose how PyTorch batches the update over parameters (a Python loop, a
multi-tensor kernel, one fused kernel); chainrule's update is already one fused pass per
parameter (BLAS axpy on the CPU, one CUDA kernel on the GPU), so any value gives the same numbers
and they are accepted and kept in ``param_groups`` as PyTorch keeps them.
``differentiable=True`` (autograd through the update) and ``capturable=True`` (CUDA-graph
capture) have no counterpart here: they are a clear NotImplementedError.
"""
from __future__ import annotations

__all__ = ["implementation_flags"]


def _tristate(op: str, name: str, value) -> None:
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"{op}: {name} must be None, True or False, got {value!r}")


def implementation_flags(op: str, *, foreach=None, fused=None, differentiable=False,
                         capturable=False, has_fused: bool = True,
                         has_capturable: bool = True) -> dict:
    """The flags ``op`` stores in its defaults (PyTorch's keys), after checking them."""
    _tristate(op, "foreach", foreach)
    _tristate(op, "fused", fused)
    if differentiable:
        raise NotImplementedError(
            f"{op}: differentiable=True (autograd through the optimizer step) is not supported; "
            "chainrule's updates run outside the graph. Write the update with tensor ops under "
            "autograd instead, or leave differentiable=False")
    if capturable:
        raise NotImplementedError(
            f"{op}: capturable=True (CUDA-graph capture of the step) is not supported; chainrule "
            "does not capture CUDA graphs. Leave capturable=False")
    if foreach and fused:
        raise RuntimeError(f"{op}: foreach and fused cannot both be True")
    flags = {"foreach": foreach, "differentiable": False}
    if has_fused:
        flags["fused"] = fused
    if has_capturable:
        flags["capturable"] = False
    return flags
