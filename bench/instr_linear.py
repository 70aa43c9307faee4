"""The GEMM ops' own cost under callgrind (deterministic on a shared machine), for the BLAS
thread policy's hot-path check (issue #17):

    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        python bench/instr_linear.py N

runs ``y = linear(y, w).matmul(v)`` N times (2 GEMM ops each) on a 1×4 float32 leaf, three times
over, backpropagating each chain; instructions per op = (count(2N) − count(N)) / (6N).
"""
import sys

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F

n = int(sys.argv[1])
x = cr.tensor(np.full((1, 4), 0.5, np.float32), requires_grad=True)
w = cr.tensor(np.eye(4, dtype=np.float32) * 0.9, requires_grad=True)
v = cr.tensor(np.eye(4, dtype=np.float32) * 1.1)
for _ in range(3):
    y = x
    for _ in range(n):
        y = F.linear(y, w).matmul(v)
    y.sum().backward()
