"""The GPU's fused optimizer updates, checked on the CPU: a stand-in cupy (tests/optim/fake_cupy)
runs each kernel's CUDA body with NumPy, so the formulas are compared with PyTorch here and the
dispatch (one kernel per parameter per step, state on the parameter's device) is checked
without a GPU. tests/gpu runs the real kernels."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import backend
from chainrule.optim import _axpy

from . import fake_cupy

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, weight_decay=0.01, maximize=True)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True, maximize=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.01)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
    ("Adadelta", dict(lr=1.0, weight_decay=0.01)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_fused_update_matches_torch(monkeypatch, name, kwargs):
    fake_cupy.install(monkeypatch)
    rng = np.random.default_rng(0)
    shapes = [(5, 3), (3,)]
    values = [rng.standard_normal(s) for s in shapes]
    ours = [cr.nn.Parameter(cr.tensor(v)) for v in values]
    host = [cr.nn.Parameter(cr.tensor(v)) for v in values]           # chainrule's CPU path
    theirs = [torch.nn.Parameter(torch.tensor(v)) for v in values]
    for p in ours:                                      # "move" to the fake device
        p._data = p._data.view(fake_cupy.FakeArray)
    opt = getattr(cr.optim, name)(ours, **kwargs)
    ref = getattr(torch.optim, name)(theirs, **kwargs)
    cpu = getattr(cr.optim, name)(host, **kwargs)
    for step in range(4):
        grads = [rng.standard_normal(s) for s in shapes]
        for p, h, q, g in zip(ours, host, theirs, grads):
            p.grad = cr.Tensor._wrap(g.view(fake_cupy.FakeArray), False, None)
            h.grad = cr.tensor(g)
            q.grad = torch.tensor(g)
        fake_cupy.ElementwiseKernel.calls.clear()
        opt.step()
        ref.step()
        cpu.step()
        assert len(fake_cupy.ElementwiseKernel.calls) == len(ours), \
            f"{name}: expected one kernel per parameter, got {fake_cupy.ElementwiseKernel.calls}"
    for p, h, q in zip(ours, host, theirs):
        assert type(p._data) is fake_cupy.FakeArray
        np.testing.assert_allclose(np.asarray(p._data), h._data, rtol=1e-12, atol=1e-14)
        # PyTorch keeps NAdam's mu_product in float32 even for float64 parameters
        np.testing.assert_allclose(np.asarray(p._data), q.detach().numpy(), rtol=1e-7,
                                   atol=1e-9)
    for key, value in opt.state[ours[0]].items():       # state lives on the parameter's device
        if hasattr(value, "shape"):
            assert type(value) is fake_cupy.FakeArray, key
    fake_cupy.forget_kernels()


def test_backend_hands_out_update_kernels_per_device(monkeypatch):
    assert backend.update_kernels(np.zeros(3)) is _axpy             # CPU: BLAS axpy
    fake = fake_cupy.install(monkeypatch)
    kernels = backend.update_kernels(np.zeros(3).view(fake.ndarray))
    assert kernels.__name__ == "chainrule._cuda_kernels.optim_updates"
    for fn in ("axpy_", "axpby_", "sgd_", "adam_", "rmsprop_", "adagrad_", "adadelta_", "nadam_"):
        assert callable(getattr(kernels, fn))
    y = np.ones(4).view(fake.ndarray)
    _axpy.axpy_(y, 2.0, np.full(4, 3.0).view(fake.ndarray))          # routed to the GPU kernel
    assert fake_cupy.ElementwiseKernel.calls == ["cr_axpy"]
    np.testing.assert_array_equal(np.asarray(y), 7.0)
    _axpy.axpby_(y, 1.0, np.ones(4).view(fake.ndarray), 0.5)
    np.testing.assert_array_equal(np.asarray(y), 4.5)
    fake_cupy.forget_kernels()


def test_cuda_code_is_never_imported_without_cupy():
    """A CPU training step (conv, fused cross-entropy, clipping, every first-order optimizer,
    a pin_memory loader) imports neither CuPy nor chainrule._cuda_kernels."""
    code = textwrap.dedent("""
        import sys
        import numpy as np
        import chainrule as cr
        from chainrule.data import DataLoader, TensorDataset
        x = cr.randn(8, 2, 12)
        y = cr.tensor(np.arange(8) % 3)
        net = cr.nn.Sequential(cr.nn.Conv1d(2, 4, 3, padding=1), cr.nn.ReLU(),
                               cr.nn.Flatten(), cr.nn.Linear(48, 3))
        for opt_cls in (cr.optim.SGD, cr.optim.Adam, cr.optim.RMSprop, cr.optim.Adagrad,
                        cr.optim.Adadelta, cr.optim.NAdam):
            opt = opt_cls(net.parameters(), lr=0.01)
            for xb, yb in DataLoader(TensorDataset(x, y), batch_size=4, pin_memory=True):
                opt.zero_grad()
                loss = cr.nn.functional.cross_entropy(net(xb), yb)
                loss.backward()
                cr.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                opt.step()
                loss.item()
        bad = [m for m in sys.modules if m == "cupy" or m.startswith("cupy.")
               or m.startswith("chainrule._cuda_kernels")]
        print("IMPORTED", bad)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "IMPORTED []" in out.stdout, out.stdout


def test_cuda_kernel_modules_refuse_to_import_without_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)      # import cupy -> ImportError
    fake_cupy.forget_kernels()
    for name in ("optim_updates", "conv", "transfer"):
        with pytest.raises(ImportError):
            backend.cuda_kernels(name)
