"""The CUDA paths under a strict CuPy stand-in (tests/fake_cupy_strict), without a GPU.

The stand-in refuses what real CuPy refuses — ``np.asarray`` on a device array, NumPy arrays
mixed into device operations — so a hidden host round trip that the loose stand-in of
tests/optim lets through fails here. In a subprocess (the stand-in replaces ``cupy`` for the
whole interpreter), a few tests of tests/gpu run for real: one training step of the MLP and of
the CNN under the transfer counter (nothing but the batch in and the logged loss out), the
counter noticing each kind of transfer, some op-table rows and comparisons on "CUDA" against
NumPy, and a bad cross-entropy target reported at the next ``.item()``.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STANDIN = ROOT / "tests" / "fake_cupy_strict"

SELECTED = [
    "tests/gpu/test_transfers_gpu.py::test_one_training_step_copies_only_the_batch_and_the_logged_loss[sgd-mlp]",
    "tests/gpu/test_transfers_gpu.py::test_one_training_step_copies_only_the_batch_and_the_logged_loss[adamw-cnn1d]",
    "tests/gpu/test_transfers_gpu.py::test_one_training_step_copies_only_the_batch_and_the_logged_loss[sgd-cnn2d-bn]",
    "tests/gpu/test_transfers_gpu.py::test_the_counter_sees_each_kind_of_transfer",
    "tests/gpu/test_training_gpu.py::test_bad_target_on_cuda_is_reported_at_the_next_item",
]
OP_ROWS = ("relu or matmul or cross_entropy_gradgrad or take_along_dim or gather or topk "
           "or non_differentiable")
KEEP = f"copies_only or counter_sees or bad_target or {OP_ROWS}"   # -k filters every item


def _run(args, timeout=120):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(STANDIN), str(ROOT / "src"),
                                                       str(ROOT)]))
    env.pop("CHAINRULE_GPU_SHARD", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                           "-p", "no:randomly", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_the_standin_is_strict_like_cupy():
    """It refuses host conversions and host operands (else the tests below prove nothing)."""
    code = ("import numpy as np, cupy\n"
            "a = cupy.arange(3.0)\n"
            "for bad in (lambda: np.asarray(a), lambda: a + np.ones(3),\n"
            "            lambda: cupy.maximum(a, np.ones(3))):\n"
            "    try:\n"
            "        bad()\n"
            "    except TypeError:\n"
            "        continue\n"
            "    raise SystemExit('accepted a host array')\n"
            "assert float((a * 2).sum()) == 6.0 and a.get().tolist() == [0.0, 1.0, 2.0]\n")
    env = dict(os.environ, PYTHONPATH=str(STANDIN))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_training_steps_op_rows_and_deferred_checks_under_the_strict_standin():
    done = _run([*SELECTED, "tests/gpu/test_op_table_gpu.py", "-k", KEEP])
    out = done.stdout[-6000:] + done.stderr[-3000:]
    assert done.returncode == 0, out
    last = done.stdout.strip().splitlines()[-1]
    passed = int(last.split(" passed")[0].split()[-1])
    assert passed >= len(SELECTED) + 40 and "skipped" not in last, out
