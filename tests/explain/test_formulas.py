"""Formulas come from each op's docstring: every primitive states one, and names substitute."""
import importlib
import pkgutil

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional
import chainrule.ops
from chainrule.autograd.function import Function
from chainrule.explain import formulas as F
from chainrule.explain.summary import format_number, summarize


def _primitives() -> list[type]:
    for pkg in (chainrule.ops, chainrule.nn.functional):
        for m in pkgutil.iter_modules(pkg.__path__):
            importlib.import_module(f"{pkg.__name__}.{m.name}")
    found, stack = set(), [Function]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                stack.append(sub)
    return sorted((c for c in found if not c.__name__.startswith("_")
                   and c.__module__.startswith(("chainrule.ops", "chainrule.nn"))),
                  key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", _primitives(), ids=lambda c: c.__name__)
def test_every_primitive_states_its_forward_and_derivative(cls):
    f = F.formula_of(cls)
    assert f.output, f"{cls.__name__}: the docstring's forward formula names no output"
    assert f.derivative, f"{cls.__name__}: the docstring states no derivative after ';'"


@pytest.mark.parametrize("cls, expected", [
    ("Mul", [("z", "x", "y"), ("z", "y", "x")]),
    ("Sub", [("z", "x", "1"), ("z", "y", "−1")]),
    ("Div", [("z", "x", "1/y"), ("z", "y", "−x/y²")]),
    ("Tanh", [("z", "x", "1 − z²")]),
])
def test_docstring_pieces(cls, expected):
    f = F.formula_of(getattr(chainrule.ops.elementwise, cls))
    assert list(f.pieces) == expected and not f.is_vjp


def test_vjp_formulas_take_the_incoming_delta():
    from chainrule.ops.linalg import MatMul
    f = F.formula_of(MatMul)
    assert f.is_vjp
    assert F.derivative_display(f, 0, "net1", ["x", "W1"], [True, True], {}) == "δ_net1·W1ᵀ"
    assert F.derivative_display(f, 1, "net1", ["x", "W1"], [True, True], {}) == "xᵀ·δ_net1"
    assert F.forward_display(f, "net1", ["x", "W1"], {}) == "net1 = x @ W1"


def test_substitution_is_simultaneous_and_whole_symbol():
    assert F.substitute("x·y", {"x": "y", "y": "x"}) == "y·x"
    assert F.substitute("max(x, 0) + x̂ + xᵢ + z²", {"x": "a", "z": "q"}) == \
        "max(a, 0) + x̂ + xᵢ + q²"


def test_constant_parameters_and_where_masks():
    from chainrule.ops.elementwise import PowScalar, Where
    f = F.formula_of(PowScalar)
    assert F.forward_display(f, "z1", ["x"], {"p": 2}) == "z1 = x^2"
    assert F.derivative_display(f, 0, "z1", ["x"], [True], {"p": 2}) == "2·x^(2−1)"
    w = F.formula_of(Where)               # cond is the first input but has no derivative
    assert w.derivative_for(0, [False, True, True]) is None
    assert w.derivative_for(1, [False, True, True]) == "c"


def test_summaries_print_scalars_exactly_and_tensors_briefly():
    assert format_number(np.float32(42)) == "42"
    assert format_number(np.float32(1 / (1 + np.exp(-0.75)))) == "0.6791787"
    assert format_number(np.float64(0.1)) == "0.1"
    assert format_number(-0.25) == "-0.25"
    assert summarize(cr.tensor([[7.0]])) == "7"
    text = summarize(np.arange(12, dtype=np.float32).reshape(3, 4))
    assert text.startswith("(3, 4) float32")
    for part in ("mean 5.5", "‖·‖ 22.49", "min 0", "max 11", "[0, 1, 2, 3, …]"):
        assert part in text
    assert "empty" in summarize(np.zeros((0, 2)))
    assert "2 not finite" in summarize(np.array([1.0, np.nan, np.inf]))


def _lines(t) -> list[str]:
    return [line.strip() for line in str(t).splitlines()]


def test_a_number_to_a_power_shows_its_base_and_derivative():
    x = cr.tensor(1.0, requires_grad=True)
    with cr.autograd.record():
        t = cr.explain.trace(2.0 ** x, names={"x": x})
    text = str(t)
    assert "f = 2^x" in text
    assert "δ_x = δ_f·2^x·ln 2" in text and " and " not in text
    assert float(t["x"].delta) == pytest.approx(2 * np.log(2), rel=1e-6)


def test_a_transpose_shows_as_one_and_sums_of_jacobian_products_are_bracketed():
    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    w = cr.tensor(np.ones((3, 2)), requires_grad=True)
    with cr.autograd.record():
        t = cr.explain.trace((x @ w).sum() + x.T.sum(), names={"x": x, "w": w})
    lines = _lines(t)
    assert any(line.startswith("z3 = xᵀ") for line in lines), lines
    assert any(line.startswith("z2 = sum(z1)") for line in lines), lines   # not Σᵢ xᵢ
    delta_x = next(line for line in lines if line.startswith("δ_x "))
    assert "= (δ_z1·wᵀ) + (δ_z3 permuted back) →" in delta_x, delta_x


def test_a_live_graph_shows_the_parameters_its_nodes_kept():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    f = ((x ** 3).clamp(0, 50)).mean()           # no recording: rebuilt from grad_fn
    text = str(cr.explain.trace(f, names={"x": x}))
    assert "z1 = x^3" in text and "^p" not in text
    assert "min(max(z1, 0), 50)" in text and " lo" not in text and "hi)" not in text
