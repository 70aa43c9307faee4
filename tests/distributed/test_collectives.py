"""Collectives against NumPy references, on 2 and 3 ranks under the venv's mpiexec."""
from __future__ import annotations

import inspect
import subprocess
import sys

import numpy as np
import pytest

from .mpirun import SRC, run_mpi

DTYPES = ["float32", "float64", "int64"]
OPS = ["SUM", "MAX", "MIN", "AVG", "PRODUCT"]


def value(rank: int, dtype: str) -> np.ndarray:
    """Rank ``rank``'s input: small integers (exact in every dtype), different on each rank."""
    base = np.arange(12).reshape(3, 4)
    return ((base * (rank + 1)) % 7 - 3 * rank).astype(dtype)


SCRIPT = """
import numpy as np
import chainrule
import chainrule.distributed as dist
from mpirun import emit

dist.init_process_group(backend="mpi")
r, n = dist.get_rank(), dist.get_world_size()
out = {"rank": r, "size": n, "backend": dist.get_backend()}
for dtype in DTYPES:
    for op in OPS:
        t = chainrule.tensor(value(r, dtype))
        try:
            dist.all_reduce(t, op=getattr(dist.ReduceOp, op))
            out[f"all_reduce/{op}/{dtype}"] = [np.dtype(t.dtype).name, t.numpy().tolist()]
        except ValueError as e:
            out[f"all_reduce/{op}/{dtype}"] = ["error", str(e)]
    t = chainrule.tensor(value(r, dtype))
    dist.broadcast(t, src=n - 1)
    out[f"broadcast/{dtype}"] = t.numpy().tolist()
    parts = [chainrule.zeros(3, 4, dtype=getattr(chainrule, dtype)) for _ in range(n)]
    dist.all_gather(parts, chainrule.tensor(value(r, dtype)))
    out[f"all_gather/{dtype}"] = [p.numpy().tolist() for p in parts]
    t = chainrule.tensor(value(r, dtype))
    dist.reduce(t, dst=1, op=dist.ReduceOp.SUM)
    out[f"reduce/{dtype}"] = t.numpy().tolist()

# a strided (transposed) tensor, an async all_reduce, a raw NumPy array
t = chainrule.tensor(value(r, "float64")).t()
dist.all_reduce(t)
out["strided"] = t.numpy().tolist()
t = chainrule.tensor(value(r, "float32"))
work = dist.all_reduce(t, op=dist.ReduceOp.MAX, async_op=True)
out["async"] = [work.wait(), work.is_completed(), t.numpy().tolist()]
a = value(r, "float64")
dist.all_reduce(a)
out["numpy"] = a.tolist()
big = chainrule.zeros(2 * n, 4, dtype=chainrule.float32)
dist.all_gather_into_tensor(big, chainrule.tensor(value(r, "float32")[:2]))
out["all_gather_into_tensor"] = big.numpy().tolist()
if r == 0:
    parts = [chainrule.zeros(3, 4) for _ in range(n)]
    dist.gather(chainrule.tensor(value(r, "float32")), parts, dst=0)
    out["gather"] = [p.numpy().tolist() for p in parts]
else:
    dist.gather(chainrule.tensor(value(r, "float32")), dst=0)
got = chainrule.zeros(3, 4, dtype=chainrule.float64)
dist.scatter(got, [chainrule.tensor(value(k, "float64")) for k in range(n)] if r == 1 else None,
             src=1)
out["scatter"] = got.numpy().tolist()
dist.barrier()
for bad in ("src=n", "dst=-1"):
    try:
        dist.broadcast(chainrule.zeros(2), src=n) if bad == "src=n" else \\
            dist.reduce(chainrule.zeros(2), dst=-1)
    except ValueError as e:
        out[bad] = str(e)
emit(out)
dist.destroy_process_group()
"""


def reference(op: str, dtype: str, n: int) -> np.ndarray:
    xs = np.stack([value(r, dtype) for r in range(n)])
    return {"SUM": xs.sum(0), "MAX": xs.max(0), "MIN": xs.min(0), "PRODUCT": xs.prod(0),
            "AVG": xs.sum(0) / n if dtype != "int64" else None}[op]


@pytest.fixture(scope="module", params=[2, 3], ids=["2ranks", "3ranks"])
def world(request):
    prelude = f"import numpy as np\nDTYPES, OPS = {DTYPES!r}, {OPS!r}\n{inspect.getsource(value)}"
    result = run_mpi(prelude + SCRIPT, n=request.param, timeout=60)
    assert result.returncode == 0, result.explain()
    return request.param, result.outputs


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", OPS)
def test_all_reduce(world, op, dtype):
    n, outs = world
    want = reference(op, dtype, n)
    for out in outs:
        got_dtype, got = out[f"all_reduce/{op}/{dtype}"]
        if want is None:
            assert got_dtype == "error" and "AVG" in got and "int64" in got
            continue
        assert got_dtype.removeprefix("chainrule.") == dtype  # dtypes print as chainrule.X
        np.testing.assert_allclose(np.array(got), want, rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_broadcast_gather_reduce(world, dtype):
    n, outs = world
    for r, out in enumerate(outs):
        assert out["rank"] == r and out["size"] == n and out["backend"] == "mpi"
        np.testing.assert_array_equal(out[f"broadcast/{dtype}"], value(n - 1, dtype))
        np.testing.assert_array_equal(out[f"all_gather/{dtype}"],
                                      [value(k, dtype) for k in range(n)])
        want = reference("SUM", dtype, n) if r == 1 else value(r, dtype)
        np.testing.assert_array_equal(out[f"reduce/{dtype}"], want)


def test_strided_async_numpy_and_the_rest(world):
    n, outs = world
    for r, out in enumerate(outs):
        np.testing.assert_array_equal(out["strided"], reference("SUM", "float64", n).T)
        assert out["async"][:2] == [True, True]
        np.testing.assert_array_equal(out["async"][2], reference("MAX", "float32", n))
        np.testing.assert_array_equal(out["numpy"], reference("SUM", "float64", n))
        np.testing.assert_array_equal(out["all_gather_into_tensor"],
                                      np.concatenate([value(k, "float32")[:2] for k in range(n)]))
        np.testing.assert_array_equal(out["scatter"], value(r, "float64"))
        assert f"src={n} is not a rank" in out["src=n"] and "dst=-1" in out["dst=-1"]
    np.testing.assert_array_equal(outs[0]["gather"], [value(k, "float32") for k in range(n)])


def test_one_process_without_mpiexec():
    pytest.importorskip("mpi4py")
    code = """
import datetime, chainrule, chainrule.distributed as dist
assert dist.is_available() and not dist.is_initialized()
for bad, match in ((dict(backend="nccl"), "MPI only"), (dict(world_size=2), "world_size=2"),
                   (dict(rank=1), "rank=1")):
    try:
        dist.init_process_group(**bad)
    except ValueError as e:
        assert match in str(e), e
    else:
        raise AssertionError(bad)
    dist.destroy_process_group()
dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=12))
assert dist.get_timeout() == 12 and (dist.get_rank(), dist.get_world_size()) == (0, 1)
try:
    dist.init_process_group()
except RuntimeError as e:
    assert "already" in str(e)
dist.init()  # idempotent
t = chainrule.tensor([1.5, -2.0])
dist.all_reduce(t, op=dist.ReduceOp.AVG)
assert t.tolist() == [1.5, -2.0]
dist.post_step(3)
assert dist.faults.last_steps() == {0: 3}
dist.destroy_process_group()
assert not dist.is_initialized()
print("ok")
"""
    env = {"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=env)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr
