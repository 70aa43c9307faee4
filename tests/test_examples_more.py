"""Smoke tests of the learner's examples: each runs (shortened) and shows what it claims."""
from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _load(name: str) -> dict:
    return runpy.run_path(str(EXAMPLES / name))


def test_worked_examples_match_the_hand_derivations(capsys):
    worst = _load("worked_examples.py")["main"]()
    out = capsys.readouterr().out
    assert "f(3, 4) = x²y + y + 2 = 42" in out
    assert "+24.000000" in out and "+10.000000" in out
    assert worst < 1e-4  # the momentum step is within 1e-4 of lr/(1 − β) after 100 updates


def test_backprop_by_hand_equals_backward(capsys):
    assert _load("backprop_by_hand.py")["main"]() < 1e-12
    assert capsys.readouterr().out.count("largest |by hand − backward()|") == 5


def test_mlp_digits_trains_and_rebuilds_from_its_checkpoint(tmp_path, capsys):
    acc = _load("mlp_digits.py")["main"](epochs=2, out=str(tmp_path))
    assert acc > 0.6
    assert (tmp_path / "model.safetensors").is_file() and (tmp_path / "curves.png").is_file()
    assert "rebuilt from" in capsys.readouterr().out


def test_initialisation_shows_vanishing_and_symmetry(capsys):
    spreads, accs = _load("initialisation.py")["main"](epochs=1)
    assert spreads["N(0, 0.01²)"][-1] < 1e-6 < 0.3 < spreads["Xavier, tanh"][-1]
    assert spreads["N(0, 1)"][-1] > 0.9  # saturated tanh units
    assert accs["zeros"] < 0.2  # symmetry never broken: chance level
    assert accs["xavier_normal"] > 0.6 and accs["kaiming_normal"] > 0.6


def test_momentum_speeds_up_sgd(capsys):
    mod = _load("momentum.py")
    steps = mod["quadratic"]()
    assert steps["momentum 0.9"] * 2 < steps["plain SGD"]
    losses = mod["digits"](epochs=1)
    assert losses["momentum 0.9"][-1] < losses["plain SGD"][-1]


@pytest.mark.parametrize("name", ["worked_examples.py", "backprop_by_hand.py", "mlp_digits.py",
                                  "initialisation.py", "momentum.py"])
def test_examples_explain_how_to_run_them(name):
    text = (EXAMPLES / name).read_text()
    assert f"python examples/{name}" in text and 'if __name__ == "__main__":' in text
