"""Safe arithmetic expressions for ``chainrule explain "x**2*y + y + 2" --at x=3,y=4``.

The text is parsed with Python's :mod:`ast` and only these forms are accepted: numbers, the
given variables, ``+ - * / **``, unary minus (and plus), brackets, and one-argument calls of
exp, log, sqrt, sin, cos, tanh, sigmoid, relu and abs. Each becomes a chainrule op on the
variables' tensors. Anything else — attribute access, other names or calls, subscripts,
comparisons, strings — is an :class:`ExpressionError` naming it; nothing is ever ``eval``'d.

Numbers are float64 from the start, as the tensors are: a piece made of constants only
(``10**10**10``, ``1/0``) is computed in IEEE floating point — never as an exact Python integer,
so nothing can run for ever — and a constant piece whose value is not a finite number (an
overflow to ±inf, a division by zero, ``(-8)**(1/3)``) is refused with an
:class:`ExpressionError` naming it. Arithmetic on the variables follows the tensors' own rules
(``x/0`` is inf, shown as such). An expression nested too deeply for the parser (thousands of
terms) is refused the same way.
"""
from __future__ import annotations

import ast
import math
import warnings
from typing import Any, Callable, Mapping

__all__ = ["ExpressionError", "FUNCTIONS", "parse", "parse_assignments", "variables_of",
           "evaluate"]


class ExpressionError(ValueError):
    """The expression (or a ``--at`` assignment) uses something not allowed, or is malformed."""


def _op(name: str) -> Callable[[Any], Any]:
    def apply(x):
        from .. import ops
        return getattr(ops, name)(x)
    apply.__name__ = name
    return apply


#: the functions an expression may call, by the name it calls them
FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    name: _op(target) for name, target in (
        ("exp", "exp"), ("log", "log"), ("sqrt", "sqrt"), ("sin", "sin"), ("cos", "cos"),
        ("tanh", "tanh"), ("sigmoid", "sigmoid"), ("relu", "relu"), ("abs", "absolute"))}

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_WHAT = {ast.Attribute: "attribute access", ast.Subscript: "indexing", ast.Compare:
         "comparisons", ast.BoolOp: "and/or", ast.Lambda: "lambda", ast.IfExp: "if/else",
         ast.List: "lists", ast.Tuple: "tuples", ast.Dict: "dicts", ast.Set: "sets",
         ast.ListComp: "comprehensions", ast.GeneratorExp: "comprehensions",
         ast.NamedExpr: "assignment (:=)", ast.Starred: "starred arguments",
         ast.JoinedStr: "strings", ast.Await: "await", ast.Yield: "yield"}


def _snippet(node: ast.AST, source: str) -> str:
    text = ast.get_source_segment(source, node) or type(node).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def parse(source: str, variables: Any = None) -> ast.Expression:
    """Parse ``source`` and check every node (see the module docstring); ``variables`` (names
    allowed, None: any plain name) limits the variables."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("the expression is empty")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse {_short(source)!r}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise _too_deep(source) from None
    allowed = None if variables is None else set(variables)
    try:
        _check(tree.body, source.strip(), allowed)
    except (RecursionError, MemoryError):
        raise _too_deep(source) from None
    return tree


def _short(source: str) -> str:
    return source if len(source) <= 60 else source[:57] + "..."


def _too_deep(source: str) -> ExpressionError:
    return ExpressionError(f"{_short(source)!r} ({len(source)} characters): expression too "
                           "deeply nested to parse; write a shorter expression")


def _check(node: ast.AST, source: str, allowed: set | None) -> None:
    what = _snippet(node, source)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ExpressionError(f"{what}: only numbers are allowed as constants")
        return
    if isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise ExpressionError(f"{what}: {node.id} is a function; call it, e.g. "
                                  f"{node.id}(x)")
        if allowed is not None and node.id not in allowed:
            given = ", ".join(sorted(allowed)) or "none"
            raise ExpressionError(f"{what}: unknown variable {node.id!r} (given with --at: "
                                  f"{given})")
        return
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            hint = "; write powers as **" if isinstance(node.op, ast.BitXor) else ""
            raise ExpressionError(f"{what}: the operator {type(node.op).__name__} is not "
                                  f"allowed (only + - * / **){hint}")
        _check(node.left, source, allowed)
        _check(node.right, source, allowed)
        return
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise ExpressionError(f"{what}: only unary minus and plus are allowed")
        _check(node.operand, source, allowed)
        return
    if isinstance(node, ast.Call):
        func = node.func
        if not isinstance(func, ast.Name) or func.id not in FUNCTIONS:
            name = func.id if isinstance(func, ast.Name) else _snippet(func, source)
            raise ExpressionError(f"{what}: calling {name} is not allowed (functions: "
                                  f"{', '.join(FUNCTIONS)})")
        if node.keywords or len(node.args) != 1:
            raise ExpressionError(f"{what}: {func.id} takes exactly one argument")
        _check(node.args[0], source, allowed)
        return
    kind = _WHAT.get(type(node), type(node).__name__)
    raise ExpressionError(f"{what}: {kind} is not allowed in an expression (only numbers, "
                          "variables, + - * / **, unary minus and the functions "
                          f"{', '.join(FUNCTIONS)})")


def variables_of(tree: ast.Expression) -> list[str]:
    """The variable names ``tree`` uses, in order of first appearance."""
    seen: dict[str, None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in FUNCTIONS:
            seen.setdefault(node.id, None)
    return list(seen)


def evaluate(tree: ast.Expression, values: Mapping[str, Any], source: str = "") -> Any:
    """Build the expression out of chainrule ops on the Tensors in ``values``; constants are
    float64 and a constant piece that is not finite is an :class:`ExpressionError` (see the
    module docstring). ``source`` (the text parsed) makes the messages quote it."""
    source = source.strip()
    try:
        return _build(tree.body, values, source)
    except (RecursionError, MemoryError):
        raise _too_deep(source or ast.unparse(tree)) from None
    except ArithmeticError as exc:      # belt and braces: folding below raises none itself
        raise ExpressionError(f"{_short(source)!r}: {exc}") from None


def _number(node: ast.Constant, source: str) -> float:
    """A literal as float64; a literal too large for it (``1e400``, a 400-digit integer) is
    refused."""
    try:
        value = float(node.value)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise ExpressionError(f"{_snippet(node, source)}: the number is too large for float64 "
                              "(largest ≈ 1.8e308)")
    return value


def _fold(symbol: str, left: float, right: float, node: ast.AST, source: str) -> float:
    """``left symbol right`` for two constants, in float64 as a tensor op would compute it;
    a result that is not finite (inf, nan) is refused, naming the piece."""
    import numpy as np
    a, b = np.float64(left), np.float64(right)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide,
                 "**": np.power}[symbol](a, b)
    if not np.isfinite(value):
        why = "divides by zero" if symbol == "/" and b == 0 or symbol == "**" and a == 0 \
            and b < 0 else "overflows float64" if np.isinf(value) else "is not a real number"
        raise ExpressionError(f"{_snippet(node, source) if source else symbol}: this constant "
                              f"part {why} (it would be {float(value)}); constants are computed "
                              "in float64, like the tensors")
    return float(value)


def _build(node: ast.AST, values: Mapping[str, Any], source: str) -> Any:
    if isinstance(node, ast.Constant):
        return _number(node, source)
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.UnaryOp):
        operand = _build(node.operand, values, source)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Call):
        return FUNCTIONS[node.func.id](_build(node.args[0], values, source))
    left, right = _build(node.left, values, source), _build(node.right, values, source)
    symbol = _BINARY[type(node.op)]
    if isinstance(left, float) and isinstance(right, float):
        return _fold(symbol, left, right, node, source)
    if symbol == "+":
        return left + right
    if symbol == "-":
        return left - right
    if symbol == "*":
        return left * right
    if symbol == "/":
        return left / right
    return left ** right


def parse_assignments(text: str) -> dict[str, float]:
    """``"x=3,y=4"`` -> ``{'x': 3.0, 'y': 4.0}`` (numbers only; names must be identifiers)."""
    found: dict[str, float] = {}
    for part in (p.strip() for p in (text or "").split(",")):
        if not part:
            continue
        name, eq, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not eq or not name.isidentifier() or name in FUNCTIONS:
            raise ExpressionError(f"--at: {part!r} is not NAME=NUMBER (e.g. --at x=3,y=4)")
        try:
            number = float(value)
        except ValueError:
            raise ExpressionError(f"--at: {name}={value!r}: {value!r} is not a number") \
                from None
        if not math.isfinite(number):
            raise ExpressionError(f"--at: {name}={value}: the value must be finite")
        if name in found:
            raise ExpressionError(f"--at: {name} is given twice")
        found[name] = number
    return found
