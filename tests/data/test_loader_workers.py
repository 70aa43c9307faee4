"""DataLoader worker processes: the same batches as num_workers=0 (random transforms too),
sampler order, get_worker_info, failures reported with worker and index, no processes or
shared-memory blocks left behind, exact mid-epoch resume, and loading ahead of the consumer."""
import gc
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from chainrule.data import DataLoader, DataLoaderWorkerError, TensorDataset

from .worker_datasets import Augmented, Failing, Marking, WhoLoads, remember_worker

ROOT = Path(__file__).resolve().parents[2]


def _blocks(pid: int | None = None) -> set:
    """The shared-memory blocks of the loaders of process ``pid`` (default: this one); other
    processes' loaders (another test run beside this one) have their own prefixes."""
    prefix = f"crdl{os.getpid() if pid is None else pid}x"
    return {n for n in os.listdir("/dev/shm") if n.startswith(prefix)}


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _arrays(batches):
    return [[np.asarray(t.numpy()) for t in b] for b in batches]


def _same(a, b):
    assert len(a) == len(b) and len(a) > 0
    for x, y in zip(a, b):
        for u, v in zip(x, y):
            np.testing.assert_array_equal(u, v)


@pytest.fixture
def no_leaks():
    before = _blocks()
    yield
    gc.collect()
    assert _blocks() == before


def test_random_transforms_give_the_same_batches_at_any_worker_count(no_leaks):
    runs = {}
    for workers in (0, 1, 2):
        loader = DataLoader(Augmented(), batch_size=6, shuffle=True, generator=11,
                            num_workers=workers, persistent_workers=workers > 0)
        runs[workers] = [_arrays(loader) for _ in range(2)]  # epoch 1 draws anew
        loader.shutdown_workers()
    for workers in (1, 2):
        for epoch in range(2):
            _same(runs[0][epoch], runs[workers][epoch])
    assert not np.array_equal(runs[0][0][0][0], runs[0][1][0][0])
    labels = np.concatenate([b[1] for b in runs[0][0]])
    np.testing.assert_array_equal(labels, np.random.Generator(np.random.PCG64(11))
                                  .permutation(40))


def test_array_datasets_and_custom_batches_keep_sampler_order(no_leaks):
    x = np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
    ds = TensorDataset(x, np.arange(50))
    groups = [[4, 2], list(range(10, 30)), [49], [0, 1, 2, 3], list(range(30, 45))]
    serial = _arrays(DataLoader(ds, batch_sampler=groups))
    parallel = _arrays(DataLoader(ds, batch_sampler=groups, num_workers=2, prefetch_factor=1))
    _same(serial, parallel)
    assert [b[1].tolist() for b in parallel] == groups


def test_worker_info_and_worker_init_fn(no_leaks):
    loader = DataLoader(WhoLoads(), batch_size=3, num_workers=2,
                        worker_init_fn=remember_worker)
    rows = [np.stack([t.numpy() for t in b], axis=1) for b in loader]
    ids = [r[0, 1] for r in rows]
    assert ids == [0, 1, 0, 1]  # round robin, handed out in order
    assert all((r[:, 2] == 2).all() for r in rows)
    seeds = {int(r[0, 1]): int(r[0, 3]) for r in rows}
    assert seeds[1] - seeds[0] == 1  # base seed + worker id
    assert [int(r[0, 4]) for r in rows] == [100, 101, 100, 101]


def test_a_worker_exception_names_the_worker_the_index_and_its_traceback(no_leaks):
    loader = DataLoader(Failing(bad=13, how="raise"), batch_size=4, num_workers=2)
    with pytest.raises(ValueError) as info:
        list(loader)
    text = str(info.value)
    assert "worker 1" in text and "dataset index 13" in text and "item 13 is broken" in text
    assert "check_item" in text and "Traceback" in text
    assert loader._pool is not None and not loader._pool.alive


def test_a_killed_worker_is_reported_not_waited_for(no_leaks):
    loader = DataLoader(Failing(bad=5, how="kill"), batch_size=2, num_workers=2)
    with pytest.raises(DataLoaderWorkerError, match=r"worker 0 \(pid \d+\) was killed by "
                                                    r"signal 9 \(SIGKILL\)"):
        list(loader)


def test_timeout_bounds_the_wait(no_leaks):
    loader = DataLoader(Failing(bad=0, how="hang"), batch_size=2, num_workers=1, timeout=0.5)
    with pytest.raises(DataLoaderWorkerError, match="timed out after 0.5 s"):
        next(iter(loader))
    pids = loader._pool.procs and [p for p in loader._pool.pids]
    assert not pids  # the pool was shut down


def test_deleting_the_loader_stops_its_workers(no_leaks):
    loader = DataLoader(Augmented(), batch_size=4, num_workers=2, persistent_workers=True)
    it = iter(loader)
    next(it)
    pids = loader._pool.pids
    assert len(pids) == 2 and all(_alive(p) for p in pids)
    del it, loader
    gc.collect()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids)


def test_persistent_workers_serve_several_epochs(no_leaks):
    loader = DataLoader(Augmented(12), batch_size=4, num_workers=2, persistent_workers=True)
    list(loader)
    pids = loader._pool.pids
    list(loader)
    assert loader._pool.pids == pids and loader.epoch == 2
    loader.shutdown_workers()
    assert loader._pool.pids == []


def test_mid_epoch_resume_is_exact_with_workers(no_leaks):
    def make():
        return DataLoader(Augmented(30), batch_size=4, shuffle=True, generator=5,
                          num_workers=2)
    whole = make()
    first = _arrays(whole)
    it = iter(whole)
    seen = [next(it) for _ in range(3)]
    state = whole.state_dict()
    rest_uninterrupted = _arrays(it)
    resumed = make()
    resumed.load_state_dict(state)
    _same(_arrays(resumed), rest_uninterrupted)
    assert len(seen) + len(rest_uninterrupted) == len(first)


@pytest.mark.parametrize("workers", [0, 2])
def test_each_pass_draws_afresh_even_when_the_last_was_broken_off(workers, no_leaks):
    """The streams' epoch is the number of iter() calls (the issue's rule), not of finished
    epochs: a pass broken off after one batch and the next pass draw different numbers."""
    loader = DataLoader(Augmented(12), batch_size=4, generator=1, num_workers=workers)
    first = next(iter(loader))
    second = next(iter(loader))
    assert loader.epoch == 0
    assert not np.array_equal(first[0].numpy(), second[0].numpy())
    np.testing.assert_array_equal(first[1].numpy(), second[1].numpy())   # same items
    again = DataLoader(Augmented(12), batch_size=4, generator=1, num_workers=workers)
    np.testing.assert_array_equal(next(iter(again))[0].numpy(), first[0].numpy())
    state = loader.state_dict()
    assert state["passes"] == 2 and state["pass"] == 1


def test_workers_load_ahead_while_the_consumer_computes(tmp_path, no_leaks):
    loader = DataLoader(Marking(str(tmp_path)), batch_size=2, num_workers=2, prefetch_factor=2)
    it = iter(loader)
    next(it)  # the step runs now; 2 × 2 batches may be in flight
    deadline = time.monotonic() + 20
    while len(os.listdir(tmp_path)) < 8 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)
    loaded = len(os.listdir(tmp_path))
    assert loaded == 2 + 4 * 2  # the first batch and four more, no further
    rest = list(it)
    assert len(rest) == 19
    loader.shutdown_workers()


CTRL_C = textwrap.dedent("""
    import signal, sys, time
    # SIGINT as in a terminal, whatever this run inherited (a background job or a CI runner
    # may start it ignored, and the child would inherit that)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.path.insert(0, {root!r})
    from chainrule.data import DataLoader
    from tests.data.worker_datasets import Augmented
    if __name__ == "__main__":
        loader = DataLoader(Augmented(400), batch_size=2, num_workers=2)
        it = iter(loader)
        next(it)
        print("pids", *loader._pool.pids, flush=True)
        try:
            while True:
                time.sleep(0.01)
                next(it)
        except KeyboardInterrupt:
            print("interrupted", loader._pool.alive, flush=True)
""")


def test_ctrl_c_stops_the_workers_and_leaves_no_blocks(tmp_path):
    script = tmp_path / "ctrl_c.py"
    script.write_text(CTRL_C.format(root=str(ROOT)))
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline().split()
    assert line[0] == "pids", proc.stderr.read()
    pids = [int(p) for p in line[1:]]
    assert len(pids) == 2 and all(_alive(p) for p in pids)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "interrupted" in out and "leaked" not in err
    assert not any(_alive(p) for p in pids)
    assert _blocks(proc.pid) == set()


def test_an_unpicklable_collate_fn_is_a_clear_error(no_leaks):
    loader = DataLoader(Augmented(8), batch_size=4, num_workers=1, collate_fn=lambda b: b)
    with pytest.raises(TypeError, match="pickled to each worker process"):
        list(loader)


def test_a_memory_mapped_dataset_is_reopened_in_each_worker(tmp_path, no_leaks):
    from chainrule.data import MemmapDataset
    x = np.random.default_rng(1).integers(0, 255, size=(37, 5), dtype=np.uint8)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.arange(37))
    ds = MemmapDataset(tmp_path / "x.npy", tmp_path / "y.npy")
    serial = _arrays(DataLoader(ds, batch_size=8, shuffle=True, generator=2))
    _same(serial, _arrays(DataLoader(ds, batch_size=8, shuffle=True, generator=2,
                                     num_workers=2)))


def test_breaking_off_an_epoch_stops_non_persistent_workers(no_leaks):
    loader = DataLoader(Augmented(40), batch_size=2, num_workers=2)
    it = iter(loader)
    next(it)
    pids = loader._pool.pids
    it.close()  # what a `break` out of the for loop does once the iterator is dropped
    assert loader._pool.pids == [] and not any(_alive(p) for p in pids)


def test_without_automatic_batching_workers_give_the_items(no_leaks):
    ds = TensorDataset(np.arange(12, dtype=np.float32).reshape(6, 2), np.arange(6))
    serial = _arrays(DataLoader(ds, batch_size=None, shuffle=True, generator=4))
    parallel = _arrays(DataLoader(ds, batch_size=None, shuffle=True, generator=4,
                                  num_workers=2))
    _same(serial, parallel)
    assert serial[0][0].shape == (2,)
