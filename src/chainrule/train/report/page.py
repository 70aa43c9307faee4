"""Rendering the report page with Jinja2 (autoescaping every value) and writing it atomically.

Jinja2 is optional (``pip install 'chainrule[report]'``) and imported only here. The page is
one file: its figures are ``data:`` URIs, its style and its one line of script are inline, and
its Content-Security-Policy forbids fetching anything, so it opens the same offline, mailed or
archived.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .collect import CommandBuilder, collect_run

__all__ = ["render_report", "write_report", "REPORT"]

REPORT = "report.html"
TEMPLATE = "report.html.j2"


def _jinja():
    try:
        import jinja2
    except ImportError:
        raise ImportError("the report page needs Jinja2: pip install 'chainrule[report]'") \
            from None
    return jinja2


def _num(value: Any, digits: int = 4) -> str:
    """A number in ``digits`` significant figures; a dash for a missing or non-finite one."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if math.isfinite(value) else "—"
    return "—" if value is None else str(value)


def _pct(value: Any) -> str:
    """A fraction as a percentage with two decimals (0.875 → 87.50%)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return f"{100 * value:.2f}%"
    return "—"


def _value(value: Any) -> str:
    """An option's or a configuration's value as text: lists comma-separated, None as
    ``none``."""
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return ", ".join(_value(v) for v in value) if value else "[]"
    if isinstance(value, float):
        return _num(value, 6)
    return _num(value) if isinstance(value, (bool, int)) else str(value)


def _environment():
    jinja2 = _jinja()
    env = jinja2.Environment(loader=jinja2.PackageLoader(__package__, "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters.update(num=_num, pct=_pct, value=_value)
    return env


def render_report(context: dict[str, Any]) -> str:
    """The page's HTML for a context from :func:`~.collect.collect_run`."""
    return _environment().get_template(TEMPLATE).render(**context)


def write_report(run_dir: str | Path, out: str | Path | None = None,
                 command: CommandBuilder | None = None) -> Path:
    """Build the report page of ``run_dir`` and write it to ``out`` (default:
    ``run_dir/report.html``) atomically: a failure leaves any earlier page as it was.
    Returns the path written."""
    from ...io import write_text
    _jinja()  # before reading anything: a missing Jinja2 is the one thing to say
    html = render_report(collect_run(run_dir, command))
    path = Path(out) if out is not None else Path(run_dir) / REPORT
    write_text(path, html, what="the report page")
    return path
