"""Every program in tests/programs runs unchanged on torch and on chainrule (given as ``torch``),
from the same initial weights and the same random numbers, and gives the same losses step by
step (float32 tolerance), the same printed facts and, where cheap, the same final parameters."""
from __future__ import annotations

import pytest

from tests.conftest import data_dir
from tests.programs import harness

torch = pytest.importorskip("torch")

PROGRAMS = [
    "autograd_tutorial", "nn_tutorial", "mnist_cnn", "vae", "linear_regression",
    "custom_function", "manual_backprop", "weight_decay", "dropout", "batch_norm",
    "lazy_modules", "device_branching", "data_pipeline", "schedulers",
]


@pytest.mark.parametrize("program", PROGRAMS)
def test_program_matches_torch(program, tmp_path):
    import chainrule
    folder = data_dir()
    folder = folder if folder.is_dir() else None
    ref = harness.run(program, torch, tmp_path, folder)
    got = harness.run(program, chainrule, tmp_path, folder)
    assert ref.get("losses"), f"{program} reported no losses"
    problems = harness.compare(program, ref, got)
    assert not problems, "\n".join(problems)


def test_compare_notices_a_different_loss():
    """The comparison is not vacuous: one loss off by 1e-3 relative, a changed printed value,
    a moved parameter and a statistic out of tolerance are each reported."""
    import numpy as np
    ref = {"losses": [1.0, 0.5], "values": {"grad_fn": "MulBackward0"},
           "params": {"w": np.ones(3)}, "stats": {"p": (0.5, 0.05)}}
    got = {"losses": [1.0, 0.5005], "values": {"grad_fn": "Mul"},
           "params": {"w": np.ones(3) + 1e-2}, "stats": {"p": (0.6, 0.05)}}
    problems = harness.compare("x", ref, got)
    assert len(problems) == 4, problems
    assert harness.compare("x", ref, ref) == []


def test_compare_spells_printed_names_as_torch():
    """``chainrule.float32`` from the chainrule run matches torch's ``torch.float32``, but a
    different dtype still does not."""
    ref = {"losses": [1.0], "values": {"dtype": ["torch.float32"]}, "library": "torch"}
    same = {"losses": [1.0], "values": {"dtype": ["chainrule.float32"]}, "library": "chainrule"}
    other = {"losses": [1.0], "values": {"dtype": ["chainrule.float64"]}, "library": "chainrule"}
    assert harness.compare("x", ref, same) == []
    assert len(harness.compare("x", ref, other)) == 1
