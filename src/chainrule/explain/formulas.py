"""The formula a trace shows for each op, read from the op's own docstring.

Every primitive states its math in the first paragraph of its docstring, forward first, then its
local derivative, e.g. ``z = x·y;  ∂z/∂x = y, ∂z/∂y = x.`` That sentence is the one source: this
module parses it (no second table of derivatives to drift out of step) and substitutes the names
of a traced node and its inputs for the docstring's symbols, so ``∂z/∂y = x`` becomes ``z1`` in a
trace where ``z2 = z1·y``.

Two forms occur. A *local* derivative ``∂z/∂x = …`` (elementwise ops, reductions, losses) is the
factor δ_x picks up from δ_z. A *vector–Jacobian product* ``∂L/∂X = G·Yᵀ`` (matmul, linear,
softmax, conv) already contains the incoming gradient, written ``G`` or ``g``; a trace substitutes
``δ_<output>`` for it.
"""
from __future__ import annotations

import functools
import inspect
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

__all__ = ["OpFormula", "formula_of", "substitute"]

# What may surround a symbol for it to be replaced: not inside a longer name (ASCII letters,
# digits, underscore), not carrying a combining accent (x̂ is another symbol than x) or a
# subscript (xᵢ is one element). Superscripts (z², xᵀ) may follow.
_BEFORE = r"(?<![A-Za-z_∂])"
_AFTER = r"(?![A-Za-z0-9_\u0300-\u036f\u1d62-\u1d6a\u2090-\u209c])"
_SYMBOL_CHARS = r"[^\W\d_][\w\u0300-\u036f]*"
_PARTIAL = re.compile(r"∂(\S+?)/∂(\S+?)\s*=\s*")
_OUTPUT = re.compile(rf"({_SYMBOL_CHARS})(?:\[[^\]]*\])?\s*=\s")
_SENTENCE_END = re.compile(r"\.\s+(?=[A-Z])|\.\s*$")
#: a forward formula longer than this (conv's index expression) is shown as ``op(inputs)``
_LONGEST_FORWARD = 48


@dataclass(frozen=True)
class OpFormula:
    """What an op's docstring says: its forward formula and each input's derivative."""

    op: str                                      #: the op's name (``mul``)
    forward: str                                 #: ``z = x·y`` (empty when not stated)
    output: str | None                           #: the output's symbol (``z``)
    derivative: str                              #: the whole derivative sentence
    pieces: tuple[tuple[str, str, str], ...]     #: (numerator, variable, right-hand side)
    positional: tuple[str | None, ...]           #: forward's input names (None: ``*xs``)

    @property
    def is_vjp(self) -> bool:
        """True when the derivative is written as ∂L/∂x in terms of the incoming gradient."""
        return any(num != self.output for num, _, _ in self.pieces)

    def symbol_of(self, position: int) -> str | None:
        """The docstring's symbol for input ``position`` (``W`` for linear's weight ``w``)."""
        name = self.positional[position] if position < len(self.positional) else None
        if name is None:
            return None
        for _, var, _ in self.pieces:
            if var.lower() == name.lower():
                return var
        return name

    def derivative_for(self, position: int, tensor_inputs: Sequence[bool]) -> str | None:
        """The derivative text for input ``position``: the piece naming its symbol; else the
        pieces no input claimed, handed out in order to the unclaimed Tensor inputs; else the
        whole sentence when it names no variable (``the gradient goes to the larger input``)."""
        if not self.pieces:
            return self.derivative or None
        if None in self.positional and len(self.pieces) == 1:     # f(*xs): one rule for all
            return self.pieces[0][2] if tensor_inputs[position] else None
        claimed: dict[int, str] = {}
        used: set[int] = set()
        for i in range(len(tensor_inputs)):
            symbol = self.symbol_of(i)
            for k, (_, var, rhs) in enumerate(self.pieces):
                if k not in used and symbol is not None and var == symbol:
                    claimed[i] = rhs
                    used.add(k)
                    break
        spare = [rhs for k, (_, _, rhs) in enumerate(self.pieces) if k not in used]
        for i, is_tensor in enumerate(tensor_inputs):
            if i not in claimed and is_tensor and spare:
                claimed[i] = spare.pop(0)
        return claimed.get(position)


def _first_paragraph(doc: str) -> str:
    return " ".join(doc.split("\n\n", 1)[0].split())


def _split(paragraph: str) -> tuple[str, str]:
    """(forward, derivative): the derivative starts after the last ';' before the first '∂',
    at that '∂' when no ';' precedes it, or after the first ';' when no '∂' appears."""
    first = paragraph.find("∂")
    if first >= 0:
        cut = paragraph.rfind(";", 0, first)
        if cut >= 0:
            return paragraph[:cut].strip(), paragraph[cut + 1:].strip()
        return paragraph[:first].strip(), paragraph[first:].strip()
    cut = paragraph.find(";")
    if cut >= 0:
        return paragraph[:cut].strip(), paragraph[cut + 1:].strip()
    return paragraph.strip(), ""


def _first_sentence(text: str) -> str:
    m = _SENTENCE_END.search(text)
    return (text[:m.start()] if m else text).strip()


def _variable(token: str) -> str:
    """``x`` of ``x_ic``, ``xᵢ`` or ``x``; ``ℓ`` of ``ℓᵢ``; ``lo`` of ``lo``."""
    m = re.match(r"[A-Za-z]+", token)
    return m.group(0) if m else token[:1]


def _pieces(derivative: str) -> tuple[tuple[str, str, str], ...]:
    found = []
    for part in re.split(r"[,;]\s*(?=∂)", derivative):
        m = _PARTIAL.search(part)
        if m is None:
            continue
        rhs = _first_sentence(part[m.end():]).rstrip(" ,;")
        found.append((_variable(m.group(1)), _variable(m.group(2)), rhs))
    return tuple(found)


def _positional(cls: type) -> tuple[str | None, ...]:
    try:
        params = list(inspect.signature(cls.forward).parameters.values())[2:]  # self, xp
    except (TypeError, ValueError):
        return ()
    names: list[str | None] = []
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            names.append(None)
            break
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
    return tuple(names)


@functools.lru_cache(maxsize=None)
def _formula_of_class(cls: type) -> OpFormula:
    doc = inspect.getdoc(cls) or ""
    paragraph = _first_paragraph(doc)
    forward, derivative = _split(paragraph)
    output = None
    m = _OUTPUT.search(forward)
    if m is not None:
        output = m.group(1)
        forward = forward[m.start():]
    derivative = derivative.rstrip(". ")
    return OpFormula(op=getattr(cls, "name", cls.__name__.lower()), forward=forward,
                     output=output, derivative=derivative, pieces=_pieces(derivative),
                     positional=_positional(cls))


def formula_of(node: Any) -> OpFormula:
    """The :class:`OpFormula` of an op (a ``Function`` instance or class), parsed once."""
    return _formula_of_class(node if isinstance(node, type) else type(node))


def substitute(text: str, mapping: Mapping[str, str]) -> str:
    """Replace each whole symbol of ``mapping`` in ``text`` at once (``x·y`` with
    ``{'x': 'z1', 'y': 'x'}`` gives ``z1·x``, not ``z1·z1``)."""
    symbols = sorted((s for s in mapping if s), key=len, reverse=True)
    if not symbols or not text:
        return text
    pattern = re.compile(_BEFORE + "(" + "|".join(re.escape(s) for s in symbols) + ")" + _AFTER)
    return pattern.sub(lambda m: mapping[m.group(1)], text)


def forward_display(formula: OpFormula, output: str, inputs: Sequence[str],
                    params: Mapping[str, Any]) -> str:
    """``z2 = z1·y``: the docstring's forward formula (up to its second '=' and before any
    ``for …``/``with …`` prose) with the node's names; ``op(inputs)`` when the docstring's
    formula names none of the inputs' symbols."""
    text = _top_level_clause(formula.forward)
    parts = text.split(" = ")
    text = " = ".join(parts[:2]).strip()
    mapping = _mapping(formula, output, inputs, params)
    generic = f"{output} = {formula.op}({', '.join(inputs)})"
    if not text or formula.output is None:
        return generic
    replaced = substitute(text, mapping)
    named = [mapping[s] for s in mapping if s != formula.output and s in _symbols(text)]
    return replaced if named and len(replaced) <= _LONGEST_FORWARD else generic


def _top_level_clause(text: str) -> str:
    """``text`` up to its first ``, `` / `` for `` / `` with `` outside brackets."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and (text.startswith(", ", i) or text.startswith(" for ", i)
                             or text.startswith(" with ", i)):
            return text[:i]
    return text


#: superscript letters, which may follow a symbol (xᵀ, bʸ) without being part of it (not
#: subscripts: xᵢ is one element, another symbol)
_SUPERSCRIPTS = re.compile(r"[\u02b0-\u02ff\u1d2c-\u1d61\u2070-\u207f]+$")


def _symbols(text: str) -> set[str]:
    """The symbols of ``text`` (``xᵀ`` counts as ``x``)."""
    found = re.findall(_BEFORE + "(" + _SYMBOL_CHARS + ")", text)
    return {_SUPERSCRIPTS.sub("", s) or s for s in found}


#: what a missing bound means
_UNBOUNDED = {"lo": "−∞", "hi": "∞"}
#: parameters that are never a symbol of a formula
_NOT_SYMBOLS = frozenset({"dim", "axis", "axes", "keepdim", "correction", "ddof", "groups",
                          "stride", "padding", "dilation", "reduction", "training"})


def _mapping(formula: OpFormula, output: str, inputs: Sequence[str],
             params: Mapping[str, Any]) -> dict[str, str]:
    from .summary import format_number
    mapping: dict[str, str] = {}
    free = _symbols(formula.forward) | _symbols(formula.derivative)
    for key, value in params.items():    # short names only: p, lo, hi (not axis, threshold)
        if key in _NOT_SYMBOLS:
            continue
        if value is None and key in _UNBOUNDED:
            mapping[key] = _UNBOUNDED[key]
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        text = format_number(value)
        if len(key) <= 2:
            mapping[key] = text
        elif key[0] in free and key[0] not in mapping:    # base → b of z = b^y
            mapping[key[0]] = text
    for i, name in enumerate(inputs):
        symbol = formula.symbol_of(i)
        if symbol is not None:
            mapping[symbol] = name
    if formula.output is not None:
        mapping[formula.output] = output
    return mapping


def derivative_display(formula: OpFormula, position: int, output: str, inputs: Sequence[str],
                       tensor_inputs: Sequence[bool], params: Mapping[str, Any]) -> str | None:
    """The derivative for input ``position`` in the node's names: the local factor ``z1``
    (∂z2/∂y of z2 = z1·y), or for a vector–Jacobian product the whole product with the
    incoming gradient written ``δ_<output>``."""
    text = formula.derivative_for(position, tensor_inputs)
    if text is None:
        return None
    mapping = _mapping(formula, output, inputs, params)
    if formula.is_vjp:
        for g in ("G", "g"):
            if g not in mapping:
                mapping[g] = f"δ_{output}"
        if formula.output:                  # ∂L/∂z, the incoming gradient, is δ_<output>
            text = text.replace(f"∂L/∂{formula.output}", "\x00")
    return _last_form(substitute(text, mapping)).replace("\x00", f"δ_{output}")


def _last_form(text: str) -> str:
    """Of ``eˣ = z1`` (equal forms of one derivative) the last, which names the node; a text
    with no top-level `` = `` unchanged."""
    depth, cuts = 0, []
    for i, ch in enumerate(text):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth == 0 and text.startswith(" = ", i):
            cuts.append(i)
    return text[cuts[-1] + 3:] if cuts else text
