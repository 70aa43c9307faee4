"""Value parsers for options: each takes the option's text and returns the value or raises
``argparse.ArgumentTypeError`` with a message that names the value and what is allowed."""
from __future__ import annotations

import argparse
import math
from typing import Callable, Iterable

__all__ = ["positive_float", "nonneg_float", "probability", "nonneg_int", "positive_int",
           "seed", "int_list", "val_split", "choice", "optional"]

_Bad = argparse.ArgumentTypeError


def _float(text: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise _Bad(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise _Bad(f"expected a finite number, got {text!r}")
    return value


def _int(text: str) -> int:
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        raise _Bad(f"expected an integer, got {text!r}") from None


def positive_float(text: str) -> float:
    value = _float(text)
    if value <= 0:
        raise _Bad(f"must be positive, got {text!r}")
    return value


def nonneg_float(text: str) -> float:
    value = _float(text)
    if value < 0:
        raise _Bad(f"must be >= 0, got {text!r}")
    return value


def probability(text: str) -> float:
    value = _float(text)
    if not 0 <= value < 1:
        raise _Bad(f"must be a probability in [0, 1), got {text!r}")
    return value


def nonneg_int(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise _Bad(f"must be a non-negative integer, got {text!r}")
    return value


def positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise _Bad(f"must be a positive integer, got {text!r}")
    return value


def seed(text: str) -> int:
    value = _int(text)
    if not 0 <= value < 2 ** 32:
        raise _Bad(f"must be an integer in [0, 2**32), got {text!r}")
    return value


def int_list(text: str) -> list[int]:
    """``"256,128"`` → [256, 128]; ``""`` or ``"none"`` → [] (no hidden layers)."""
    text = str(text).strip()
    if text.lower() in ("", "none", "[]"):
        return []
    parts = [p.strip() for p in text.strip("[]").split(",")]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise _Bad(f"expected a comma-separated list of positive integers, got "
                   f"{text!r}") from None
    if any(v < 1 for v in values):
        raise _Bad(f"sizes must be positive integers, got {text!r}")
    return values


def val_split(text: str) -> float | int:
    """A fraction in (0, 1) of the training set, a whole count of items written as an integer
    (``500``), or 0 for none. ``1.0`` is no count: a float at or above 1 (or below 0) is
    refused rather than read as one item."""
    value = _float(text)
    token = str(text).strip()
    integral = token.lstrip("+").isdigit()
    if integral:
        return int(token)
    if value == 0:
        return 0.0
    if 0 < value < 1:
        return value
    raise _Bad(f"a fraction must be in (0, 1) and a number of items an integer (e.g. 0.1 or "
               f"500; 0 for none), got {text!r}")


def choice(options: Iterable[str], aliases: dict[str, str] | None = None
           ) -> Callable[[str], str]:
    """A name from ``options``, returned as ``options`` spells it; case and ``-``/``_`` do not
    matter (``xor_net`` finds ``xor-net``, ``leaky-relu`` finds ``leaky_relu``)."""
    options = list(options)
    aliases = aliases or {}

    def fold(name: str) -> str:
        return str(name).strip().lower().replace("-", "_")
    spelled = {fold(o): o for o in options}

    def parse(text: str) -> str:
        key = fold(text)
        key = fold(aliases.get(key, key))
        if key not in spelled:
            raise _Bad(f"invalid choice {text!r} (choose from {', '.join(options)})")
        return spelled[key]

    parse.__name__ = "choice"
    return parse


def optional(parse: Callable[[str], object]) -> Callable[[str], object]:
    """``parse``, or None for ``"none"``/``"off"`` (to switch a feature off from a flag)."""

    def wrapped(text: str):
        if str(text).strip().lower() in ("none", "off"):
            return None
        return parse(text)

    wrapped.__name__ = getattr(parse, "__name__", "value")
    return wrapped
