"""DLPack exchange with NumPy and PyTorch: each test writes through one side and reads through
the other, so sharing (not just equal values) is what passes. Feeding torch a capsule with
negative strides can kill the process, so those checks run torch in a subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import chainrule as cr

DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
          np.uint8, np.bool_]
LAYOUTS = {
    "contiguous": lambda t: t,
    "every_other_column": lambda t: t[:, ::2],
    "transposed": lambda t: t.transpose(0, 1),
    "row_slice_of_transposed": lambda t: t.transpose(0, 1)[1:],
}


def _values(dtype, shape=(3, 4)) -> np.ndarray:
    n = int(np.prod(shape))
    base = np.arange(n).reshape(shape)
    return (base % 2 == 1) if dtype is np.bool_ else base.astype(dtype)


def _marker(dtype):
    """A value none of _values's elements has (for bool: flip False to True)."""
    return True if dtype is np.bool_ else 99


def _base_and_view(dtype, layout):
    base = cr.tensor(_values(dtype))
    assert base.dtype == np.dtype(dtype)
    return base, LAYOUTS[layout](base)


def _first_false_or_any(arr: np.ndarray) -> tuple:
    """An index whose value differs from _marker (bool views: a False element)."""
    if arr.dtype == np.bool_:
        return tuple(int(i) for i in np.argwhere(~arr)[0])
    return (0,) * arr.ndim


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_numpy_shares_memory_both_ways(dtype, layout):
    base, view = _base_and_view(dtype, layout)
    arr = np.from_dlpack(view)
    assert arr.dtype == view.dtype and arr.shape == view.shape
    assert arr.strides == view._data.strides
    np.testing.assert_array_equal(arr, view.numpy())
    i = _first_false_or_any(arr)
    arr[i] = _marker(dtype)                     # numpy writes, chainrule reads
    assert view[i].item() == _marker(dtype)
    j = tuple(-1 for _ in i)
    view[j] = 0                                 # chainrule writes, numpy reads
    assert arr[j] == 0
    # and numpy -> chainrule
    back = cr.from_dlpack(arr)
    assert back.dtype == arr.dtype and back.requires_grad is False
    back[j] = 1
    assert view[j].item() == 1 and arr[j] == 1


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_torch_shares_memory_both_ways(dtype, layout):
    base, view = _base_and_view(dtype, layout)
    x = torch.from_dlpack(view)
    itemsize = view._data.itemsize
    assert x.shape == view.shape
    assert x.stride() == tuple(s // itemsize for s in view._data.strides)
    np.testing.assert_array_equal(x.numpy(), view.numpy())
    i = _first_false_or_any(view.numpy())
    x[i] = _marker(dtype)                       # torch writes, chainrule reads
    assert view[i].item() == _marker(dtype)
    # torch -> chainrule: a strided torch view of the same memory
    y = cr.from_dlpack(x[:, ::2] if x.shape[1] > 1 else x)
    assert y.dtype == view.dtype
    y[0, 0] = 0                                 # chainrule writes, torch reads
    assert x[0, 0].item() == 0 and view[0, 0].item() == 0


def test_torch_dtypes_match_chainrule_names():
    for dtype in DTYPES:
        x = torch.from_dlpack(cr.tensor(_values(dtype)))
        assert x.dtype == getattr(torch, np.dtype(dtype).name)


def test_dlpack_device_is_the_cpu_and_matches_numpy():
    t = cr.ones(2, 3)
    assert t.__dlpack_device__() == np.ones(1).__dlpack_device__() == (1, 0)
    assert cr.tensor(2.0).sum().__dlpack_device__() == (1, 0)


def test_zero_dim_results_export_their_value():
    t = cr.tensor([1.5, 2.5]).sum()             # a reduction holds a NumPy scalar
    assert torch.from_dlpack(t).item() == 4.0
    assert np.from_dlpack(t).shape == ()


def test_chainrule_to_chainrule_and_bare_capsules():
    t = cr.zeros(4)
    same = cr.from_dlpack(t)
    same[2] = 3.0
    assert t[2].item() == 3.0
    x = torch.zeros(3, dtype=torch.float64)
    from_capsule = cr.from_dlpack(torch.utils.dlpack.to_dlpack(x))
    x[1] = 5.0                                  # shared; read-only here, as NumPy reads a
    assert from_capsule[1].item() == 5.0        # legacy capsule (it has no writable flag)
    assert from_capsule.dtype == np.float64
    with pytest.raises(ValueError, match="read-only"):
        from_capsule[0] = 1.0


def test_copy_true_makes_an_independent_tensor_and_copy_false_shares():
    a = np.zeros(3, dtype=np.float32)
    copied = cr.from_dlpack(a, copy=True)
    copied[0] = 1.0
    assert a[0] == 0.0
    shared = cr.from_dlpack(a, copy=False)
    shared[0] = 2.0
    assert a[0] == 2.0


def test_from_dlpack_refuses_what_has_no_dlpack():
    with pytest.raises(TypeError, match=r"from_dlpack: expected an object with __dlpack__.*"
                                        r"got list"):
        cr.from_dlpack([1, 2, 3])


class _FakeGPUArray:
    def __dlpack__(self, **kwargs):
        raise AssertionError("must not be read without CuPy")

    def __dlpack_device__(self):
        return (2, 0)


def test_gpu_producer_without_cupy_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy now raises ImportError
    with pytest.raises(ImportError, match=r"cuda device.*chainrule\[gpu\]"):
        cr.from_dlpack(_FakeGPUArray())


# -- refusals -------------------------------------------------------------------------------
def test_requires_grad_is_refused_as_torch_refuses_it():
    with pytest.raises(BufferError) as theirs:
        torch.ones(3, requires_grad=True).__dlpack__()
    p = cr.ones(3, requires_grad=True)
    for consume in (lambda: p.__dlpack__(), lambda: np.from_dlpack(p),
                    lambda: torch.from_dlpack(p), lambda: cr.from_dlpack(p),
                    lambda: torch.from_dlpack(p * 2)):
        with pytest.raises(type(theirs.value)) as ours:
            consume()
        assert "detach()" in str(ours.value)
    assert str(theirs.value) in str(ours.value)
    x = torch.from_dlpack(p.detach())           # detached: shared, as in PyTorch
    x[0] = 4.0
    assert p[0].item() == 4.0


def test_read_only_expand_exports_read_only_to_numpy():
    t = cr.tensor([1.0, 2.0])
    e = t.expand(3, 2)
    arr = np.from_dlpack(e)
    assert not arr.flags.writeable
    assert np.shares_memory(arr, t._data) and arr.strides == (0, 4)
    with pytest.raises(ValueError, match="read-only"):
        arr[0, 0] = 5.0
    t[0] = 7.0
    assert arr[2, 0] == 7.0                     # a view, not a copy
    x = torch.from_dlpack(e)                    # torch 2.13 takes it (it ignores the flag)
    assert x.stride() == (0, 1) and x[1, 0].item() == 7.0


def test_read_only_is_refused_to_a_legacy_consumer():
    e = cr.tensor([1.0, 2.0]).expand(3, 2)
    with pytest.raises(BufferError, match=r"read-only.*expand.*before 1\.0.*\.clone\(\)"):
        e.__dlpack__()
    assert np.from_dlpack(e.clone()).flags.writeable


@pytest.mark.parametrize("make", [lambda t: t.flip(1), lambda t: t[::-1],
                                  lambda t: t.transpose(0, 1)[::-2]],
                         ids=["flip", "reversed_rows", "strided_reversed_transposed"])
def test_negative_strides_are_exported_as_a_contiguous_copy(make):
    t = cr.tensor(_values(np.float32))
    view = make(t)
    assert any(s < 0 for s in view._data.strides)
    arr = np.from_dlpack(view)
    np.testing.assert_array_equal(arr, view.numpy())
    assert arr.flags.c_contiguous and not np.shares_memory(arr, t._data)
    with pytest.raises(BufferError, match=r"negative strides.*copy=None or copy=True"):
        np.from_dlpack(view, copy=False)


def _pythonpath() -> str:
    src = str(Path(cr.__file__).resolve().parents[1])
    return os.pathsep.join([src] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                                    if p])


def test_torch_takes_negative_stride_tensors_without_dying():
    code = (
        "import json, numpy as np, torch, chainrule as cr\n"
        "t = cr.tensor(np.arange(12, dtype=np.float32).reshape(3, 4))\n"
        "out = {}\n"
        "for name, v in (('flip', t.flip(1)), ('rows', t[::-1]), ('both', t.flip(0, 1))):\n"
        "    x = torch.from_dlpack(v)\n"
        "    out[name] = [x.tolist(), v.tolist(), list(x.stride())]\n"
        "print(json.dumps(out))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, PYTHONPATH=_pythonpath()))
    assert proc.returncode == 0, f"torch died (status {proc.returncode}): {proc.stderr[-2000:]}"
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(out) == {"flip", "rows", "both"}
    for got, want, strides in out.values():
        assert got == want
        assert all(s > 0 for s in strides)


# -- property: any positive-step slicing and transposition is shared with torch -------------
@settings(deadline=None, max_examples=25)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
       steps=st.lists(st.integers(1, 3), min_size=3, max_size=3),
       starts=st.lists(st.integers(0, 2), min_size=3, max_size=3),
       reverse_axes=st.booleans())
def test_sliced_views_share_memory_with_torch(shape, steps, starts, reverse_axes):
    t = cr.tensor(np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape))
    index = tuple(slice(min(s, n - 1), None, k) for s, k, n in zip(starts, steps, shape))
    view = t[index]
    if reverse_axes and view.ndim > 1:
        view = view.permute(*reversed(range(view.ndim)))
    x = torch.from_dlpack(view)
    np.testing.assert_array_equal(x.numpy(), view.numpy())
    x.fill_(-1.0)
    assert (view.numpy() == -1.0).all()
    assert int((t.numpy() == -1.0).sum()) == view.numel()
