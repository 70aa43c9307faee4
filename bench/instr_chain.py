"""The per-op chain for instruction counting under callgrind (deterministic on a shared machine).

    valgrind --tool=callgrind --callgrind-out-file=/dev/null python bench/instr_chain.py N

runs ``y = (y * w + w).tanh()`` N times (3 ops each) from a 1-element float32 leaf, three times
over, backpropagating each chain; instructions per op = (count(2000) − count(1000)) / 9000.
"""
import sys

import numpy as np

import chainrule as cr

n = int(sys.argv[1])
x = cr.tensor(np.full((1,), 0.5, np.float32), requires_grad=True)
w = cr.tensor(np.full((1,), 0.9, np.float32))
for _ in range(3):
    y = x
    for _ in range(n):
        y = (y * w + w).tanh()
    y.sum().backward()
