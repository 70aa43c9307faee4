"""A CPU scalar (0-d) tensor may join an op on GPU tensors, as in PyTorch: it travels as a
Python scalar; any other CPU array with a GPU one is still an error naming the op."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import backend, devices

from tests.test_devices import _FakeDeviceArray, fake_gpu  # noqa: F401 - the fixture


def test_cpu_scalar_tensors_join_gpu_ops(fake_gpu):  # noqa: F811
    g = _FakeDeviceArray(np.arange(3.0, dtype=np.float32))
    xp, arrays = backend.device_operands("mul", [g, np.array(2.0, np.float32)])
    assert xp is fake_gpu and arrays[0] is g and arrays[1] == 2.0 and type(arrays[1]) is float
    with pytest.raises(devices.DeviceMismatchError, match=r"mul.*cuda:0.*cpu|mul.*cpu.*cuda:0"):
        backend.device_operands("mul", [g, np.ones(3, np.float32)])


def test_without_a_gpu_array_nothing_changes():
    arrays = [np.ones(2), np.array(3.0)]
    xp, out = backend.device_operands("add", arrays)
    assert xp is np and out is arrays
