"""The README's main job runs end to end and the loss falls."""
from __future__ import annotations

import runpy
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_two_layer_by_hand_loss_falls(capsys):
    mod = runpy.run_path(str(EXAMPLES / "two_layer_by_hand.py"))
    final = mod["main"](steps=300)
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("step")]
    first = float(lines[0].split()[3])
    assert final < first * 0.75
