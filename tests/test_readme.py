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


def shell_commands() -> list[str]:
    """Every command line of the README's ```bash blocks (comments dropped)."""
    blocks = re.findall(r"^```bash\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_every_readme_command_runs_from_the_repository_root_after_the_set_up():
    """No bare ``chainrule``/``python``/``pytest``: the set-up installs into .venv and never
    activates it, so each command names the environment's program (or is the set-up)."""
    commands = shell_commands()
    assert any(c.startswith(".venv/bin/chainrule predict") for c in commands), commands
    for command in commands:
        for part in re.split(r"\s*&&\s*", command):
            assert part.startswith(("python3 -m venv .venv", ".venv/bin/")), part


def test_the_files_the_readme_commands_read_exist_or_are_made_by_an_earlier_command():
    made: set[str] = set()
    for command in shell_commands():
        words = command.split()
        for i, word in enumerate(words):
            if word == "--config":
                from chainrule.cli.config import load_toml
                assert (REPO / words[i + 1]).is_file(), words[i + 1]
                assert load_toml(REPO / words[i + 1])
            if word in ("--resume", "evaluate", "predict") and i + 1 < len(words):
                assert words[i + 1].rsplit("/", 1)[0] in made, command
            if word == "predict":
                assert "x.npy" in made, command
            if word == "--out":
                made.add(words[i + 1])
        made.update(re.findall(r"np\.save\('([^']+)'", command))


def test_the_onnx_runtime_lines_run_a_model_exported_as_the_readme_says(tmp_path, monkeypatch):
    """The README's ONNX Runtime snippet runs on a digits-shaped model that `chainrule export`
    would write (exported here through the same function) and gives one row per input."""
    import numpy as np
    import chainrule as cr
    from chainrule.models.registry import build_model, model_config

    snippet = next(s for s in python_snippets() if "onnxruntime" in s)
    model = build_model(model_config("mlp", (8, 8), 10))
    cr.onnx.export(model, cr.randn(4, 8, 8), tmp_path / "model.onnx")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__readme__"}
    exec(compile(snippet, str(README), "exec"), namespace)
    assert namespace["logits"].shape == (5, 10)
    assert np.all(np.isfinite(namespace["logits"]))
