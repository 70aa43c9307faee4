"""docs/distributed.md: its example script trains on 2 ranks exactly as on 1, and its cost tables
are what ``python -m bench.allreduce_model`` generates."""
from __future__ import annotations

import re

import numpy as np
import pytest

from bench import allreduce_model as model
from ..conftest import REPO
from .mpirun import run_mpi

PAGE = REPO / "docs" / "distributed.md"

REPORT = """
from mpirun import emit
emit({"params": [p.detach().numpy().ravel().tolist() for p in model.module.parameters()],
      "world": world})
"""


def example_script() -> str:
    text = PAGE.read_text(encoding="utf-8")
    region = re.search(r"<!-- example:begin[^\n]*-->\n```python\n(.*?)```\n<!-- example:end -->",
                       text, re.S)
    assert region, "docs/distributed.md lost its <!-- example:begin --> ```python ... block"
    return region.group(1)


def test_the_committed_tables_are_the_generated_ones():
    committed = PAGE.read_text(encoding="utf-8")
    assert model.render(committed) == committed, (
        "docs/distributed.md's cost tables are out of date: run `python -m bench.allreduce_model`")
    assert "| 256 | 68.8 | 84.2 | 8.99 | 12.0 |" in committed   # the ring formula, by hand below


def test_the_ring_formula_and_the_overlap_model():
    net = model.NETWORKS[1]                                   # 200 Gb/s, α = 2 µs
    by_hand = 2 * 255 / 256 * 100e6 / 25e9 + 2 * 255 * 2e-6
    assert model.ring_allreduce_s(100e6, 256, net) == pytest.approx(by_hand, rel=1e-12)
    assert model.ring_allreduce_s(100e6, 1, net) == 0
    gpu = model.DEVICES[1]
    plain = model.step_s(gpu, net, 256, None)
    assert plain == pytest.approx(gpu.compute_s + by_hand, rel=1e-12)
    bucketed = model.step_s(gpu, net, 256, 25)
    last = model.ring_allreduce_s(25e6, 256, net)             # ready only when backward ends
    assert gpu.compute_s + last == pytest.approx(bucketed, rel=1e-9) and bucketed < plain
    assert model.bucket_sizes(100e6, 30e6) == [30e6, 30e6, 30e6, 10e6]


def test_the_example_trains_on_2_ranks_as_on_1():
    script = example_script() + REPORT
    one = run_mpi(script, n=1, timeout=60)
    two = run_mpi(script, n=2, timeout=60)
    for result in (one, two):
        assert result.returncode == 0, result.explain()
    lines = [re.findall(r"epoch \d: training loss ([\d.]+)", r.stdout) for r in (one, two)]
    assert len(lines[0]) == 3 and lines[0] == lines[1], (one.stdout, two.stdout)  # rank 0 only
    assert float(lines[0][2]) < 0.5 * float(lines[0][0])        # it learns
    rank0, rank1 = two.outputs
    assert rank0["world"] == 2 and one.outputs[0]["world"] == 1
    assert rank0["params"] == rank1["params"]                   # replicas identical, bit for bit
    for a, b in zip(one.outputs[0]["params"], rank0["params"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
