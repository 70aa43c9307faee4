"""The fixed cost of a training step: workload A's structure on a tiny MLP, where arithmetic is
negligible and what is measured is the framework (modules, graph recording, backward engine,
optimizer loop).

    python bench/step_overhead.py         # chainrule and PyTorch, each in a fresh process, twice

Model 16-8-8-10 with ReLU, cross-entropy, SGD with momentum 0.9, batch 2; wall µs per phase,
median of 2,500 steps after 500 warm-up steps.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np


def measure(lib: str) -> dict:
    rng = np.random.default_rng(0)
    x_np, y_np = rng.random((2, 16), dtype=np.float32), rng.integers(0, 10, 2)
    if lib == "torch":
        import torch as M
        M.set_num_threads(os.cpu_count())
        x, y = M.from_numpy(x_np), M.from_numpy(y_np)
    else:
        import chainrule as M
        x, y = M.tensor(x_np), M.tensor(y_np)
    nn, F = M.nn, M.nn.functional
    model = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(),
                          nn.Linear(8, 10))
    opt = M.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    phases = {"forward": [], "backward": [], "step": [], "total": []}
    clock = time.perf_counter
    for i in range(3000):
        t0 = clock()
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        t1 = clock()
        loss.backward()
        t2 = clock()
        opt.step()
        t3 = clock()
        if i >= 500:
            for key, a, b in zip(phases, (t0, t1, t2, t0), (t1, t2, t3, t3)):
                phases[key].append((b - a) * 1e6)
    return {key: float(np.median(v)) for key, v in phases.items()}


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(measure(sys.argv[2])))
        return
    print(f"{'':10} {'forward':>9} {'backward':>9} {'step':>9} {'total':>9}   µs")
    for _ in range(2):
        for lib in ("chainrule", "torch"):
            out = subprocess.run([sys.executable, __file__, "--worker", lib], check=True,
                                 capture_output=True, text=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            print(f"{lib:10} {r['forward']:>9.1f} {r['backward']:>9.1f} {r['step']:>9.1f} "
                  f"{r['total']:>9.1f}")


if __name__ == "__main__":
    main()
