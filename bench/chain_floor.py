"""How low workload C can go: the 1,000-op chain (mul, add, tanh) without a framework.

    python bench/chain_floor.py            # both shapes, thread CPU µs per op (forward + backward)

Three ways, each the median of 20 timed runs after 5 warm-up ones, in one process:

- ``chainrule``: the suite's chain (``bench/op_overhead.py``);
- ``minimal engine``: a 30-line reverse mode that knows only this chain — one node object and one
  tensor object per op, backward a loop over the three local derivatives (no hooks, version
  checks, broadcasting, dtype rules or graph freeing);
- ``NumPy floor``: the forward and backward written out by hand on arrays (the saved outputs in a
  list), i.e. the ufunc calls alone.

C's target is 0.7× PyTorch's time per op; compare these with ``bench/op_overhead.py``'s PyTorch
figure from the same machine.
"""
from __future__ import annotations

import statistics
import time

import numpy as np

OPS = 1000


class _T:
    __slots__ = ("data", "node")

    def __init__(self, data, node=None):
        self.data, self.node = data, node


class _Node:
    __slots__ = ("parent", "saved", "kind")

    def __init__(self, parent, saved, kind):
        self.parent, self.saved, self.kind = parent, saved, kind


def _minimal(x, a, b):
    y = _T(x)
    for i in range(OPS):
        k = i % 3
        if k == 0:
            y = _T(y.data * a, _Node(y, a, 0))
        elif k == 1:
            y = _T(y.data + b, _Node(y, None, 1))
        else:
            out = np.tanh(y.data)
            y = _T(out, _Node(y, out, 2))
    g = np.ones_like(y.data)
    while y.node is not None:
        n = y.node
        if n.kind == 0:
            g = g * n.saved
        elif n.kind == 2:
            g = g * (1 - n.saved * n.saved)
        y = n.parent
    return g


def _numpy(x, a, b):
    saved, y = [], x
    for i in range(OPS):
        k = i % 3
        y = y * a if k == 0 else y + b if k == 1 else np.tanh(y)
        saved.append(y)
    g = np.ones_like(y)
    for i in reversed(range(OPS)):
        k = i % 3
        if k == 0:
            g = g * a
        elif k == 2:
            g = g * (1 - saved[i] * saved[i])
    return g


def _chainrule(x, a, b):
    import chainrule as cr
    from op_overhead import chain_step

    leaf, ta, tb = cr.tensor(x, requires_grad=True), cr.tensor(a), cr.tensor(b)
    chain_step(leaf, ta, tb, OPS)
    return leaf.grad.data


def _time(fn, *args) -> float:
    times = []
    for r in range(25):
        t0 = time.thread_time()
        fn(*args)
        if r >= 5:
            times.append(time.thread_time() - t0)
    return statistics.median(times) / OPS * 1e6


def main() -> None:
    print(f"{'shape':8} {'chainrule':>10} {'minimal engine':>15} {'NumPy floor':>12}   µs/op")
    for shape in ((1,), (64, 64)):
        rng = np.random.default_rng(0)
        x = rng.standard_normal(shape).astype(np.float32)
        a, b = np.full(shape, 0.9, np.float32), np.full(shape, 0.1, np.float32)
        np.testing.assert_allclose(_minimal(x, a, b), _numpy(x, a, b), rtol=1e-6)
        row = [_time(f, x, a, b) for f in (_chainrule, _minimal, _numpy)]
        name = "x".join(map(str, shape))
        print(f"{name:8} {row[0]:>10.2f} {row[1]:>15.2f} {row[2]:>12.2f}")


if __name__ == "__main__":
    main()
