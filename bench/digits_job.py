"""Workload H (issue #17): the digits main job, idle and beside two busy processes.

chainrule's side is the command itself, ``python -m chainrule train`` with every default
(digits, MLP 64-256-128-10 with ReLU and dropout 0.2, Adam 1e-3, cosine schedule per step,
batch 32, 40 epochs, 10 % validation), its training time read from metrics.json
(``train_seconds``: the minibatch updates). PyTorch's side (:func:`torch_digits`) is the same
training written in PyTorch on the same splits (taken from chainrule's digits loader, which
only reads scikit-learn's data), timed the same way, evaluating every split after each epoch
as the command does. ``busy`` starts the background load — two processes each multiplying
2048×2048 float32 matrices forever — and always stops it (exceptions, Ctrl-C, SIGTERM, exit).
"""
from __future__ import annotations

import atexit
import contextlib
import json
import math
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BUSY_CODE = ("import numpy as n; a = n.ones((2048, 2048), n.float32); "
             "[a @ a for _ in iter(int, 1)]")
EPOCHS, BATCH, LR, DROPOUT, HIDDEN = 40, 32, 1e-3, 0.2, (256, 128)


def _stop(procs: list) -> None:
    for p in procs:
        if p.poll() is None:
            p.kill()
    for p in procs:
        with contextlib.suppress(Exception):
            p.wait(timeout=10)


@contextlib.contextmanager
def busy(count: int = 2):
    """``count`` background processes spinning on NumPy GEMMs while the block runs."""
    procs: list = []
    hook = lambda: _stop(procs)  # noqa: E731
    atexit.register(hook)
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum, frame):
        raise SystemExit(f"bench: stopped by signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    try:
        for _ in range(count):
            procs.append(subprocess.Popen([sys.executable, "-c", BUSY_CODE],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(1.0)  # let them reach their loops
        dead = [p.returncode for p in procs if p.poll() is not None]
        if dead:
            raise RuntimeError(f"bench H: a background load process exited at once ({dead})")
        yield procs
    finally:
        _stop(procs)
        atexit.unregister(hook)
        signal.signal(signal.SIGTERM, previous)


def chainrule_digits(root: Path, timeout: float = 900) -> dict:
    """One ``chainrule train`` with the defaults in a fresh process; its seconds."""
    with tempfile.TemporaryDirectory(prefix="bench-h-") as out:
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "chainrule", "train", "--out", out,
                               "--quiet"], cwd=root, capture_output=True, text=True,
                              timeout=timeout)
        wall = time.perf_counter() - t0
        if done.returncode != 0:
            raise RuntimeError(f"bench H: chainrule train failed (exit {done.returncode}):\n"
                               + done.stderr[-3000:])
        m = json.loads((Path(out) / "metrics.json").read_text())
    return {"train_seconds": m["train_seconds"], "seconds": m["seconds"],
            "process_seconds": wall, "test_accuracy": m["test"]["accuracy"]}


def _digits_arrays() -> dict:
    from chainrule.cli.data import SPLIT_SEED
    from chainrule.data import datasets
    s = datasets.digits(validation=0.1, seed=SPLIT_SEED)
    return {name: (np.asarray(d.inputs), np.asarray(d.targets))
            for name, d in (("train", s.train), ("val", s.validation), ("test", s.test))}


def torch_digits(seed: int = 0, threads: int | None = None) -> dict:
    """The command's default training, in PyTorch (its default threads unless ``threads``)."""
    import torch
    if threads:
        torch.set_num_threads(threads)
    data = _digits_arrays()
    torch.manual_seed(seed)
    nn = torch.nn
    layers, width = [nn.Flatten()], 64
    for h in HIDDEN:
        layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(DROPOUT)]
        width = h
    model = nn.Sequential(*layers, nn.Linear(width, 10))
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    x, y = (torch.from_numpy(a) for a in data["train"])
    steps_per_epoch = math.ceil(len(y) / BATCH)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=EPOCHS * steps_per_epoch)
    gen = torch.Generator().manual_seed(seed)
    train_s, t_all = 0.0, time.perf_counter()
    for _ in range(EPOCHS):
        model.train()
        t0 = time.perf_counter()
        for idx in torch.randperm(len(y), generator=gen).split(BATCH):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            sched.step()
        train_s += time.perf_counter() - t0
        model.eval()
        with torch.no_grad():
            acc = {name: float((model(torch.from_numpy(a)).argmax(1).numpy() == b).mean())
                   for name, (a, b) in data.items()}
    return {"train_seconds": train_s, "seconds": time.perf_counter() - t_all,
            "test_accuracy": acc["test"]}
