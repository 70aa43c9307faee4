"""backend: the array-module seam, default dtype, seeded generator, host-memory policy."""
from __future__ import annotations

import platform

import numpy as np
import pytest

import chainrule as cr
from chainrule import backend


def test_numpy_arrays_use_numpy():
    assert backend.get_array_module(np.zeros(2)) is np
    assert backend.is_array(np.zeros(2)) and not backend.is_array([1, 2])


def test_rng_state_round_trips():
    cr.manual_seed(5)
    state = cr.get_rng_state()
    a = cr.randn(4)
    cr.set_rng_state(state)
    np.testing.assert_array_equal(a.numpy(), cr.randn(4).numpy())
    with pytest.raises(ValueError, match="non-negative integer"):
        cr.manual_seed(-1)


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="the malloc policy applies to glibc only")
def test_retain_freed_memory_can_be_turned_off_and_on():
    try:
        assert cr.retain_freed_memory(False) is True
    finally:
        assert cr.retain_freed_memory(True) is True
