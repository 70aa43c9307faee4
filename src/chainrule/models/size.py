"""How big a model a configuration describes, known before anything is allocated.

:func:`parameter_count` counts the parameters of a built-in model from its configuration alone
(a Linear(m → n) layer has m·n + n, a k-wide Conv with c_in → c_out channels c_in·c_out·k^d +
c_out, a BatchNorm over n features 2n); :func:`check_size` refuses a configuration whose float32
parameters alone would not fit in this machine's memory, naming the option that makes it large.
A checkpoint of a few kilobytes can describe a model of terabytes, so this runs before building.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

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


class _Tally:
    """Adds up layers; keeps the largest and the option its size comes from (the option
    behind the wider of its two sides)."""

    def __init__(self):
        self.total, self.best = 0, (0, "", "")

    def add(self, count: int, layer: str, option: str) -> None:
        self.total += count
        if count > self.best[0]:
            self.best = (count, layer, option)

    def linear(self, m: tuple[int, str], n: tuple[int, str], bias: bool = True) -> None:
        option = m[1] if m[0] > n[0] else n[1]
        self.add(m[0] * n[0] + (n[0] if bias else 0), f"Linear({m[0]} → {n[0]})", option)

    def norm(self, n: int, option: str) -> None:
        self.add(2 * n, f"BatchNorm({n})", option)


def _ints(value: Any, default: tuple[int, ...] = ()) -> tuple[int, ...]:
    if value is None:
        return default
    if isinstance(value, int):
        return (value,)
    return tuple(int(v) for v in value)


def _dense(t: _Tally, sizes, prev: tuple[int, str], bn: bool) -> tuple[int, str]:
    for width in sizes:
        t.linear(prev, (width, "hidden"))
        if bn:
            t.norm(width, "hidden")
        prev = (width, "hidden")
    return prev


def _cnn(t: _Tally, cfg: dict, shape: tuple[int, ...], classes: tuple[int, str]) -> None:
    dims = cfg.get("dims") or (1 if len(shape) == 1 else 2)
    if len(shape) == dims:
        shape = (1,) + shape
    channels = _ints(cfg.get("channels"), (25, 25, 25) if dims == 1 else (16, 32))
    kernels = _ints(cfg.get("kernel_size"),
                    (5,) + (3,) * (len(channels) - 1) if dims == 1 else (5,))
    if len(kernels) == 1:
        kernels = kernels * len(channels)
    spatial, prev = list(shape[1:]), shape[0]
    for c, k in zip(channels, kernels):
        t.add(prev * c * k ** dims + c, f"Conv{dims}d({prev} → {c}, kernel {k})", "channels")
        if cfg.get("batch_norm"):
            t.norm(c, "channels")
        if dims == 2:
            spatial = [(s + 2 * (k // 2) - k + 1) // 2 for s in spatial]
        else:
            spatial = [(s + 2 - k) // 2 + 1 for s in spatial]
        spatial = [max(s, 1) for s in spatial]
        prev = c
    flat = prev * math.prod(spatial)
    start = (flat, "input_shape" if math.prod(spatial) > prev else "channels")
    hidden = _ints(cfg.get("hidden"), (128,) if dims == 2 else ())
    t.linear(_dense(t, hidden, start, False), classes)


def parameter_count(config: dict[str, Any]) -> Size:
    """The number of parameters of the built-in model ``config`` describes (see
    :func:`chainrule.models.model_config`), and its largest layer."""
    name = config["name"]
    shape = _ints(config["input_shape"])
    classes = (int(config["num_classes"]), "num_classes")
    flat = (math.prod(shape), "input_shape")
    t = _Tally()
    bn = bool(config.get("batch_norm"))
    if name == "logreg":
        t.linear(flat, classes)
    elif name == "mlp":
        t.linear(_dense(t, _ints(config.get("hidden"), (256, 128)), flat, bn), classes)
    elif name == "resmlp":
        widths = _ints(config.get("hidden"), (128, 128))
        if widths:
            t.linear(flat, (widths[0], "hidden"))
            prev = widths[0]
            for w in widths:
                t.linear((prev, "hidden"), (w, "hidden"))
                if bn:
                    t.norm(w, "hidden")
                t.linear((w, "hidden"), (w, "hidden"))
                if bn:
                    t.norm(w, "hidden")
                if prev != w:
                    t.linear((prev, "hidden"), (w, "hidden"), bias=False)
                prev = w
            t.linear((prev, "hidden"), classes)
    elif name == "cnn":
        _cnn(t, config, shape, classes)
    else:
        raise ValueError(f"parameter_count: no size rule for model {name!r}")
    largest, layer, option = t.best
    return Size(t.total, largest, layer, option)


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
