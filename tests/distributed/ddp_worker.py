"""Run under ``mpiexec -n N``: each scenario checks DistributedDataParallel / SyncBatchNorm on N
ranks against one process training on the global batch (which every rank also computes, so
no torch import and no second launch is needed). Prints one JSON line per scenario from rank 0:
{"name", "ok", "error"}; a scenario's failure on any rank fails it.
"""
from __future__ import annotations

import faulthandler
import json
import sys
import traceback

import numpy as np

import chainrule as cr
import chainrule.distributed as dist
from chainrule import nn

dist.init()
faulthandler.dump_traceback_later(50, exit=True)
COMM = dist.world.comm()
RANK, SIZE = dist.get_rank(), dist.get_world_size()
STEPS = 20


class WithExtra(nn.Module):
    """A body and a head ``extra`` that forward uses only while ``use_extra`` is set."""

    def __init__(self, body):
        super().__init__()
        self.body, self.extra, self.use_extra = body, nn.Linear(3, 2), False

    def forward(self, x):
        h = self.body(x)
        return self.extra(h) if self.use_extra else h


def mlp(seed: int, dtype, bn: bool = False, extra: bool = False) -> nn.Module:
    cr.manual_seed(seed)
    layers = [nn.Linear(5, 8)]
    if bn:
        layers.append(nn.BatchNorm1d(8))
    layers += [nn.Tanh(), nn.Linear(8, 3)]
    m = nn.Sequential(*layers)
    if extra:
        m = WithExtra(m)
    return m.double() if dtype == np.float64 else m


def batches(dtype, sizes, steps=STEPS, seed=123):
    """Per step the global batch (x, y) of sum(sizes) rows; rank r's rows are its slice."""
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    for _ in range(steps):
        yield rng.standard_normal((n, 5)).astype(dtype), rng.standard_normal((n, 3)).astype(dtype)


def local(a, sizes):
    start = sum(sizes[:RANK])
    return a[start:start + sizes[RANK]]


def params_of(model):
    return {k: v._data.copy() for k, v in model.state_dict().items()}


def assert_close(a: dict, b: dict, tol: float, what: str):
    assert a.keys() == b.keys(), (what, sorted(a), sorted(b))
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=tol, atol=tol, err_msg=f"{what}: {k}")


def assert_same_on_all_ranks(arrays: dict, what: str):
    gathered = COMM.allgather({k: np.asarray(v) for k, v in arrays.items()})
    for other in gathered[1:]:
        for k in arrays:
            np.testing.assert_array_equal(gathered[0][k], other[k], err_msg=f"{what}: {k}")


def make_opt(kind, params):
    if kind == "sgd":
        return cr.optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=1e-3)
    return cr.optim.Adam(params, lr=0.01, weight_decay=1e-3)


def train_pair(kind, dtype, *, bn=False, clip=None, sizes=None, sum_loss=False, cap=0.0002):
    """Train DDP (rank-seeded init, broadcast from rank 0) and the one-process reference."""
    sizes = sizes or [12 // SIZE] * SIZE
    total = sum(sizes)
    ref = mlp(100, dtype, bn)                 # rank 0's initial weights
    model = mlp(100 + RANK, dtype, bn)
    if bn:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=cap)
    if sum_loss:
        ddp.set_gradient_divisor(total)
    opt, ref_opt = make_opt(kind, ddp.parameters()), make_opt(kind, ref.parameters())
    reduction = "sum" if sum_loss else "mean"
    clipped = 0
    for x, y in batches(dtype, sizes):
        for net, o, xs, ys in ((ddp, opt, local(x, sizes), local(y, sizes)),
                               (ref, ref_opt, x, y)):
            o.zero_grad()
            loss = nn.functional.mse_loss(net(cr.tensor(xs)), cr.tensor(ys), reduction=reduction)
            if sum_loss and net is ref:
                loss = loss / total
            loss.backward()
            if clip is not None:
                norm = nn.utils.clip_grad_norm_(net.parameters(), clip)
                if net is ddp:
                    assert_same_on_all_ranks({"norm": norm._data}, "clip norm")
                    clipped += float(norm._data) > clip
            o.step()
    assert clip is None or clipped >= STEPS // 2, f"clipping happened in {clipped} steps only"
    return ddp, ref


def scenario(fn):
    SCENARIOS.append(fn)
    return fn


SCENARIOS: list = []


@scenario
def equivalence_sgd_float64():
    ddp, ref = train_pair("sgd", np.float64)
    assert_close(params_of(ddp.module), params_of(ref), 1e-10, "sgd float64")


@scenario
def equivalence_adam_float64_clipped():
    ddp, ref = train_pair("adam", np.float64, clip=0.05)
    assert_close(params_of(ddp.module), params_of(ref), 1e-10, "adam float64 clip")


@scenario
def equivalence_sgd_float32_clipped():
    ddp, ref = train_pair("sgd", np.float32, clip=0.1)
    assert_close(params_of(ddp.module), params_of(ref), 1e-5, "sgd float32 clip")


@scenario
def equivalence_adam_float32():
    ddp, ref = train_pair("adam", np.float32)
    assert_close(params_of(ddp.module), params_of(ref), 1e-5, "adam float32")


@scenario
def sync_batchnorm_matches_batchnorm_on_the_global_batch():
    ddp, ref = train_pair("sgd", np.float64, bn=True)
    assert isinstance(ddp.module[1], nn.SyncBatchNorm)
    assert_close(params_of(ddp.module), params_of(ref), 1e-10, "syncbn")   # incl. running stats


@scenario
def sync_batchnorm_uneven_batches_with_a_global_divisor():
    sizes = [2 + 3 * r for r in range(SIZE)]          # 2, 5, 8: uneven
    ddp, ref = train_pair("adam", np.float64, bn=True, sizes=sizes, sum_loss=True)
    assert_close(params_of(ddp.module), params_of(ref), 1e-10, "syncbn uneven")


@scenario
def sync_batchnorm_output_and_input_gradient_match_batchnorm():
    sizes = [3 + 2 * r for r in range(SIZE)]           # uneven, (N, C, L) inputs
    rng = np.random.default_rng(11)
    x, g = rng.standard_normal((2, sum(sizes), 4, 3))
    ours, ref = nn.SyncBatchNorm(4).double(), nn.BatchNorm1d(4).double()
    for m in (ours, ref):
        m.weight._data[:] = np.arange(1.0, 5.0)
        m.bias._data[:] = 0.5
    xs = cr.tensor(local(x, sizes), requires_grad=True)
    xr = cr.tensor(x, requires_grad=True)
    y, yr = ours(xs), ref(xr)
    (y * cr.tensor(local(g, sizes))).sum().backward()
    (yr * cr.tensor(g)).sum().backward()
    np.testing.assert_allclose(y._data, local(yr._data, sizes), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(xs.grad._data, local(xr.grad._data, sizes), rtol=1e-10,
                               atol=1e-12)
    total_w = COMM.allreduce(ours.weight.grad._data)      # local sums add up to the global one
    np.testing.assert_allclose(total_w, ref.weight.grad._data, rtol=1e-10)
    for k in ("running_mean", "running_var"):
        np.testing.assert_allclose(getattr(ours, k)._data, getattr(ref, k)._data, rtol=1e-12)


@scenario
def construction_broadcasts_rank0s_parameters_and_buffers():
    model = mlp(100 + RANK, np.float64, bn=True)
    model[1].running_mean._data[:] = RANK + 1.0
    ddp = dist.DistributedDataParallel(model)
    state = params_of(ddp.module)
    assert_same_on_all_ranks(state, "after construction")
    mine = params_of(mlp(100, np.float64, bn=True))
    mine["1.running_mean"][:] = 1.0
    assert_close(state, mine, 0, "rank 0's weights")


@scenario
def state_dict_keys_carry_the_module_prefix():
    model = mlp(0, np.float32, bn=True)
    ddp = dist.DistributedDataParallel(model)
    assert list(ddp.state_dict()) == ["module." + k for k in model.state_dict()]
    assert ddp.module is model
    assert isinstance(ddp, nn.Module)
    assert nn.parallel.DistributedDataParallel is dist.DistributedDataParallel


@scenario
def no_sync_accumulates_locally_then_reduces_the_sum():
    dtype = np.float64
    sizes = [12 // SIZE] * SIZE
    ref, ddp = mlp(0, dtype), dist.DistributedDataParallel(mlp(0, dtype))
    data = list(batches(dtype, sizes, steps=3, seed=7))
    for i, (x, y) in enumerate(data):
        xs, ys = cr.tensor(local(x, sizes)), cr.tensor(local(y, sizes))
        if i < 2:
            with ddp.no_sync():
                nn.functional.mse_loss(ddp(xs), ys).backward()
            grads = {n: p.grad._data for n, p in ddp.module.named_parameters()}
            differ = COMM.allgather(grads)
            assert any(not np.array_equal(differ[0][k], differ[1][k]) for k in grads), \
                "no_sync reduced the gradients"
        else:
            nn.functional.mse_loss(ddp(xs), ys).backward()
        nn.functional.mse_loss(ref(cr.tensor(x)), cr.tensor(y)).backward()
    assert_close({n: p.grad._data for n, p in ddp.module.named_parameters()},
                 {n: p.grad._data for n, p in ref.named_parameters()}, 1e-12, "no_sync")


@scenario
def an_unused_parameter_is_a_clear_error_by_default():
    ddp = dist.DistributedDataParallel(mlp(0, np.float64, extra=True))
    try:
        ddp(cr.ones(4, 5, dtype=cr.float64)).sum().backward()
    except RuntimeError as e:
        msg = str(e)
        assert "module.extra.weight" in msg and "module.extra.bias" in msg, msg
        assert "find_unused_parameters=True" in msg, msg
        assert "module.body.0.weight" not in msg, msg
    else:
        raise AssertionError("no error for unused parameters")


@scenario
def find_unused_parameters_true_contributes_zeros():
    dtype = np.float64
    model, ref = mlp(0, dtype, extra=True), mlp(0, dtype, extra=True)
    ddp = dist.DistributedDataParallel(model, find_unused_parameters=True, bucket_cap_mb=1e-4)
    x = np.random.default_rng(3).standard_normal((SIZE * 4, 5))
    mine = cr.tensor(x[RANK * 4:(RANK + 1) * 4])
    # unused on every rank: its gradient stays None, the rest is averaged
    ddp(mine).sum().backward()
    assert model.extra.weight.grad is None
    (ref(cr.tensor(x)).sum() / SIZE).backward()
    assert_close({"w": model.body[0].weight.grad._data}, {"w": ref.body[0].weight.grad._data},
                 1e-12, "unused everywhere")
    # used on rank 0 only: every rank gets rank 0's gradient / SIZE
    model.zero_grad()
    ref.zero_grad()
    model.use_extra, ref.use_extra = RANK == 0, True
    ddp(mine).sum().backward()
    (ref(cr.tensor(x[:4])).sum() / SIZE).backward()
    assert_close({"w": model.extra.weight.grad._data}, {"w": ref.extra.weight.grad._data},
                 1e-12, "used on rank 0")
    assert_same_on_all_ranks({"w": model.extra.weight.grad._data}, "extra's gradient")


@scenario
def one_parameter_buckets_are_summed_in_place_shared_ones_through_the_buffer():
    # cap 0.0002 MB: every parameter its own bucket, allreduced in its gradient's own array;
    # 25 MB: one bucket of all four, copied into the flat buffer and back; both equal one process
    for cap, in_place in ((0.0002, True), (25, False)):
        ddp, ref = train_pair("sgd", np.float64, cap=cap)
        assert_close(params_of(ddp.module), params_of(ref), 1e-10, f"bucket_cap_mb={cap}")
        assert len(ddp._buckets) == (4 if in_place else 1), [b.names for b in ddp._buckets]
        for b in ddp._buckets:
            if in_place:
                assert b.live is b.params[0].grad._data, b.names
            else:
                assert b.live is b.buffer and len(b.params) == 4, b.names


@scenario
def buckets_start_before_backward_ends_in_reverse_order():
    cr.manual_seed(0)
    model = nn.Sequential(*[nn.Linear(6, 6) for _ in range(4)]).double()
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=6 * 6 * 8 / 2 ** 20)
    log: list = []
    ddp._bucket_log = log
    for name, p in model.named_parameters():
        p.register_post_accumulate_grad_hook(lambda t, name=name: log.append(("leaf", name)))
    # the gradient of layer 0's output is computed late in backward, before layer 0's own
    kept = []     # chainrule drops a non-leaf's hooks with the tensor (PyTorch keeps them)

    def watch_h0(module, args, out):
        kept.append(out)
        out.register_hook(lambda g: log.append(("grad", "h0")))
    model[0].register_forward_hook(watch_h0)
    ddp(cr.ones(3, 6, dtype=cr.float64)).sum().backward()
    log.append(("end", None))
    assert ddp._buckets[0].names[0] == "module.3.bias", ddp._buckets[0].names
    starts = [i for i, e in enumerate(log) if e[0] == "start"]
    assert starts and starts[0] < log.index(("grad", "h0")), log   # overlaps the rest of backward
    assert log.index(("leaf", "3.bias")) < log.index(("grad", "h0")), log
    assert [log[i][1] for i in starts] == list(range(len(ddp._buckets))), log
    assert starts[-1] < log.index(("end", None))


def _grads(model):
    return {n: p.grad._data.copy() for n, p in model.named_parameters()}


@scenario
def a_no_grad_or_no_sync_forward_before_backward_keeps_the_sync():
    """PyTorch: a grad-mode synced forward prepares the backward; a later no-grad forward or
    a no_sync forward in the same graph does not undo it (the whole gradient is averaged)."""
    sizes = [4] * SIZE
    for case in ("no_grad_between", "no_sync_in_graph"):
        ref, model = mlp(7, np.float64), mlp(7 + RANK, np.float64)
        ddp = dist.DistributedDataParallel(model)
        x, y = next(batches(np.float64, sizes, steps=1, seed=5))
        x2, y2 = next(batches(np.float64, sizes, steps=1, seed=6))
        loss = nn.functional.mse_loss(ddp(cr.tensor(local(x, sizes))), cr.tensor(local(y, sizes)))
        ref_loss = nn.functional.mse_loss(ref(cr.tensor(x)), cr.tensor(y))
        if case == "no_grad_between":
            with cr.no_grad():
                ddp(cr.tensor(local(x2, sizes)))
        else:
            with ddp.no_sync():
                loss = loss + nn.functional.mse_loss(ddp(cr.tensor(local(x2, sizes))),
                                                     cr.tensor(local(y2, sizes)))
            ref_loss = ref_loss + nn.functional.mse_loss(ref(cr.tensor(x2)), cr.tensor(y2))
        loss.backward()
        ref_loss.backward()
        assert_close(_grads(model), _grads(ref), 1e-12, case)


@scenario
def buffers_are_broadcast_before_a_forward_exactly_when_pytorch_does():
    """Before a forward, buffers come from rank 0 when the previous forward was a grad-mode
    synced one (or there was none): seen as "running stats equal on every rank on entry"."""
    model = mlp(3, np.float64, bn=True)
    ddp = dist.DistributedDataParallel(model)
    seen = []

    def on_entry(module, args):
        gathered = COMM.allgather(module[1].running_mean._data.copy())
        seen.append(all(np.array_equal(gathered[0], g) for g in gathered))
    model.register_forward_pre_hook(on_entry)
    rng = np.random.default_rng(RANK)

    def fwd():
        return ddp(cr.tensor(rng.standard_normal((4, 5))))
    fwd().sum().backward()          # the first: synced
    with cr.no_grad():
        fwd()                       # after a synced one: synced
        fwd()                       # after a no-grad one: not
    fwd().sum().backward()          # not
    fwd().sum().backward()          # synced
    with ddp.no_sync():
        fwd().sum().backward()      # synced (the previous was)
    fwd().sum().backward()          # after a no_sync one: not
    assert seen == [True, True, False, False, True, True, False], seen


def main() -> int:
    names = sys.argv[1:]
    failed = 0
    for fn in SCENARIOS:
        if names and fn.__name__ not in names:
            continue
        err = None
        try:
            fn()
        except Exception:           # report, keep going (the other ranks run the same code)
            err = traceback.format_exc()
        errors = COMM.allgather(err)
        bad = [f"rank {r}: {e}" for r, e in enumerate(errors) if e]
        failed += bool(bad)
        if RANK == 0:
            print(json.dumps({"name": fn.__name__, "ok": not bad, "error": "\n".join(bad)}),
                  flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
