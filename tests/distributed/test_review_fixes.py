"""Issue #15's review: a rank that exits or stalls inside DDP / SyncBatchNorm stops the job
within the deadline naming it; sys.exit on one rank aborts at once while a normal end exits 0;
ranks passing mismatched tensors get a clear error; bool all_reduce; DDP frees its hooks when
discarded and posts one step per synced backward (PyTorch's DDP semantics are checked in
ddp_worker.py)."""
from __future__ import annotations

import pytest

from .mpirun import run_mpi

FAST = {"CHAINRULE_DIST_TIMEOUT": "3", "CHAINRULE_DIST_QUIET": "1"}


def _aborted(result):
    assert not result.timed_out, result.explain()
    assert result.returncode != 0, result.explain()
    assert result.elapsed < 30, result.explain()
    return result.text


def test_sys_exit_on_one_rank_aborts_every_rank_at_once_naming_it():
    text = _aborted(run_mpi("""
        import sys, time, chainrule as cr, chainrule.distributed as dist
        dist.init()
        if dist.get_rank() == 1:
            time.sleep(0.3)
            sys.exit(2)
        dist.all_reduce(cr.ones(3))
        """, n=2, timeout=60, env={"CHAINRULE_DIST_TIMEOUT": "60"}))
    assert "rank 1 (after 0 collectives) exited" in text and "all_reduce" in text, text


def test_a_normal_end_on_every_rank_exits_zero():
    result = run_mpi("""
        import time, chainrule as cr, chainrule.distributed as dist
        from chainrule import nn
        from mpirun import emit
        dist.init()
        ddp = nn.parallel.DistributedDataParallel(nn.Linear(3, 2))
        ddp(cr.ones(4, 3)).sum().backward()
        if dist.get_rank() == 0:
            time.sleep(1)           # the others end first: nobody waits on them
        emit("done")
        """, n=2, timeout=60, env=FAST)
    assert result.returncode == 0 and result.outputs == ["done", "done"], result.explain()
    assert "exited" not in result.text, result.explain()


@pytest.mark.parametrize("where", ["ddp_backward", "sync_batchnorm"])
def test_a_rank_stalled_inside_ddp_or_sync_batchnorm_is_named_within_the_deadline(where):
    work = ("ddp(cr.ones(4, 3)).sum().backward()" if where == "ddp_backward"
            else "bn(cr.randn(4, 3))")
    text = _aborted(run_mpi(f"""
        import time, chainrule as cr, chainrule.distributed as dist
        from chainrule import nn
        dist.init()
        ddp = nn.parallel.DistributedDataParallel(nn.Linear(3, 2))
        bn = nn.SyncBatchNorm(3)
        for step in range(6):
            if dist.get_rank() == 1 and step == 3:
                time.sleep(60)
            {work}
        """, n=2, timeout=60, env=FAST))
    op = "DistributedDataParallel gradient allreduce" if where == "ddp_backward" else \
        "SyncBatchNorm allreduce"
    assert f"{op} (collective #" in text, text
    assert "Ranks behind (not waiting in any collective): rank 1" in text, text


def test_a_rank_that_ends_while_another_waits_in_ddp_is_named():
    text = _aborted(run_mpi("""
        import chainrule as cr, chainrule.distributed as dist
        from chainrule import nn
        dist.init()
        ddp = nn.parallel.DistributedDataParallel(nn.Linear(3, 1))
        if dist.get_rank() == 0:
            ddp(cr.ones(4, 3)).sum().backward()
        """, n=2, timeout=60, env={"CHAINRULE_DIST_TIMEOUT": "60"}))
    assert "rank 1 (after" in text and "DistributedDataParallel gradient allreduce" in text, text


def test_mismatched_tensors_are_a_clear_error_on_every_rank_and_bool_reduces_logically():
    result = run_mpi("""
        import numpy as np, chainrule as cr, chainrule.distributed as dist
        from chainrule import nn
        from mpirun import emit
        dist.init()
        r, out = dist.get_rank(), {}
        def attempt(name, fn):
            try:
                fn()
                out[name] = "no error"
            except ValueError as e:
                out[name] = str(e)
        attempt("shape", lambda: dist.all_reduce(cr.ones(3 if r == 0 else 4)))
        attempt("dtype", lambda: dist.broadcast(
            cr.ones(3, dtype=cr.float64 if r == 0 else cr.float32), 0))
        attempt("ddp", lambda: nn.parallel.DistributedDataParallel(
            nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2 if r == 0 else 4))))
        for op in ("SUM", "MAX", "MIN", "PRODUCT"):
            t = cr.tensor(np.array([True, r == 0, False]))
            dist.all_reduce(t, op=getattr(dist.ReduceOp, op))
            out[op] = t.tolist()
        x = cr.tensor([1.0, 2.0]) * (r + 1)
        dist.all_reduce(x)              # still works after the errors
        out["after"] = x.tolist()
        emit(out)
        """, n=2, timeout=60, env=FAST)
    assert result.returncode == 0, result.explain()
    for r, out in enumerate(result.outputs):
        assert "all_reduce: the ranks passed tensors of different shapes" in out["shape"], out
        assert "rank 0: shape (3,), dtype float32; rank 1: shape (4,)" in out["shape"], out
        assert "different dtypes" in out["dtype"] and "float64" in out["dtype"], out
        assert "parameter 1.weight differs across ranks" in out["ddp"], out
        assert out["SUM"] == out["MAX"] == [True, True, False], out
        assert out["MIN"] == out["PRODUCT"] == [True, False, False], out
        assert out["after"] == [3.0, 6.0], out


def test_a_discarded_ddp_removes_its_hooks_and_ddp_posts_one_step_per_backward():
    result = run_mpi("""
        import chainrule as cr, chainrule.distributed as dist
        from chainrule import nn
        from chainrule.autograd.hooks import leaf_hook_count
        from chainrule.distributed import faults
        from mpirun import emit
        dist.init()
        model = nn.Linear(3, 2)
        before = leaf_hook_count[0]
        ddp = nn.parallel.DistributedDataParallel(model)
        during = leaf_hook_count[0]
        sends = []
        real = faults.world.control
        class Counting:
            def __getattr__(self, name):
                return getattr(real(), name)
            def Isend(self, *a, **k):
                sends.append(k.get("tag"))
                return real().Isend(*a, **k)
        faults.world.control = lambda: Counting()
        for step in range(3):
            ddp(cr.ones(4, 3)).sum().backward()
            dist.post_step(step)        # as the Trainer does: the same step, no second post
        with cr.no_grad():
            ddp(cr.ones(4, 3))
        faults.world.control = real
        mine = faults._steps["mine"]
        del ddp                         # the model lives on; the DDP's hooks go with it
        emit({"before": before, "during": during, "after": leaf_hook_count[0],
              "step_sends": sends.count(faults.TAG_STEP), "mine": mine,
              "hooks": len(model.weight._hooks.post)})
        """, n=2, timeout=60, env=FAST)
    assert result.returncode == 0, result.explain()
    for r, out in enumerate(result.outputs):
        assert out["during"] == out["before"] + 2 and out["after"] == out["before"], out
        assert out["hooks"] == 0 and out["mine"] == 2, out
        assert out["step_sends"] == (3 if r == 1 else 0), out
