"""DistributedDataParallel and SyncBatchNorm on 2 and 3 MPI ranks (tests/distributed/ddp_worker.py
runs every scenario once per world size and reports each), plus one-process SyncBatchNorm checks
against PyTorch. The small mpiexec runner here is to be replaced by tests/distributed/mpirun.py."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import chainrule as cr

HERE = Path(__file__).resolve().parent
SRC = HERE.parent.parent / "src"
WORKER = HERE / "ddp_worker.py"
SCENARIOS = [
    "equivalence_sgd_float64", "equivalence_adam_float64_clipped",
    "equivalence_sgd_float32_clipped", "equivalence_adam_float32",
    "sync_batchnorm_matches_batchnorm_on_the_global_batch",
    "sync_batchnorm_uneven_batches_with_a_global_divisor",
    "sync_batchnorm_output_and_input_gradient_match_batchnorm",
    "construction_broadcasts_rank0s_parameters_and_buffers",
    "state_dict_keys_carry_the_module_prefix", "no_sync_accumulates_locally_then_reduces_the_sum",
    "an_unused_parameter_is_a_clear_error_by_default",
    "find_unused_parameters_true_contributes_zeros",
    "one_parameter_buckets_are_summed_in_place_shared_ones_through_the_buffer",
    "buckets_start_before_backward_ends_in_reverse_order",
    "a_no_grad_or_no_sync_forward_before_backward_keeps_the_sync",
    "buffers_are_broadcast_before_a_forward_exactly_when_pytorch_does",
]


def _mpiexec() -> str | None:
    here = Path(sys.executable).with_name("mpiexec")
    return str(here) if here.exists() else shutil.which("mpiexec")


def run_under_mpiexec(n: int, script: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``script`` on ``n`` ranks with this interpreter and this checkout's sources."""
    mpiexec = _mpiexec()
    if mpiexec is None:
        pytest.skip("mpiexec not found (install chainrule[distributed])")
    pytest.importorskip("mpi4py")
    env = dict(os.environ, PYTHONPATH=f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    try:
        return subprocess.run([mpiexec, "-n", str(n), sys.executable, str(script), *args],
                              env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{script.name} on {n} ranks did not finish in {timeout} s (a hang?)\n"
                    f"stdout: {e.stdout}\nstderr: {e.stderr}")


_results: dict = {}


def _results_for(n: int) -> dict:
    if n not in _results:
        proc = run_under_mpiexec(n, WORKER)
        got = {}
        for line in proc.stdout.splitlines():
            if line.startswith("{"):
                r = json.loads(line)
                got[r["name"]] = r
        _results[n] = (got, proc)
    return _results[n]


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario(n, name):
    got, proc = _results_for(n)
    if name not in got:
        pytest.fail(f"{name} did not report on {n} ranks (rc {proc.returncode})\n"
                    f"stdout: {proc.stdout[-3000:]}\nstderr: {proc.stderr[-3000:]}")
    assert got[name]["ok"], got[name]["error"][-4000:]


@pytest.mark.parametrize("n", [2, 3])
def test_every_scenario_is_listed_here(n):
    got, proc = _results_for(n)
    assert sorted(got) == sorted(SCENARIOS), proc.stderr[-2000:]


# -- one process: SyncBatchNorm is BatchNorm ---------------------------------------------------
def _to_torch(mod_cr, mod_t):
    sd = {k: torch.from_numpy(np.array(v._data)) for k, v in mod_cr.state_dict().items()}
    mod_t.load_state_dict(sd)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (3, 3, 2, 2)])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_one_process_sync_batchnorm_matches_torch_batchnorm(shape, momentum):
    rng = np.random.default_rng(0)
    ours = cr.nn.SyncBatchNorm(3, momentum=momentum).double()
    theirs = torch.nn.SyncBatchNorm(3, momentum=momentum).double()
    ref = {2: torch.nn.BatchNorm1d, 3: torch.nn.BatchNorm1d, 4: torch.nn.BatchNorm2d}[len(shape)](
        3, momentum=momentum).double()      # torch's SyncBatchNorm needs a process group to train
    ours.weight._data[:] = rng.standard_normal(3)
    ours.bias._data[:] = rng.standard_normal(3)
    _to_torch(ours, theirs)
    _to_torch(ours, ref)
    for step in range(3):
        x = rng.standard_normal(shape)
        g = rng.standard_normal(shape)
        xc = cr.tensor(x, requires_grad=True)
        xt = torch.tensor(x, requires_grad=True)
        yc, yt = ours(xc), ref(xt)
        (yc * cr.tensor(g)).sum().backward()
        (yt * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(yc._data, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(xc.grad._data, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours.weight.grad._data, ref.weight.grad.numpy(), rtol=1e-10)
    for k, v in ref.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k]._data, v.numpy(), rtol=1e-12, err_msg=k)
    ours.eval(), theirs.eval()
    x = rng.standard_normal(shape)
    _to_torch(ours, theirs)
    np.testing.assert_allclose(ours(cr.tensor(x))._data,
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12)


def test_convert_sync_batchnorm_replaces_batchnorms_and_shares_their_state():
    def build(nn):
        return nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3),
                             nn.Sequential(nn.Conv2d(3, 2, 1), nn.BatchNorm2d(2, momentum=0.3)))
    ours, theirs = build(cr.nn), build(torch.nn)
    old_bn = ours[1]
    conv = cr.nn.SyncBatchNorm.convert_sync_batchnorm(ours)
    tconv = torch.nn.SyncBatchNorm.convert_sync_batchnorm(theirs)
    assert conv is ours
    assert [type(m).__name__ for m in conv.modules()] == [type(m).__name__ for m in tconv.modules()]
    assert list(conv.state_dict()) == list(tconv.state_dict())
    assert conv[1].weight is old_bn.weight and conv[1].running_mean is old_bn.running_mean
    assert conv[2][1].momentum == 0.3
    single = cr.nn.SyncBatchNorm.convert_sync_batchnorm(cr.nn.BatchNorm1d(5))
    assert isinstance(single, cr.nn.SyncBatchNorm)


def test_sync_batchnorm_rejects_bad_input_clearly():
    bn = cr.nn.SyncBatchNorm(3)
    with pytest.raises(ValueError, match="expected 3 channels"):
        bn(cr.ones(4, 2))
    with pytest.raises(ValueError, match="at least 2D"):
        bn(cr.ones(4))


def test_the_pytorch_import_paths():
    from chainrule.nn.parallel import DistributedDataParallel
    assert DistributedDataParallel is cr.distributed.DistributedDataParallel
    assert cr.nn.SyncBatchNorm is cr.distributed.SyncBatchNorm


def test_ddp_rejects_bad_arguments_before_touching_mpi():
    DDP = cr.distributed.DistributedDataParallel
    with pytest.raises(TypeError, match="expected a chainrule.nn.Module, got str"):
        DDP("model")
    with pytest.raises(ValueError, match="bucket_cap_mb must be positive"):
        DDP(cr.nn.Linear(2, 2), bucket_cap_mb=0)
    with pytest.raises(ValueError, match="process_group is not supported"):
        DDP(cr.nn.Linear(2, 2), process_group=object())
