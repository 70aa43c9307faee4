"""chainrule explain: expressions, the notes' examples, a checkpoint's layer view, refusals."""
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .helpers import assert_one_line_error, run_cli

CIRCUIT = ["explain", "x**2*y + y + 2", "--at", "x=3,y=4"]


def _final_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(("f =", "∂f/∂"))]


def test_the_notes_circuit_prints_value_gradients_and_both_passes(capsys):
    code, out, err = run_cli(CIRCUIT, capsys)
    assert code == 0, err
    assert _final_lines(out) == ["f = 42", "∂f/∂x = 24", "∂f/∂y = 10"]
    assert out.index("forward pass") < out.index("backward pass") < out.index("f = 42")
    assert "(1·9) + (1·1) = 10" in out        # y's two paths
    assert out.startswith("f(x, y) = x**2*y + y + 2   at x = 3, y = 4")


def test_out_writes_the_drawing(capsys, tmp_path):
    svg = tmp_path / "g.svg"
    code, out, err = run_cli([*CIRCUIT, "--out", svg, "--engine", "matplotlib"], capsys)
    assert code == 0, err
    ET.fromstring(svg.read_text())
    assert f"wrote {svg}" in out
    code, _, err = run_cli([*CIRCUIT, "--out", tmp_path / "g.gif"], capsys)
    assert_one_line_error(code, err, "--out", ".gif")


@pytest.mark.parametrize("source, words", [
    ("__import__('os')", ["__import__", "not allowed"]),
    ("x.real", ["attribute access"]),
    ("().__class__", ["attribute access"]),
    ("open('f')", ["calling open"]),
    ("x ** q", ["unknown variable 'q'"]),
])
def test_unsafe_or_unknown_expressions_are_one_line_errors(source, words, capsys):
    code, out, err = run_cli(["explain", source, "--at", "x=1"], capsys)
    assert_one_line_error(code, err, *words)
    assert out == ""


@pytest.mark.parametrize("argv, words", [
    (["explain", "x*2", "--at", "x=1,y=2"], ["--at gives y"]),
    (["explain", "x*2", "--at", "x=two"], ["not a number"]),
    (["explain", "2*3"], ["no variable"]),
    (["explain"], ["give an expression"]),
    (["explain", "x", "--example", "circuit"], ["--example takes no"]),
    (["explain", "--example", "nope"], ["--example"]),
])
def test_other_mistakes_are_one_line_errors(argv, words, capsys):
    code, _, err = run_cli(argv, capsys)
    assert_one_line_error(code, err, *words)


@pytest.mark.parametrize("name, expected", [
    ("circuit", ["∂f/∂x = 24", "∂f/∂y = 10"]),
    ("neuron", ["∂f/∂w3 = -0.43578997"]),
    ("multipath", ["∂f/∂x3 = 0.8910525", "δ_x1·1 + δ_w3x3·w3"]),
    ("xor-net", ["L = 0.1882908", "∂L/∂W1 = (2, 2) float32"]),
])
def test_examples(name, expected, capsys):
    code, out, err = run_cli(["explain", "--example", name], capsys)
    assert code == 0, err
    for text in expected:
        assert text in out


def test_example_names_are_answered_as_documented(capsys):
    """Case and -/_ do not matter, and a wrong name lists the names as the help spells them."""
    code, out, err = run_cli(["explain", "--example", "XOR_net"], capsys)
    assert code == 0 and "L = 0.1882908" in out, err
    code, out, err = run_cli(["explain", "--example", "xor"], capsys)
    assert_one_line_error(code, err, "'xor'", "xor-net")
    assert "xor_net" not in err


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    import chainrule.cli as cli
    import chainrule.cli.train_cmd as train_cmd
    folder = tmp_path_factory.mktemp("explain") / "r"
    plot, train_cmd._plot = train_cmd._plot, lambda history, out, title: []
    try:
        assert cli.main(["train", "--hidden", "16,8", "--batch-size", "128", "--quiet",
                         "--epochs", "1", "--no-health", "--out", str(folder)]) == 0
    finally:
        train_cmd._plot = plot
    return folder / "model.safetensors"


def test_a_checkpoint_shows_the_layer_view(checkpoint, capsys, tmp_path):
    png = tmp_path / "layers.png"
    code, out, err = run_cli(["explain", checkpoint, "--dataset", "digits", "--batch-size",
                              "20", "--out", png], capsys)
    assert code == 0, err
    assert "layer view of one batch (20 items)" in out
    assert "Jacobian products" in out and out.count("= ‖∇W‖ ✓") == 3
    assert "(20, 16)" in out and "(20, 10)" in out
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_a_checkpoint_with_at_or_a_missing_file_is_refused(checkpoint, capsys, tmp_path):
    code, _, err = run_cli(["explain", checkpoint, "--at", "x=1"], capsys)
    assert_one_line_error(code, err, "--at is for expressions")
    code, _, err = run_cli(["explain", tmp_path / "none.safetensors"], capsys)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("source, words", [
    ("x + 10**10**10", ["overflows float64"]),
    ("x + 1/0", ["1/0", "divides by zero"]),
    ("x*10**400", ["overflows"]),
    ("+".join(["x"] * 3000), ["too deeply nested"]),
])
def test_constant_overflow_and_huge_expressions_are_one_line_errors(source, words, capsys):
    code, out, err = run_cli(["explain", source, "--at", "x=1"], capsys)
    assert_one_line_error(code, err, *words)
    assert "File name too long" not in err


def test_a_long_expression_and_a_file_named_like_the_variable_are_expressions(
        capsys, tmp_path, monkeypatch):
    long = " + ".join(["x"] * 120)                         # > 255 characters
    code, out, err = run_cli(["explain", long, "--at", "x=1"], capsys)
    assert code == 0, err
    assert "f = 120" in out
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x").write_text("not a checkpoint")
    code, out, err = run_cli(["explain", "x", "--at", "x=3"], capsys)
    assert code == 0, err
    assert "∂f/∂x = 1" in out


def test_a_checkpoint_without_its_suffix_is_recognised_by_its_header(checkpoint, capsys,
                                                                      tmp_path):
    bare = tmp_path / "model"
    bare.write_bytes(checkpoint.read_bytes())
    code, _, err = run_cli(["explain", bare, "--at", "x=1"], capsys)
    assert_one_line_error(code, err, "--at is for expressions")
    code, out, err = run_cli(["explain", bare, "--batch-size", "4"], capsys)
    assert code == 0, err
    assert "layer view of one batch (4 items)" in out


def test_an_expression_starting_with_a_minus_is_documented_and_works_after_dashes(capsys):
    code, out, _ = run_cli(["explain", "--help"], capsys)
    assert code == 0
    assert "-- \"-x**2\"" in " ".join(out.split())
    code, out, err = run_cli(["explain", "--at", "x=2", "--", "-x**2"], capsys)
    assert code == 0, err
    assert _final_lines(out) == ["f = -4", "∂f/∂x = -4"]


def test_a_folder_is_still_answered_as_a_checkpoint_folder(capsys, tmp_path, monkeypatch):
    (tmp_path / "runs" / "x").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["explain", "runs/x"], capsys)    # which parses as runs / x
    assert_one_line_error(code, err, "is a folder", "model.safetensors")
