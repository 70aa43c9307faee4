"""The GEMM dispatch (issue #17): every CBLAS path gives NumPy's ``@`` within float32 rounding
for all transposes, layouts and dtypes; what falls back to ``@``; the calibration picks the
faster library per bucket and caches it; a corrupted cache is recalibrated; no library means
NumPy. The suite's venv has neither oneMKL nor scipy-openblas32, so the stand-in is the
``scipy_openblas64_`` NumPy bundles, called through the same ctypes code as they are (the
installed fast libraries are tested too where present)."""
import itertools
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F
from chainrule._blas import calibration as C
from chainrule._blas import cblas as B
from chainrule._blas import gemm as G

STANDIN = B.find_numpy_openblas()
LIBS = [lib for lib in [STANDIN] + B.candidates() if lib is not None]
needs_standin = pytest.mark.skipif(STANDIN is None, reason="NumPy's wheel has no "
                                   "scipy_openblas64_ (a NumPy built on another BLAS)")


class Counting:
    """A library wrapper that counts its calls and can be made slow."""

    def __init__(self, lib, delay=0.0, name=None):
        self.lib, self.delay, self.calls = lib, delay, 0
        self.name = name or lib.name
        self.version, self.path = getattr(lib, "version", "?"), getattr(lib, "path", "?")

    def gemm(self, a, b):
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        return self.lib.gemm(a, b)


def _layout(rng, shape, dtype, order):
    """An operand of ``shape``: C-contiguous, F-contiguous (a transposed C array), or a
    C-contiguous slice with an offset into a bigger buffer."""
    if order == "F":
        return rng.standard_normal(shape[::-1]).astype(dtype).T
    if order == "offset":
        return rng.standard_normal((shape[0] + 3, shape[1])).astype(dtype)[2:2 + shape[0]]
    return rng.standard_normal(shape).astype(dtype)


def _close(got, a, b):
    want = a.astype(np.float64) @ b.astype(np.float64)
    eps = np.finfo(a.dtype).eps
    scale = np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64)
    assert got.shape == want.shape and got.dtype == a.dtype and got.flags.c_contiguous
    assert np.all(np.abs(got - want) <= 4 * a.shape[1] * eps * scale + 1e-30)


@pytest.mark.skipif(not LIBS, reason="no CBLAS library reachable through ctypes")
@pytest.mark.parametrize("lib", LIBS, ids=lambda lib: lib.name)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_path_matches_numpy(lib, dtype):
    rng = np.random.default_rng(0)
    for (m, n, k), oa, ob in itertools.product([(7, 5, 3), (64, 33, 129), (1, 40, 17),
                                                (31, 1, 8), (12, 9, 1)],
                                               ["C", "F", "offset"], ["C", "F", "offset"]):
        a, b = _layout(rng, (m, k), dtype, oa), _layout(rng, (k, n), dtype, ob)
        got = lib.gemm(a, b)
        _close(got, a, b)
        np.testing.assert_allclose(got, a @ b, rtol=50 * np.finfo(dtype).eps * k, atol=1e-5
                                   if dtype == np.float32 else 1e-12)


@needs_standin
def test_read_only_operands_and_special_values():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    b = np.ones((4, 2), np.float32)
    a.flags.writeable = False
    np.testing.assert_array_equal(STANDIN.gemm(a, b), a @ b)
    b[0, 0] = np.nan
    b[1, 1] = np.inf
    np.testing.assert_array_equal(STANDIN.gemm(a, b), a @ b)


@pytest.fixture
def forced(monkeypatch, tmp_path):
    """The dispatch with the stand-in as its one library and a plan sending every bucket of
    the shapes below to it (cache in a temporary directory)."""
    if STANDIN is None:
        pytest.skip("no stand-in library")
    lib = Counting(STANDIN)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    class Everything(dict):
        def get(self, key, default=None):
            return lib

    monkeypatch.setattr(G, "_enabled", True)
    monkeypatch.setattr(G, "_plan", Everything())
    monkeypatch.setattr(G, "_memo", {})
    monkeypatch.setattr(G, "_plan_threads", cr.get_num_threads())
    return lib


def test_dispatch_routes_2d_float_and_falls_back(forced):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((64, 48)).astype(np.float32)
    b = rng.standard_normal((48, 40)).astype(np.float32)
    for x, y in [(a, b), (a.T.copy().T, b), (a, b.T.copy().T), (a.astype(np.float64),
                                                                  b.astype(np.float64))]:
        before = forced.calls
        _close(G.matmul(np, x, y), x, y)
        assert forced.calls == before + 1
    fallbacks = [(a[:, ::2], b[::2]),                                   # non-contiguous
                 (a.astype(np.float16), b.astype(np.float16)),         # other dtype
                 (a, b.astype(np.float64)),                            # mixed dtypes
                 (a.astype(np.int32), b.astype(np.int32)),
                 (a[:4, :4], b[:4, :4]),                               # tiny
                 (np.stack([a, a]), b),                                # batched
                 (a, b[:, 0]),                                         # 1-D
                 (a[:, :0], b[:0]),                                    # empty
                 (a.astype(">f4"), b.astype(">f4"))]                   # byte-swapped
    for x, y in fallbacks:
        before = forced.calls
        np.testing.assert_allclose(G.matmul(np, x, y), np.matmul(x, y), rtol=1e-3)
        assert forced.calls == before, (x.shape, x.dtype, y.shape)
    with pytest.raises(ValueError):  # NumPy's own error for a shape mismatch
        G.matmul(np, a, b[:5])


def test_matmul_and_linear_through_the_dispatch_agree_with_torch(forced):
    rng = np.random.default_rng(2)
    xs = rng.standard_normal((64, 50)).astype(np.float32)
    ws = rng.standard_normal((30, 50)).astype(np.float32)
    bs = rng.standard_normal(30).astype(np.float32)
    x, w, b = (cr.tensor(v, requires_grad=True) for v in (xs, ws, bs))
    tx, tw, tb = (torch.tensor(v, requires_grad=True) for v in (xs, ws, bs))
    (F.linear(x, w, b).sin().sum() + (x @ w.T).cos().sum()).backward()
    (torch.nn.functional.linear(tx, tw, tb).sin().sum() + (tx @ tw.T).cos().sum()).backward()
    assert forced.calls >= 6  # linear: 1 + 2 products, matmul: 1 + 2
    for c, t in ((x, tx), (w, tw), (b, tb)):
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_second_order_still_differentiable(forced):
    x = cr.tensor(np.random.default_rng(3).standard_normal((40, 40)), requires_grad=True)
    (g,) = cr.autograd.grad((x @ x).sum(), x, create_graph=True)
    (h,) = cr.autograd.grad(g.sum(), x)
    tx = torch.tensor(x.detach().numpy(), requires_grad=True)
    (tg,) = torch.autograd.grad((tx @ tx).sum(), tx, create_graph=True)
    (th,) = torch.autograd.grad(tg.sum(), tx)
    np.testing.assert_allclose(h.numpy(), th.numpy(), rtol=1e-10)


SMALL = [(64, 64, 64, False, True, "f"), (128, 10, 64, False, False, "f"),
         (64, 64, 64, True, False, "d")]


@needs_standin
def test_calibration_picks_the_faster_and_caches(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    fast = Counting(STANDIN)
    slow_numpy = Counting(C.NumPyGemm(), delay=0.02, name="numpy")
    slow_numpy.lib.name = "numpy"
    kw = dict(shapes=SMALL, budget_s=0.01, baseline=slow_numpy)
    plan, info = C.plan_for([fast], **kw)
    assert info["calibrated"] and set(info["buckets"].values()) == {fast.name}
    assert all(plan[C.bucket(ch, m, n, k, ta, tb)] is fast for m, n, k, ta, tb, ch in SMALL)
    data = json.loads(open(info["cache"]).read())
    assert data["plans"][str(cr.get_num_threads())]["buckets"] == info["buckets"]
    assert os.path.dirname(info["cache"]) == str(tmp_path / "chainrule")
    assert not [p for p in os.listdir(tmp_path / "chainrule") if p.endswith(".tmp")]
    calls = fast.calls
    plan2, info2 = C.plan_for([fast], **kw)  # from the cache: nothing timed
    assert not info2["calibrated"] and fast.calls == calls and plan2 == plan

    slow = Counting(STANDIN, delay=0.02)  # now the library is the slow one
    buckets, records = C.calibrate([slow], shapes=SMALL, budget_s=0.01)
    assert set(buckets.values()) == {"numpy"} and all(not r["winners"] for r in records)


class _HandOffClock:
    """A fake clock that GEMMs advance: each library has a cost per shape, and a call that
    follows another library's pays ``penalty`` (its thread pool fights the other's)."""

    def __init__(self, penalty):
        self.now, self.last, self.penalty = 0.0, None, penalty

    def __call__(self):
        return self.now


class _Costed:
    def __init__(self, name, clock, cost):
        self.name, self.clock, self.cost = name, clock, cost

    def gemm(self, a, b):
        c = self.clock
        c.now += self.cost(a.shape[0], b.shape[1], a.shape[1], a.dtype.char)
        if c.last not in (None, self.name):
            c.now += c.penalty
        c.last = self.name
        return a @ b


@pytest.mark.parametrize("penalty", [0.0, 3.0])
def test_mixed_plan_is_checked_back_to_back(penalty):
    # the library wins the (64, 64, 64) shapes alone, loses (128, 10, 64): a mixed float32 plan
    clock = _HandOffClock(penalty)
    numpy_side = _Costed("numpy", clock, lambda m, n, k, ch: 1.0)
    lib = _Costed("lib", clock, lambda m, n, k, ch: 2.0 if n == 10 else 0.5)
    buckets, records = C.calibrate([lib], shapes=SMALL, budget_s=1e9, baseline=numpy_side,
                                   clock=clock)
    seq = {r["sequence"]: r for r in records if "sequence" in r}
    f_keys = [C.bucket(ch, m, n, k, ta, tb) for m, n, k, ta, tb, ch in SMALL if ch == "f"]
    d_key = C.bucket("d", 64, 64, 64, True, False)
    assert set(seq) == {"f", "d"} and buckets[d_key] == "lib" and seq["d"]["kept"]
    if penalty:    # lib + numpy + two hand-offs a step cost more than numpy twice: all numpy
        assert [buckets[k] for k in f_keys] == ["numpy", "numpy"] and not seq["f"]["kept"]
        assert seq["f"]["median_us"]["plan"] > seq["f"]["median_us"]["numpy"]
    else:          # no hand-off cost: the mixed plan is faster and stays
        assert [buckets[k] for k in f_keys] == ["lib", "numpy"] and seq["f"]["kept"]


@needs_standin
def test_one_fast_library_per_plan(monkeypatch):
    a, b = Counting(STANDIN, name="a"), Counting(STANDIN, name="b")
    slow_numpy = Counting(C.NumPyGemm(), delay=0.02, name="numpy")
    buckets, _ = C.calibrate([a, b], shapes=SMALL, budget_s=0.01, baseline=slow_numpy)
    assert len(set(buckets.values())) == 1 and set(buckets.values()) <= {"a", "b"}


@needs_standin
@pytest.mark.parametrize("damage", ["garbage", "empty", "wrong library", "other cpu", "list"])
def test_corrupted_or_stale_cache_recalibrates(monkeypatch, tmp_path, damage):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    lib = Counting(STANDIN)
    _, info = C.plan_for([lib], shapes=SMALL, budget_s=0.005)
    path = info["cache"]
    data = json.loads(open(path).read())
    if damage == "garbage":
        text = '{"format": 2, "plans": {'
    elif damage == "empty":
        text = ""
    elif damage == "wrong library":
        data["plans"][str(cr.get_num_threads())]["buckets"] = {"f12wNT": "not-a-library"}
        text = json.dumps(data)
    elif damage == "other cpu":
        data["cpu"] = "some other CPU"
        text = json.dumps(data)
    else:
        text = "[1, 2]"
    with open(path, "w") as f:
        f.write(text)
    calls = lib.calls
    _, info2 = C.plan_for([lib], shapes=SMALL, budget_s=0.005)
    assert info2["calibrated"] and lib.calls > calls and info2["cache"] == path
    assert json.loads(open(path).read())["plans"][str(cr.get_num_threads())]["buckets"]


@needs_standin
def test_unwritable_cache_keeps_the_plan_in_memory(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    plan, info = C.plan_for([Counting(STANDIN)], shapes=SMALL, budget_s=0.005)
    assert info["calibrated"] and not os.path.exists(info["cache"])


def test_missing_library_means_numpy(monkeypatch, tmp_path):
    monkeypatch.setattr(B, "mkl_paths", lambda: [])
    monkeypatch.setattr(B, "openblas32_paths", lambda: [])
    monkeypatch.setitem(B._FINDERS, "mkl", (B.mkl_paths, B.find_mkl))
    monkeypatch.setitem(B._FINDERS, "openblas32", (B.openblas32_paths, B.find_openblas32))
    assert B.present() == [] and B.candidates() == []
    assert B.find_mkl() is None and B.find_openblas32() is None
    bogus = tmp_path / "libmkl_rt.so.3"
    bogus.write_bytes(b"not a shared library")
    monkeypatch.setattr(B, "mkl_paths", lambda: [str(bogus)])
    assert B.find_mkl() is None
    monkeypatch.setattr(G, "_present", [])
    monkeypatch.setattr(G, "_plan", None)
    monkeypatch.setattr(G, "_enabled", G._enabled)  # restored afterwards
    G.set_gemm_enabled(True)  # nothing installed: stays off
    info = G.gemm_info(calibrate=True)
    assert info["enabled"] is False and info["installed"] == []
    a = np.ones((64, 64), np.float32)
    np.testing.assert_array_equal(G.matmul(np, a, a), a @ a)
    assert G._plan is None  # nothing was loaded or calibrated


def test_gemm_info_is_public():
    info = cr._blas.gemm_info()
    assert {"installed", "enabled", "default"} <= set(info)
    assert info["enabled"] == bool(info["installed"])


_IMPORT_ORDER = """
import os, sys, numpy as np
first = sys.argv[1]
if first == "torch":
    import torch, chainrule as cr
else:
    import chainrule as cr, torch
import chainrule.nn.functional as F
from chainrule._blas import gemm as G, cblas as B
info = G.gemm_info(calibrate=True)  # the real calibration where a fast library is installed
# then every GEMM through the first installed library (the stand-in in the suite's venv)
lib = (B.candidates() or [B.find_numpy_openblas()])[0]
class Everything(dict):
    def get(self, key, default=None):
        return lib
G._enabled, G._plan, G._plan_threads = True, Everything(), cr.get_num_threads()
G._memo.clear()
calls, gemm = [0], lib.gemm
def counting(a, b):
    calls[0] += 1
    return gemm(a, b)
lib.gemm = counting
rng = np.random.default_rng(0)
xs, ws = rng.standard_normal((128, 784)).astype("f"), rng.standard_normal((512, 784)).astype("f")
for _ in range(3):
    x, w = cr.tensor(xs, requires_grad=True), cr.tensor(ws, requires_grad=True)
    F.linear(x, w).relu().sum().backward()
    tx, tw = torch.tensor(xs, requires_grad=True), torch.tensor(ws, requires_grad=True)
    torch.nn.functional.linear(tx, tw).relu().sum().backward()
    assert np.allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-3, atol=1e-3)
    assert np.allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-3, atol=1e-3)
    torch.set_num_threads(2)
    assert torch.allclose(torch.mm(tx.T, tx), torch.tensor(xs.T @ xs), rtol=1e-3, atol=1e-2)
assert calls[0] == 9, calls
print("ok", lib.name, sorted(set(info.get("buckets", {}).values())))
"""


@pytest.mark.parametrize("first", ["torch", "chainrule"])
def test_torch_and_chainrule_in_one_process_either_order(first, tmp_path):
    if STANDIN is None and not B.present():
        pytest.skip("no CBLAS library to exercise")
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path),
               PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-c", _IMPORT_ORDER, first], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().startswith("ok"), out.stdout
