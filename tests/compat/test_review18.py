"""Fixes from the review of the #18 / device-model work: each idiom runs on torch and chainrule
and the two agree (values, dtypes, or the type of the error torch raises)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr


def _outcome(lib, fn):
    try:
        out = fn(lib)
    except Exception as exc:  # noqa: BLE001 - the error type is compared
        return "raises", exc
    return "returns", out


def _same(fn, check_type=True):
    """Run ``fn(lib)`` on both; both raise (chainrule's error an instance of torch's type) or
    both return equal values and dtypes."""
    (kt, t), (kc, c) = _outcome(torch, fn), _outcome(cr, fn)
    assert kt == kc, (t, c)
    if kt == "raises":
        if check_type:
            assert isinstance(c, type(t)), (type(c), type(t), c)
        return
    if isinstance(t, torch.Tensor):
        assert str(c.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        np.testing.assert_allclose(c.numpy().astype(float), t.numpy().astype(float), rtol=1e-6)
    else:
        assert c == t


# -- item 4: .to(None, dtype), .to('float64') -------------------------------------------------
@pytest.mark.parametrize("fn", [
    lambda lib: lib.ones(2).to(None, lib.float64),
    lambda lib: lib.ones(2).to(None),
    lambda lib: lib.ones(2).to("cpu", None),
    lambda lib: lib.ones(2).to("float64"),
    lambda lib: lib.nn.Linear(2, 2).to("float64") and 1,
], ids=["none-dtype", "none", "cpu-none", "dtype-string", "module-dtype-string"])
def test_to_argument_forms_as_torch(fn):
    _same(fn)


# -- item 5: bmm refuses what torch refuses -------------------------------------------------
@pytest.mark.parametrize("a, b", [((2, 3, 4), (1, 4, 5)), ((1, 3, 4), (2, 4, 5)),
                                  ((2, 3, 4), (2, 3, 5)), ((2, 3, 4), (2, 4, 5))])
def test_bmm_needs_equal_batch_sizes(a, b):
    x, y = np.random.default_rng(0).standard_normal(a), np.random.default_rng(1).standard_normal(b)
    _same(lambda lib: lib.bmm(lib.tensor(x), lib.tensor(y)))
    _same(lambda lib: lib.tensor(x).bmm(lib.tensor(y)))


def test_bmm_needs_one_dtype():
    _same(lambda lib: lib.bmm(lib.ones(2, 3, 4), lib.ones(2, 4, 5, dtype=lib.float64)))


# -- item 9: what torch refuses -------------------------------------------------------------
@pytest.mark.parametrize("fn", [
    lambda lib: lib.zeros(()).index_add(0, lib.tensor([0, 0]), lib.ones(2)),
    lambda lib: lib.zeros(()).index_add(0, lib.tensor([0]), lib.ones(1)),
    lambda lib: lib.zeros(()).index_add(0, lib.tensor([0]), lib.tensor(2.0)),
    lambda lib: lib.zeros(()).index_add(0, lib.tensor([0, 0]), lib.tensor(2.0)),
    lambda lib: lib.unique(lib.zeros((0, 2)), dim=1),
    lambda lib: lib.unique(lib.zeros((2, 0)), dim=0),
    lambda lib: lib.unique(lib.zeros((0, 0)), dim=0),
    lambda lib: lib.unique(lib.zeros((0, 2)), dim=0),
    lambda lib: lib.softmax(lib.arange(3), 0),
    lambda lib: lib.log_softmax(lib.arange(3), 0),
    lambda lib: lib.nn.functional.softmax(lib.ones(3, dtype=lib.bool), 0),
    lambda lib: lib.softmax(lib.arange(3), 0, dtype=lib.float32),
    lambda lib: lib.dot(lib.arange(3), lib.arange(3)),
    lambda lib: lib.dot(lib.ones(3, dtype=lib.bool), lib.ones(3, dtype=lib.bool)),
    lambda lib: lib.addmm(lib.arange(4).reshape(2, 2), lib.arange(4).reshape(2, 2),
                          lib.arange(4).reshape(2, 2), beta=0.5),
    lambda lib: lib.addmm(lib.arange(4).reshape(2, 2), lib.arange(4).reshape(2, 2),
                          lib.arange(4).reshape(2, 2), alpha=0.5, beta=2),
    lambda lib: lib.addmm(*(lib.ones(2, 2, dtype=lib.bool),) * 3),
], ids=lambda f: None)
def test_refused_or_kept_as_torch(fn):
    _same(fn)


def test_unique_dim_errors_are_runtime_errors():
    with pytest.raises(RuntimeError, match=r"unique.*\(0, 2\)"):
        cr.unique(cr.zeros((0, 2)), dim=1)
    with pytest.raises(NotImplementedError, match="softmax.*int64"):
        cr.softmax(cr.arange(3), 0)


# -- item 12: get_default_dtype -------------------------------------------------------------
def test_get_default_dtype_is_the_chainrule_dtype_and_equals_numpys():
    d = cr.get_default_dtype()
    assert d is cr.float32 and repr(d) == repr(torch.get_default_dtype()).replace("torch", "chainrule")
    assert d == np.float32 and d == np.dtype("float32") and np.zeros(1, d).dtype == np.float32
    cr.set_default_dtype(cr.float64)
    try:
        assert cr.get_default_dtype() is cr.float64 and cr.get_default_dtype() == np.float64
        assert cr.ones(1).dtype == cr.get_default_dtype()
    finally:
        cr.set_default_dtype(cr.float32)
