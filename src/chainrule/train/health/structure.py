"""Which modules of a model the health monitor watches (its *layers*: linear, convolution and
normalisation modules) and which nonlinearity follows each in a ``Sequential``."""
from __future__ import annotations

import functools
from typing import Any

__all__ = ["is_layer", "layer_modules", "following_activations"]


@functools.lru_cache(maxsize=1)
def _layer_types() -> tuple[type, ...]:
    from ... import nn
    types = [nn.Linear, nn.LayerNorm]
    for name in ("_ConvNd", "_BatchNorm"):
        for mod in (nn.conv, nn.normalization):
            cls = getattr(mod, name, None)
            if cls is not None:
                types.append(cls)
    for name in ("Conv1d", "Conv2d", "Conv3d", "BatchNorm1d", "BatchNorm2d", "GroupNorm",
                 "InstanceNorm1d", "InstanceNorm2d", "SyncBatchNorm"):
        cls = getattr(nn, name, None)
        if cls is not None:
            types.append(cls)
    return tuple(dict.fromkeys(types))


def is_layer(module: Any) -> bool:
    """True for the modules the collector watches: linear, convolution and normalisation
    layers."""
    return isinstance(module, _layer_types())


def _activation_kind(module: Any) -> str | None:
    from ... import nn
    for cls, kind in ((nn.Tanh, "tanh"), (nn.Sigmoid, "sigmoid"), (nn.ReLU, "relu")):
        if type(module) is cls:
            return kind
    return None


def layer_modules(model: Any) -> list[tuple[str, Any]]:
    """(name, module) of every layer of ``model`` the collector watches, in
    ``named_modules`` order (the model itself is named ``'(model)'`` when it is a layer)."""
    return [(name or "(model)", m) for name, m in model.named_modules() if is_layer(m)]


def following_activations(model: Any) -> dict[int, tuple[str, Any]]:
    """id(layer) -> (kind, activation module) for layers a tanh/sigmoid/ReLU follows in a
    Sequential."""
    from ... import nn
    found: dict[int, tuple[str, Any]] = {}
    for _, parent in model.named_modules():
        if not isinstance(parent, nn.Sequential):
            continue
        # positions, not children(): children() lists a module used twice only once
        children = [m for m in parent._modules.values() if m is not None]
        for here, after in zip(children, children[1:]):
            kind = _activation_kind(after)
            if kind is not None and is_layer(here):
                found[id(here)] = (kind, after)
    return found
