"""Thread CPU time per training step of workload A (chainrule only): for A/B-testing two commits.

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=<export>/src python bench/a_step_cpu.py

prints the median over 60 steps after 20 warm-up steps, in ms.
"""
import time

import numpy as np

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule import optim

rng = np.random.default_rng(0)
X = rng.standard_normal((128, 784)).astype(np.float32)
Y = rng.integers(0, 10, 128)
cr.manual_seed(0)
model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                      nn.Linear(512, 10))
opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
x, y = cr.tensor(X), cr.tensor(Y)
times = []
for _ in range(80):
    t0 = time.thread_time()
    opt.zero_grad()
    F.cross_entropy(model(x), y).backward()
    opt.step()
    times.append(time.thread_time() - t0)
print(f"{np.median(times[20:]) * 1e3:.3f}")
