"""The README's Python snippets run as printed and print what the README says they print."""
from __future__ import annotations

import contextlib
import io
import re

from .conftest import REPO

README = REPO / "README.md"


def python_snippets() -> list[str]:
    """The README's fenced ```python blocks, in order."""
    return re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"),
                      re.S | re.M)


def run_snippet(code: str) -> str:
    """Execute ``code`` in a fresh namespace; return what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})
    return out.getvalue()


def test_the_readme_has_the_two_snippets():
    assert len(python_snippets()) >= 2


def test_the_worked_example_prints_f_and_its_gradients():
    assert run_snippet(python_snippets()[0]).split() == ["42.0", "24.0", "10.0"]


def test_the_network_trained_by_hand_shows_its_loss_falling_and_its_accuracy():
    printed = run_snippet(python_snippets()[1])
    losses = [float(v) for v in re.findall(r"loss (\d+\.\d+)", printed)]
    assert len(losses) >= 4, printed
    assert all(b < a for a, b in zip(losses, losses[1:])), losses
    assert losses[-1] < 0.5 * losses[0], losses
    accuracy = re.findall(r"training accuracy (\d+(?:\.\d+)?)%", printed)
    assert len(accuracy) == 1, printed
    assert float(accuracy[0]) > 90.0, printed
