"""The report page of a training run: ``report.html``, one self-contained file with the
configuration, the final metrics, the learning curves, the gradient-health verdicts and
figures, the model's layers with their parameter counts and the command that reproduces the
run.

    write_report("runs/digits-mlp")          # -> runs/digits-mlp/report.html
    collect_run("runs/digits-mlp")           # the values the page shows, as a dict

Rendering needs Jinja2 (``pip install 'chainrule[report]'``).
"""
from .errors import ReportError
from .collect import collect_run
from .page import REPORT, render_report, write_report

__all__ = ["ReportError", "collect_run", "render_report", "write_report", "REPORT"]
