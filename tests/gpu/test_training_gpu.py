"""Layers, losses, optimizers, schedulers, clipping, pruning, dropout, batch norm, the fused
cross-entropy and the fused convolution on CUDA tensors, against the same thing on the CPU;
checkpoints, map_location, manual_seed reproducibility, pinned memory and the prefetcher."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

from ._helpers import close, host, on_gpu, twin_models

LAYERS = {
    "linear": (lambda: nn.Linear(6, 4), (5, 6)),
    "conv1d": (lambda: nn.Conv1d(3, 4, 3, stride=2, padding=1), (2, 3, 11)),
    "conv1d-1ch": (lambda: nn.Conv1d(1, 5, 5, stride=2, padding=1), (4, 1, 40)),
    "conv2d": (lambda: nn.Conv2d(3, 4, 3, padding=1, dilation=1), (2, 3, 7, 6)),
    "conv2d-strided": (lambda: nn.Conv2d(2, 3, (3, 2), stride=(2, 1), dilation=(1, 2)),
                       (2, 2, 9, 8)),
    "conv2d-groups": (lambda: nn.Conv2d(4, 4, 3, groups=2), (2, 4, 6, 6)),
    "maxpool2d": (lambda: nn.MaxPool2d(2), (2, 3, 6, 6)),
    "avgpool1d": (lambda: nn.AvgPool1d(3, stride=2), (2, 3, 9)),
    "batchnorm1d": (lambda: nn.BatchNorm1d(4), (6, 4)),
    "batchnorm2d": (lambda: nn.BatchNorm2d(3), (4, 3, 5, 5)),
    "layernorm": (lambda: nn.LayerNorm(6), (3, 6)),
    "embedding-free mlp": (lambda: nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3),
                                                 nn.Sigmoid()), (4, 6)),
}


@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_layer_forward_backward_on_cuda(name, dtype):
    build, shape = LAYERS[name]
    cpu, gpu = twin_models(build)
    if dtype == np.float64:
        cpu, gpu = cpu.double(), gpu.double()
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    xc = cr.tensor(x, requires_grad=True)
    xg = cr.tensor(x, requires_grad=True, device="cuda")
    yc, yg = cpu(xc), gpu(xg)
    assert on_gpu(yg)
    close(yg, yc, dtype, f"{name} forward")
    w = rng.standard_normal(yc.shape).astype(dtype)
    (yc * cr.tensor(w)).sum().backward()
    (yg * cr.tensor(w, device="cuda")).sum().backward()
    close(xg.grad, xc.grad, dtype, f"{name} input gradient")
    for (k, pc), (_, pg) in zip(cpu.named_parameters(), gpu.named_parameters()):
        assert on_gpu(pg.grad), k
        close(pg.grad, pc.grad, dtype, f"{name} {k} gradient")
    for (k, bc), (_, bg) in zip(cpu.named_buffers(), gpu.named_buffers()):
        close(bg, bc, dtype, f"{name} buffer {k}")


LOSSES = {
    "cross_entropy": lambda x, t, p: F.cross_entropy(x, t),
    "cross_entropy-ignore": lambda x, t, p: F.cross_entropy(x, t, ignore_index=1),
    "cross_entropy-smooth-weight": lambda x, t, p: F.cross_entropy(
        x, t, label_smoothing=0.1, weight=cr.ones(5, device=x.device, dtype=x.dtype)),
    "cross_entropy-sum": lambda x, t, p: F.cross_entropy(x, t, reduction="sum"),
    "cross_entropy-probs": lambda x, t, p: F.cross_entropy(x, p),
    "nll_loss": lambda x, t, p: F.nll_loss(F.log_softmax(x, dim=1), t),
    "mse_loss": lambda x, t, p: F.mse_loss(x, p),
    "l1_loss": lambda x, t, p: F.l1_loss(x, p),
    "bce_with_logits": lambda x, t, p: F.binary_cross_entropy_with_logits(x, p),
    "smooth_l1": lambda x, t, p: F.smooth_l1_loss(x, p),
}


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_on_cuda(name):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 5))
    t = rng.integers(0, 5, 6)
    p = rng.random((6, 5))
    p /= p.sum(1, keepdims=True)
    out = {}
    for dev in ("cpu", "cuda"):
        xs = cr.tensor(x, requires_grad=True, device=dev)
        loss = LOSSES[name](xs, cr.tensor(t, device=dev), cr.tensor(p, device=dev))
        loss.backward()
        out[dev] = (loss, xs.grad)
    assert on_gpu(out["cuda"][0]) and on_gpu(out["cuda"][1])
    close(out["cuda"][0], out["cpu"][0], np.float64, f"{name} value")
    close(out["cuda"][1], out["cpu"][1], np.float64, f"{name} gradient")


def test_bad_target_on_cuda_is_reported_at_the_next_item():
    x = cr.randn(3, 4, device="cuda")
    loss = F.cross_entropy(x, cr.tensor([0, 9, 1], device="cuda"))   # no sync, no error yet
    with pytest.raises(IndexError, match="out of bounds for 4 classes"):
        loss.item()


OPTIMIZERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=1e-2)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, maximize=True)),
    ("Adam", dict(lr=1e-2, amsgrad=True, weight_decay=1e-2)),
    ("AdamW", dict(lr=1e-2)),
    ("RMSprop", dict(lr=1e-2, momentum=0.5, centered=True)),
    ("Adagrad", dict(lr=1e-1, lr_decay=1e-2)),
    ("Adadelta", dict(lr=1.0)),
    ("NAdam", dict(lr=1e-2)),
]


def _mlp():
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))


@pytest.mark.parametrize("name,kwargs", OPTIMIZERS,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPTIMIZERS)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_optimizer_on_cuda_matches_cpu(name, kwargs, dtype):
    cpu, gpu = twin_models(_mlp)
    if dtype == np.float64:
        cpu, gpu = cpu.double(), gpu.double()
    opts = [getattr(cr.optim, name)(m.parameters(), **kwargs) for m in (cpu, gpu)]
    rng = np.random.default_rng(0)
    for _ in range(3):
        x, t = rng.standard_normal((5, 6)).astype(dtype), rng.integers(0, 3, 5)
        for m, opt, dev in ((cpu, opts[0], "cpu"), (gpu, opts[1], "cuda")):
            opt.zero_grad()
            F.cross_entropy(m(cr.tensor(x, device=dev)), cr.tensor(t, device=dev)).backward()
            opt.step()
    for (k, pc), (_, pg) in zip(cpu.named_parameters(), gpu.named_parameters()):
        assert on_gpu(pg), k
        close(pg, pc, dtype, f"{name} {k}", rtol=1e-4 if dtype == np.float32 else 1e-8,
              atol=1e-5 if dtype == np.float32 else 1e-10)
    for state in opts[1].state.values():
        for key, value in state.items():
            if hasattr(value, "shape") and getattr(value, "ndim", 0):
                assert on_gpu(value), f"{name}: state {key} not on the GPU"


@pytest.mark.parametrize("name", ["LBFGS", "NewtonCG"])
def test_second_order_optimizers_on_cuda(name):
    cpu, gpu = twin_models(lambda: nn.Linear(4, 2))
    cpu, gpu = cpu.double(), gpu.double()
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((8, 4)), rng.standard_normal((8, 2))
    losses = {}
    for m, dev in ((cpu, "cpu"), (gpu, "cuda")):
        opt = getattr(cr.optim, name)(m.parameters())
        xs, ys = cr.tensor(x, device=dev), cr.tensor(y, device=dev)

        def closure(m=m, xs=xs, ys=ys, opt=opt):
            opt.zero_grad()
            loss = F.mse_loss(m(xs), ys)
            if name == "LBFGS":           # NewtonCG differentiates the closure's loss itself
                loss.backward()
            return loss
        for _ in range(3):
            opt.step(closure)
        losses[dev] = closure().item()
    np.testing.assert_allclose(losses["cuda"], losses["cpu"], rtol=1e-7)
    for pc, pg in zip(cpu.parameters(), gpu.parameters()):
        assert on_gpu(pg)
        close(pg, pc, np.float64, name, rtol=1e-6, atol=1e-8)


def test_schedulers_clipping_and_pruning_on_cuda():
    cpu, gpu = twin_models(_mlp)
    results = {}
    for m, dev in ((cpu, "cpu"), (gpu, "cuda")):
        opt = cr.optim.SGD(m.parameters(), lr=0.5, momentum=0.9)
        sched = cr.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
        cr.nn.utils.prune.l1_unstructured(m[0], "weight", amount=0.3)
        rng = np.random.default_rng(2)
        norms = []
        for _ in range(4):
            x, t = rng.standard_normal((5, 6)).astype(np.float32), rng.integers(0, 3, 5)
            opt.zero_grad()
            F.cross_entropy(m(cr.tensor(x, device=dev)), cr.tensor(t, device=dev)).backward()
            norms.append(host(cr.nn.utils.clip_grad_norm_(m.parameters(), 0.1)))
            cr.nn.utils.clip_grad_value_(m.parameters(), 0.05)
            opt.step()
            sched.step()
        results[dev] = (norms, m)
    np.testing.assert_allclose(results["cuda"][0], results["cpu"][0], rtol=1e-4)
    for (k, a), (_, b) in zip(results["cpu"][1].state_dict().items(),
                              results["cuda"][1].state_dict().items()):
        close(b, a, np.float32, k, rtol=1e-4, atol=1e-5)


def test_dropout_on_cuda_draws_on_the_device_and_is_seeded():
    x = cr.ones(1000, device="cuda")
    cr.manual_seed(7)
    a = F.dropout(x, 0.5)
    cr.manual_seed(7)
    b = F.dropout(x, 0.5)
    assert on_gpu(a)
    np.testing.assert_array_equal(host(a), host(b))              # same seed, same device
    kept = host(a) != 0
    assert 0.4 < kept.mean() < 0.6 and np.all(host(a)[kept] == 2.0)


def test_manual_seed_reproduces_a_gpu_training_run():
    def run():
        cr.manual_seed(3)
        m = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
        m.to("cuda")
        opt = cr.optim.Adam(m.parameters(), lr=1e-2)
        x = cr.randn(32, 6, device="cuda")
        t = cr.randint(0, 3, (32,), device="cuda")
        for _ in range(5):
            opt.zero_grad()
            F.cross_entropy(m(x), t).backward()
            opt.step()
        return {k: host(v) for k, v in m.state_dict().items()}
    first, second = run(), run()
    for k in first:
        np.testing.assert_array_equal(first[k], second[k], err_msg=k)


def _safetensors_parts(path):
    """(header as parsed JSON, tensor bytes): the file's content, independent of the order in
    which the writer happens to emit the metadata keys (not fixed, even on the CPU)."""
    import json
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    header["__metadata__"] = {k: (json.loads(v) if k == "chainrule" else v)
                              for k, v in header.get("__metadata__", {}).items()}
    return header, raw[8 + n:]


def test_checkpoint_from_gpu_equals_cpu_and_map_location(tmp_path):
    cpu, gpu = twin_models(_mlp)
    cr.save(cpu.state_dict(), tmp_path / "cpu.safetensors")
    cr.save(gpu.state_dict(), tmp_path / "gpu.safetensors")
    assert _safetensors_parts(tmp_path / "cpu.safetensors") == \
        _safetensors_parts(tmp_path / "gpu.safetensors")
    onto_gpu = cr.load(tmp_path / "cpu.safetensors", map_location="cuda")
    assert all(on_gpu(v) for v in onto_gpu.values())
    onto_cpu = cr.load(tmp_path / "gpu.safetensors", map_location="cpu")
    assert not any(on_gpu(v) for v in onto_cpu.values())
    fresh = _mlp().to("cuda")
    fresh.load_state_dict(onto_cpu)                      # copied onto the parameters' device
    assert all(on_gpu(p) for p in fresh.parameters())
    for (k, a), (_, b) in zip(cpu.state_dict().items(), fresh.state_dict().items()):
        np.testing.assert_array_equal(host(b), host(a), err_msg=k)


def test_pinned_loader_and_prefetcher_give_the_same_batches():
    from chainrule.data import DataLoader, TensorDataset
    from chainrule.data.prefetch import DevicePrefetcher
    ds = TensorDataset(cr.arange(20.0).reshape(10, 2), cr.arange(10))
    plain = list(DataLoader(ds, batch_size=3))
    pinned = list(DataLoader(ds, batch_size=3, pin_memory=True))
    fetched = list(DevicePrefetcher(DataLoader(ds, batch_size=3, pin_memory=True), "cuda"))
    assert len(plain) == len(pinned) == len(fetched)
    for (a, b), (c, d), (e, f) in zip(plain, pinned, fetched):
        assert on_gpu(e) and on_gpu(f) and not on_gpu(c)
        for u, v, w in ((a, c, e), (b, d, f)):
            np.testing.assert_array_equal(host(u), host(v))
            np.testing.assert_array_equal(host(u), host(w))


def test_fit_on_cuda_uses_the_prefetcher_and_learns():
    from chainrule.data import DataLoader, TensorDataset
    from chainrule.train import fit
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 6)).astype(np.float32)
    t = (x[:, 0] > 0).astype(np.int64)
    cr.manual_seed(0)
    model = _mlp().to("cuda")
    history = fit(model, F.cross_entropy, cr.optim.SGD(model.parameters(), lr=0.5,
                                                       momentum=0.9),
                  DataLoader(TensorDataset(cr.tensor(x), cr.tensor(t)), batch_size=32,
                             shuffle=True), epochs=5, handle_sigint=False)
    assert history[-1]["train_running_loss"] < 0.3
    assert history[-1]["train_accuracy"] > 0.9
