"""``chainrule.Generator``: PyTorch's generator objects over NumPy's PCG64.

A Generator owns a ``numpy.random.Generator``; every random function and in-place random method
takes ``generator=`` and draws from it (or, given None, from the default generator that
:func:`chainrule.manual_seed` seeds). ``chainrule.default_generator`` is that default, seen
through this API. States are uint8 tensors that round-trip through ``get_state``/``set_state``;
the numbers drawn are NumPy's, not PyTorch's.
"""
from __future__ import annotations

import os

import numpy as np

from . import backend

__all__ = ["Generator", "default_generator", "numpy_generator", "seed", "initial_seed"]

#: PyTorch's seed for a fresh Generator (so ``Generator().initial_seed()`` agrees with it)
DEFAULT_SEED = 67280421310721
_STATE_BYTES = 16 + 16 + 4 + 4 + 8          # PCG64 state and increment, cached uint32, seed
_SEED_RANGE = (-(1 << 63), (1 << 64) - 1)


def _seed_value(seed, who: str) -> int:
    """An int seed in PyTorch's range [−2⁶³, 2⁶⁴), negatives wrapped to 2⁶⁴ + seed."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{who}: seed must be an int, got {type(seed).__name__}")
    seed = int(seed)
    if not _SEED_RANGE[0] <= seed <= _SEED_RANGE[1]:
        raise ValueError(f"{who}: seed must be in [-2**63, 2**64), got {seed}")
    return seed % (1 << 64)


def _fresh_seed() -> int:
    return int.from_bytes(os.urandom(8), "little")


def _pack(rng: np.random.Generator, initial: int):
    """The PCG64 state of ``rng`` and ``initial`` as a uint8 tensor of 48 bytes."""
    from .tensor import Tensor
    st = rng.bit_generator.state
    if st.get("bit_generator") != "PCG64":
        raise TypeError(f"get_state: only PCG64 generators have a tensor state, this one is "
                        f"{st.get('bit_generator')!r}")
    raw = (st["state"]["state"].to_bytes(16, "little") + st["state"]["inc"].to_bytes(16, "little")
           + int(st["has_uint32"]).to_bytes(4, "little")
           + int(st["uinteger"]).to_bytes(4, "little") + initial.to_bytes(8, "little"))
    return Tensor._wrap(np.frombuffer(raw, dtype=np.uint8).copy(), False, None)


def _unpack(state, who: str) -> tuple:
    """(bit generator state dict, initial seed) from a tensor made by :func:`_pack`."""
    from .tensor import Tensor
    arr = state._data if isinstance(state, Tensor) else state
    if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8 or arr.shape != (_STATE_BYTES,):
        raise ValueError(f"{who}: the state must be a uint8 tensor of shape ({_STATE_BYTES},) "
                         f"from get_state(), got "
                         f"{getattr(arr, 'dtype', type(arr).__name__)} of shape "
                         f"{getattr(arr, 'shape', '?')}")
    raw = arr.tobytes()
    num = [int.from_bytes(raw[a:b], "little") for a, b in ((0, 16), (16, 32), (32, 36),
                                                             (36, 40), (40, 48))]
    if num[1] % 2 == 0 or num[2] > 1:
        raise ValueError(f"{who}: the state is not a PCG64 state from get_state() (its "
                         "increment must be odd)")
    return ({"bit_generator": "PCG64", "state": {"state": num[0], "inc": num[1]},
             "has_uint32": num[2], "uinteger": num[3]}, num[4])


def _check_device(device) -> str:
    name = str(device if device is not None else "cpu")
    if name != "cpu":
        raise ValueError(f"Generator: device {name!r} is not available; chainrule's generators "
                         "live on the CPU")
    return name


class Generator:
    """A seeded source of random numbers: ``Generator().manual_seed(0)``, then pass it as
    ``generator=`` to any random function; the same seed gives the same draws."""

    def __init__(self, device="cpu"):
        self.device = _check_device(device)
        self._initial = DEFAULT_SEED
        self._own = np.random.Generator(np.random.PCG64(DEFAULT_SEED))

    @property
    def _rng(self) -> np.random.Generator:
        return self._own

    def _reseed(self, seed: int) -> None:
        self._own = np.random.Generator(np.random.PCG64(seed))

    def manual_seed(self, seed: int) -> "Generator":
        """Reseed (any int in [−2⁶⁴/2, 2⁶⁴)); returns self."""
        value = _seed_value(seed, "manual_seed")
        self._reseed(value)
        self._initial = value
        return self

    def seed(self) -> int:
        """Reseed from the operating system's entropy; returns the new seed."""
        value = _fresh_seed()
        self._reseed(value)
        self._initial = value
        return value

    def initial_seed(self) -> int:
        """The seed last set by :meth:`manual_seed` or :meth:`seed`."""
        return self._initial

    def get_state(self):
        """The generator's state as a uint8 tensor (for :meth:`set_state`)."""
        return _pack(self._rng, self._initial)

    def set_state(self, new_state) -> "Generator":
        """Restore a state taken with :meth:`get_state`; returns self."""
        state, initial = _unpack(new_state, "set_state")
        self._rng.bit_generator.state = state
        self._initial = initial
        return self

    def __repr__(self) -> str:
        return f"<chainrule.Generator device={self.device!r} initial_seed={self._initial}>"


class _DefaultGenerator(Generator):
    """The default generator (the one in :mod:`chainrule.backend`) behind the Generator API, so
    ``chainrule.manual_seed`` and ``default_generator.manual_seed`` are one and the same."""

    def __init__(self):
        self.device = "cpu"

    @property
    def _rng(self) -> np.random.Generator:
        return backend.default_generator()

    def _reseed(self, seed: int) -> None:
        backend.manual_seed(seed)

    @property
    def _initial(self) -> int:
        return backend.initial_seed()

    @_initial.setter
    def _initial(self, value: int) -> None:
        backend.set_initial_seed(value)


default_generator = _DefaultGenerator()


def numpy_generator(generator, who: str) -> np.random.Generator:
    """The NumPy generator to draw from: the default one for None, a Generator's own, or a
    ``numpy.random.Generator`` as it is."""
    if generator is None:
        return backend.default_generator()
    if isinstance(generator, Generator):
        return generator._rng
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"{who}: generator must be a chainrule.Generator (or None), got "
                    f"{type(generator).__name__}")


def seed() -> int:
    """Seed the default generator from the operating system's entropy; returns the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The default generator's seed (as last set by :func:`chainrule.manual_seed`)."""
    return default_generator.initial_seed()
