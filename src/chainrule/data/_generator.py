"""Seeded NumPy generators for shuffling and splitting, and their JSON-serialisable state."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..generator import Generator

__all__ = ["resolve_generator", "generator_state", "set_generator_state"]


def resolve_generator(generator, who: str) -> np.random.Generator:
    """A NumPy Generator from ``generator``: an existing NumPy Generator (used as is), a
    chainrule.Generator (its stream, which the draws advance), an int seed,
    or None (a fresh generator seeded by one draw from chainrule's default generator, so that
    ``chainrule.manual_seed`` makes it reproducible)."""
    if generator is None:
        seed = int(backend.default_generator().integers(0, 2**63 - 1))
        return np.random.Generator(np.random.PCG64(seed))
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, Generator):      # a chainrule.Generator: draw from its stream
        return generator._rng
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        if generator < 0:
            raise ValueError(f"{who}: seed must be non-negative, got {generator}")
        return np.random.Generator(np.random.PCG64(int(generator)))
    raise TypeError(f"{who}: generator must be None, an int seed, a chainrule.Generator or a "
                    f"numpy.random.Generator, got {type(generator).__name__}")


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, np.integer):
        return int(value)
    return value


def _from_jsonable(value):
    if isinstance(value, dict):
        if "__ndarray__" in value:
            return np.asarray(value["__ndarray__"], dtype=value["dtype"])
        return {k: _from_jsonable(v) for k, v in value.items()}
    return value


def generator_state(gen: np.random.Generator) -> dict:
    """The bit generator's state, with arrays turned into lists (JSON-serialisable)."""
    return _jsonable(gen.bit_generator.state)


def set_generator_state(gen: np.random.Generator, state: dict) -> None:
    """Restore a state from :func:`generator_state` (also after a JSON round trip)."""
    want = gen.bit_generator.state["bit_generator"]
    if state.get("bit_generator") != want:
        raise ValueError(f"generator state is for {state.get('bit_generator')!r}, but this "
                         f"generator is {want!r}")
    gen.bit_generator.state = _from_jsonable(state)
