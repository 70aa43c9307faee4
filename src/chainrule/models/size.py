"""How big a model a configuration describes, known before anything is allocated.

:func:`parameter_count` counts the parameters of a built-in model by walking the plan its
builder builds from (:mod:`._plan`: Linear m → n has m·n + n, a Conv c_in·c_out·k^d + c_out, a
BatchNorm 2n) without allocating; :func:`check_size` refuses a configuration whose float32
parameters alone would not fit in this machine's memory, naming the option that makes it large.
A checkpoint of a few kilobytes can describe a model of terabytes, so this runs before building.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ._plan import walk
from .builders import PLANS

__all__ = ["Size", "parameter_count", "check_size", "ModelTooLarge", "machine_memory"]

BYTES_PER_PARAMETER = 4  # float32, the default dtype


class ModelTooLarge(ValueError):
    """A configuration whose parameters would not fit in memory; ``option`` names the
    configuration key (``hidden``, ``channels``, ``input_shape`` ...) that makes it large."""

    def __init__(self, message: str, option: str, parameters: int):
        super().__init__(message)
        self.option, self.parameters = option, parameters


@dataclass
class Size:
    parameters: int
    largest: int       # parameters of the largest layer
    layer: str         # that layer, e.g. "Linear(64 → 100000000)"
    option: str        # the configuration key its size comes from


def parameter_count(config: dict[str, Any]) -> Size:
    """The number of parameters of the built-in model a full ``config`` describes (as
    :func:`chainrule.models.model_config` writes it), and its largest layer."""
    name = config["name"]
    if name not in PLANS:
        raise ValueError(f"parameter_count: no size rule for model {name!r}")
    options = {k: v for k, v in config.items() if k not in ("name", "init")}
    layers = list(walk(PLANS[name](**options)))
    largest = max(layers, key=lambda layer: layer.parameters)
    return Size(sum(layer.parameters for layer in layers), largest.parameters, largest.name,
                largest.option)


def machine_memory() -> int | None:
    """This machine's physical memory in bytes (None where the OS does not say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _gib(n: float) -> str:
    return f"{n / 2 ** 40:.1f} TiB" if n >= 2 ** 40 else f"{n / 2 ** 30:.1f} GiB"


def check_size(config: dict[str, Any], limit: int | None = None) -> Size | None:
    """Raise :class:`ModelTooLarge` if the parameters of ``config``'s model (as float32) need
    more than ``limit`` bytes (default: this machine's memory). Models without a size rule
    (registered by users) are not checked."""
    try:
        size = parameter_count(config)
    except (ValueError, TypeError, KeyError, OverflowError):
        return None  # unknown model, or a malformed config the builder will name
    limit = machine_memory() if limit is None else limit
    need = size.parameters * BYTES_PER_PARAMETER
    if limit is not None and need > limit:
        value = config.get(size.option)
        raise ModelTooLarge(
            f"{config['name']}: {size.option}={value!r} describes {size.parameters:,} parameters "
            f"({_gib(need)} as float32, the largest layer {size.layer}), more than this "
            f"machine's memory ({_gib(limit)})", size.option, size.parameters)
    return size
