"""Shared pieces of the GPU tests: moving between devices and comparing GPU with CPU."""
from __future__ import annotations

import numpy as np

import chainrule as cr


def host(x) -> np.ndarray:
    """A tensor's or array's values on the host (a copy for GPU data)."""
    data = x._data if isinstance(x, cr.Tensor) else x
    if isinstance(data, (np.ndarray, np.generic, float, int)):
        return np.asarray(data)
    return data.get()


def on_gpu(x) -> bool:
    data = x._data if isinstance(x, cr.Tensor) else x
    return type(data).__module__.startswith("cupy")


def close(gpu, cpu, dtype=np.float64, what="", rtol=None, atol=None) -> None:
    """GPU results against CPU ones: tight in float64, float32 rounding otherwise."""
    a, b = host(gpu), host(cpu)
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs {b.shape}"
    if a.dtype.kind in "biu":
        np.testing.assert_array_equal(a, b, err_msg=what)
        return
    if rtol is None:
        rtol, atol = (1e-9, 1e-11) if np.dtype(dtype) == np.float64 else (2e-4, 2e-5)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=what)


def twin_models(build, seed: int = 0):
    """The same model twice (same weights): one left on the CPU, one moved to the GPU."""
    cr.manual_seed(seed)
    cpu = build()
    gpu = build()
    gpu.load_state_dict(cpu.state_dict())
    return cpu, gpu.to("cuda")
