"""Issue #15's second review of fit / ``chainrule train`` under mpiexec: Ctrl-C agreed at epoch
boundaries, a DistributedSampler's loader kept per rank, BatchNorm synced by fit, gradient health
read after DDP's reduction, weighted-mean losses by their own normaliser, ddp_kwargs, the step
seed that leaves the global stream alone, and only rank 0 writing."""
from __future__ import annotations

import json

import numpy as np
import pytest

from .mpirun import require_mpiexec, run_mpi
from .train_worker import max_param_diff, run_fit


@pytest.fixture(autouse=True)
def _default_dtype():
    import chainrule as cr
    old = cr.get_default_dtype()
    yield
    cr.set_default_dtype(old)


SIGINT = """
import os, signal, sys
import numpy as np
import chainrule as cr
from chainrule import nn
import chainrule.distributed as dist
from chainrule.data import DataLoader, TensorDataset
from chainrule.train import Trainer, LambdaCallback
from mpirun import emit
dist.init()
cr.manual_seed(0)
x = np.random.default_rng(0).standard_normal((64, 6)).astype(np.float32)
y = (x[:, 0] > 0).astype(np.int64)
model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2))
opt = cr.optim.SGD(model.parameters(), lr=0.1)
where = sys.argv[1]
def epoch_end(trainer, epoch, logs):     # Ctrl-C reaching rank 0 after the epoch's last step
    if where == "epoch_end" and dist.get_rank() == 0 and epoch == 1:
        os.kill(os.getpid(), signal.SIGINT)
def batch_end(trainer, batch, logs):     # ... or in the middle of epoch 2
    if where == "mid_epoch" and dist.get_rank() == 0 and trainer.global_step == 10:
        os.kill(os.getpid(), signal.SIGINT)
tr = Trainer(model, nn.CrossEntropyLoss(), opt,
             callbacks=[LambdaCallback(on_epoch_end=epoch_end, on_batch_end=batch_end)])
h = tr.fit(DataLoader(TensorDataset(cr.tensor(x), cr.tensor(y)), batch_size=8, shuffle=True),
           epochs=3)
emit({"interrupted": tr.interrupted, "epochs": len(h), "step": tr.global_step})
"""


@pytest.mark.parametrize("where, epochs, step", [("epoch_end", 1, 8), ("mid_epoch", 1, 11)])
def test_ctrl_c_on_rank_0_stops_every_rank(where, epochs, step):
    """SIGINT on rank 0 after an epoch's last step (the per-step flag has gone by) or mid-epoch:
    every rank stops at the same point instead of rank 1 waiting forever in the next epoch."""
    require_mpiexec()
    result = run_mpi(SIGINT, n=2, timeout=60, args=(where,), env={"CHAINRULE_DIST_TIMEOUT": "20"})
    assert result.returncode == 0 and not result.timed_out, result.explain()
    assert result.outputs == [{"interrupted": True, "epochs": epochs, "step": step}] * 2, \
        result.outputs


WCE = """
import sys, json
import numpy as np
import chainrule as cr
from chainrule import nn
from chainrule.data import DataLoader, TensorDataset
from chainrule.train import Trainer
from mpirun import emit
cr.set_default_dtype(np.float64); cr.manual_seed(0)
rng = np.random.default_rng(0)
x = rng.standard_normal((48, 6)); y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 1)
if sys.argv[1] == "ignore":
    y[::5] = -100
model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
opt = cr.optim.SGD(model.parameters(), lr=0.1)
loss = nn.CrossEntropyLoss(weight=cr.tensor([1.0, 5.0, 0.2]))
tr = Trainer(model, loss, opt, handle_sigint=False, metrics=None)
h = tr.fit(DataLoader(TensorDataset(cr.tensor(x), cr.tensor(y)), batch_size=12), epochs=2,
           val_loader=DataLoader(TensorDataset(cr.tensor(x[:9]), cr.tensor(y[:9])), batch_size=7))
emit({"params": {k: v.detach().numpy().tolist() for k, v in model.state_dict().items()},
      "history": [{k: v for k, v in r.items() if "second" not in k} for r in h]})
"""


@pytest.mark.parametrize("kind", ["weight", "ignore"])
def test_weighted_mean_losses_equal_one_process(kind):
    """CrossEntropyLoss(weight=...) (and ignore_index targets) divides by Σ w[t], not by the
    sample count: fit sums each rank's loss sum and normaliser, so 2 and 3 ranks give one
    process's parameters and losses."""
    require_mpiexec()
    one = run_mpi(WCE, n=1, timeout=60, args=(kind,))
    assert one.returncode == 0, one.explain()
    ref = one.outputs[0]
    for n in (2, 3):
        result = run_mpi(WCE, n=n, timeout=60, args=(kind,), env={"CHAINRULE_DIST_QUIET": "1"})
        assert result.returncode == 0, result.explain()
        for out in result.outputs:
            assert max_param_diff(ref["params"], out["params"]) < 1e-12
            for mine, r in zip(out["history"], ref["history"]):
                for key in ("train_running_loss", "train_loss", "val_loss"):
                    assert mine[key] == pytest.approx(r[key], rel=1e-12), (n, key)


def test_loss_sum_and_denominator_matches_torch_mean():
    import torch
    import chainrule as cr
    from chainrule import nn
    rng = np.random.default_rng(1)
    x, t = rng.standard_normal((9, 4)), np.array([0, 1, 3, -100, 2, 2, 1, -100, 0])
    w = np.array([0.5, 2.0, 1.0, 3.0])
    for mine, theirs in ((nn.CrossEntropyLoss(weight=cr.tensor(w), label_smoothing=0.1),
                          torch.nn.CrossEntropyLoss(weight=torch.tensor(w), label_smoothing=0.1)),
                         (nn.NLLLoss(weight=cr.tensor(w)), torch.nn.NLLLoss(weight=torch.tensor(w))),
                         (nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss())):
        s, d = mine.sum_and_denominator(cr.tensor(x), cr.tensor(t))
        assert s.item() / d == pytest.approx(theirs(torch.tensor(x), torch.tensor(t)).item(),
                                             rel=1e-12)
        assert mine.reduction == "mean"


BN = """
import sys, json
from train_worker import run_fit
from mpirun import emit
emit(run_fit(**json.loads(sys.argv[1])))
"""


@pytest.mark.parametrize("n", [2, 3])
def test_batch_norm_in_fit_is_synced_and_equals_one_process(n):
    """fit turns BatchNorm into SyncBatchNorm for the run (and back after): 2 and 3 ranks equal
    one process in float64, with a last global batch of 2 (on 3 ranks one rank holds none: its
    stand-in row adds nothing to the sums and counts and gets a zero gradient)."""
    require_mpiexec()
    kwargs = {"n": 66, "batch_norm": True, "epochs": 2}
    ref = run_fit(**kwargs)
    result = run_mpi(BN, n=n, timeout=90, args=(json.dumps(kwargs),),
                     env={"CHAINRULE_DIST_QUIET": "1"})
    assert result.returncode == 0, result.explain()
    for out in result.outputs:
        assert max_param_diff(ref["params"], out["params"]) < 1e-10, n
        assert out["modules"] == ref["modules"] and "BatchNorm1d" in ref["modules"]
        for mine, one in zip(out["history"], ref["history"]):
            for key in ("train_loss", "val_loss"):
                assert mine[key] == pytest.approx(one[key], rel=1e-12), key


def test_dropout_masks_do_not_depend_on_the_world():
    """With dropout on, 2 ranks reach one process's parameters, and dropout matters (a run
    without it ends elsewhere), so the agreement is not vacuous."""
    require_mpiexec()
    with_dropout, without = run_fit(epochs=1), run_fit(epochs=1, dropout=0.0)
    assert max_param_diff(with_dropout["params"], without["params"]) > 1e-3
    result = run_mpi(BN, n=2, timeout=60, args=(json.dumps({"epochs": 1}),),
                     env={"CHAINRULE_DIST_QUIET": "1"})
    assert result.returncode == 0, result.explain()
    for out in result.outputs:
        assert max_param_diff(with_dropout["params"], out["params"]) < 1e-10


SAMPLER = """
import numpy as np
import chainrule as cr
from chainrule import nn
import chainrule.distributed as dist
from chainrule.data import DataLoader, TensorDataset
from chainrule.utils.data.distributed import DistributedSampler
from chainrule.train import Trainer, LambdaCallback
from mpirun import emit
dist.init()
cr.set_default_dtype(np.float64)
x = np.random.default_rng(0).standard_normal((64, 6)); y = (x[:, 0] > 0).astype(np.int64)
data = TensorDataset(cr.tensor(x), cr.tensor(y))
def build():
    cr.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 2))
    return m, cr.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
sizes = []
model, opt = build()
sampler = DistributedSampler(data, shuffle=False)
tr = Trainer(model, nn.CrossEntropyLoss(), opt, handle_sigint=False, eval_train=False,
             callbacks=[LambdaCallback(on_batch_end=lambda t, b, logs: sizes.append(logs["size"]))])
tr.fit(DataLoader(data, batch_size=8, sampler=sampler), epochs=1)
# the torch idiom by hand: DDP + the same sampler, per-rank batch 8
ref, ref_opt = build()
ddp = nn.parallel.DistributedDataParallel(ref)
for xb, yb in DataLoader(data, batch_size=8, sampler=DistributedSampler(data, shuffle=False)):
    ref_opt.zero_grad()
    nn.CrossEntropyLoss()(ddp(xb), yb).backward()
    ref_opt.step()
diff = max(float(np.abs(a.detach().numpy() - b.detach().numpy()).max())
           for a, b in zip(model.parameters(), ref.parameters()))
emit({"sizes": sizes, "diff": diff})
"""


def test_a_distributed_sampler_loader_is_not_sharded_again():
    """A loader with a DistributedSampler is already per rank: fit keeps each rank's batch of 8
    (global batch 16, 4 steps over 64 samples) and equals the DDP + DistributedSampler loop."""
    require_mpiexec()
    result = run_mpi(SAMPLER, n=2, timeout=60, env={"CHAINRULE_DIST_QUIET": "1"})
    assert result.returncode == 0, result.explain()
    for out in result.outputs:
        assert out["sizes"] == [16, 16, 16, 16]
        assert out["diff"] < 1e-12


UNUSED = """
import sys
import numpy as np
import chainrule as cr
from chainrule import nn
from chainrule.data import DataLoader, TensorDataset
from chainrule.train import fit
from mpirun import emit
class Net(nn.Module):
    def __init__(self):
        super().__init__(); self.body = nn.Linear(6, 2); self.aux = nn.Linear(6, 2)
    def forward(self, x): return self.body(x)
cr.manual_seed(0)
x = np.random.default_rng(0).standard_normal((32, 6)).astype(np.float32)
y = (x[:, 0] > 0).astype(np.int64)
m = Net()
kwargs = {"ddp_kwargs": {"find_unused_parameters": True}} if sys.argv[1] == "yes" else {}
h = fit(m, nn.CrossEntropyLoss(), cr.optim.SGD(m.parameters(), lr=0.1),
        DataLoader(TensorDataset(cr.tensor(x), cr.tensor(y)), batch_size=8), epochs=1,
        handle_sigint=False, **kwargs)
emit(h[-1]["train_loss"])
"""


def test_unused_parameters_pass_through_ddp_kwargs():
    require_mpiexec()
    ok = run_mpi(UNUSED, n=2, timeout=60, args=("yes",), env={"CHAINRULE_DIST_QUIET": "1"})
    assert ok.returncode == 0 and ok.outputs[0] == ok.outputs[1] is not None, ok.explain()
    bad = run_mpi(UNUSED, n=2, timeout=60, args=("no",), env={"CHAINRULE_DIST_QUIET": "1"})
    assert bad.returncode != 0 and "ddp_kwargs={'find_unused_parameters': True}" in bad.text


def test_fit_on_a_list_leaves_the_global_random_stream_alone():
    import chainrule as cr
    from chainrule import nn
    from chainrule.train import fit
    cr.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((32, 6)).astype(np.float32)
    batches = [(cr.tensor(x[i:i + 8]), cr.tensor((x[i:i + 8, 0] > 0).astype(np.int64)))
               for i in range(0, 32, 8)]
    model = nn.Sequential(nn.Linear(6, 8), nn.Dropout(0.2), nn.Linear(8, 2))
    state = cr.get_rng_state()
    expected = (cr.set_rng_state(state), cr.rand(3).numpy())[1]
    cr.set_rng_state(state)
    fit(model, nn.CrossEntropyLoss(), cr.optim.SGD(model.parameters(), lr=0.1), batches,
        epochs=1, handle_sigint=False, eval_train=False)
    assert np.array_equal(cr.rand(3).numpy(), expected)


CLI = """
import builtins, os, sys
from mpirun import emit
out = os.path.abspath(sys.argv[sys.argv.index("--out") + 1])
written = []
def note(path, writing):
    p = os.path.abspath(os.fspath(path)) if isinstance(path, (str, bytes, os.PathLike)) else ""
    if writing and p.startswith(out):
        written.append(p)
real_open, real_os_open, real_replace = builtins.open, os.open, os.replace
def open_(file, mode="r", *a, **k):
    note(file, any(c in mode for c in "wax+"))
    return real_open(file, mode, *a, **k)
def os_open(path, flags, *a, **k):
    note(path, bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)))
    return real_os_open(path, flags, *a, **k)
def replace(src, dst, *a, **k):
    note(dst, True)
    return real_replace(src, dst, *a, **k)
builtins.open, os.open, os.replace = open_, os_open, replace
from chainrule.cli import main
code = main(sys.argv[1:])
emit({"written": written})
sys.exit(code)
"""


def _health_grad_norms(path) -> list:
    found = []

    def walk(node, key=""):
        if isinstance(node, dict):
            for k in sorted(node):
                walk(node[k], k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif key in ("grad_norm", "bias_grad_norm") and isinstance(node, float):
            found.append(node)
    walk(json.loads(path.read_text()))
    return found


def test_cli_batch_norm_and_health_on_two_ranks_equal_one_process(tmp_path):
    """chainrule train --batch-norm --health on 2 ranks: the weights and the
    health.json gradient norms of one process (float64, 1e-10), and rank 1 writes nothing."""
    require_mpiexec()
    from safetensors.numpy import load_file

    def args(out):
        return ["train", "--dataset", "digits", "--epochs", "1", "--dtype", "float64",
                "--hidden", "16", "--batch-norm", "--lr-schedule", "none",
                "--quiet", "--out", str(out)]
    runs = {}
    for n in (1, 2):
        out = tmp_path / f"n{n}"
        result = run_mpi(CLI, n=n, timeout=150, args=tuple(args(out)),
                         env={"CHAINRULE_DIST_QUIET": "1"})
        if "dataset" in result.text and result.returncode != 0 and "not found" in result.text:
            pytest.skip("digits data set missing")
        assert result.returncode == 0, result.explain()
        runs[n] = out
        if n == 2:
            assert result.outputs[0]["written"], "rank 0 wrote nothing?"
            assert result.outputs[1]["written"] == [], result.outputs[1]
    w1, w2 = (load_file(str(runs[n] / "model.safetensors")) for n in (1, 2))
    keys = [k for k in w1 if k.startswith("model")]
    # the Linear bias before a BatchNorm has a gradient of 0 up to rounding (the norm removes
    # the mean), so it and the running mean it shifts agree to rounding noise only: 1e-9
    assert keys and max(float(np.abs(w1[k] - w2[k]).max()) for k in keys) < 1e-9
    g1, g2 = (_health_grad_norms(runs[n] / "health.json") for n in (1, 2))
    assert g1 and len(g1) == len(g2)
    assert np.allclose(g1, g2, rtol=1e-10, atol=1e-12)   # atol: the ~0 bias before the norm
