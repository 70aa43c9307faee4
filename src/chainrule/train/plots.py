"""Learning curves: training and validation loss and error rate per epoch — the notes'
overfitting picture (training error keeps falling, validation error turns up; the gap between
them grows) — with the best epoch marked and the train/validation gap shaded.

matplotlib is optional (``pip install 'chainrule[viz]'``) and imported only here, without
pyplot (a bare ``Figure`` renders with the Agg/SVG canvases, so no GUI backend is touched).
Every element carries an id (``train_loss``, ``val_error_rate``, ``gap_loss``, ``best_epoch``
...) that appears as ``<g id="...">`` in the SVG.
"""
from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Any, Sequence

from ..io import write_bytes
from .history import History

__all__ = ["plot_history", "history_figure"]

_FORMATS = ("png", "svg")
_STYLE = {"train": ("C0", "-"), "val": ("C1", "-"), "test": ("C2", "--")}
_NAMES = {"train": "training", "val": "validation", "test": "test"}


def _matplotlib():
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("plot_history needs matplotlib: pip install 'chainrule[viz]'") \
            from None
    return matplotlib, Figure


def _points(epochs: list, values: list, scale: float = 1.0) -> tuple[list, list]:
    pairs = [(e, v * scale) for e, v in zip(epochs, values)
             if isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v))]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _panel(ax, history: History, metric: str, label: str, scale: float, best: int | None,
           best_label: str = ""):
    from matplotlib.ticker import MaxNLocator
    epochs = history.series("epoch")
    drawn: dict[str, tuple[list, list]] = {}
    for split in ("train", "val", "test"):
        key = f"{split}_{metric}"
        if key not in history.keys() and split == "train" and metric == "loss":
            key = "train_running_loss"
        xs, ys = _points(epochs, history.series(key), scale)
        if not xs:
            continue
        color, style = _STYLE[split]
        (line,) = ax.plot(xs, ys, style, color=color, marker="o" if len(xs) < 30 else None,
                          markersize=3, label=f"{_NAMES[split]} {label}")
        line.set_gid(f"{split}_{metric}")
        drawn[split] = (xs, ys)
    if metric == "loss" and "train_loss" in history.keys():
        xs, ys = _points(epochs, history.series("train_running_loss"))
        if xs:
            (line,) = ax.plot(xs, ys, ":", color=_STYLE["train"][0], linewidth=1, alpha=0.7,
                              label="training loss (running mean)")
            line.set_gid("train_running_loss")
    if "train" in drawn and "val" in drawn:
        tr, va = dict(zip(*drawn["train"])), dict(zip(*drawn["val"]))
        common = [e for e in tr if e in va]
        if common:
            gap = ax.fill_between(common, [tr[e] for e in common], [va[e] for e in common],
                                  color="C1", alpha=0.15, linewidth=0,
                                  label="generalisation gap")
            gap.set_gid(f"gap_{metric}")
    if best is not None:
        vline = ax.axvline(best, color="0.4", linestyle=":", linewidth=1,
                           label=f"best epoch {best}{best_label}")
        vline.set_gid(f"best_epoch_{metric}")
        split = "val" if "val" in drawn else "train"
        if split in drawn:
            pts = dict(zip(*drawn[split]))
            if best in pts:
                (mark,) = ax.plot([best], [pts[best]], "*", color="k", markersize=10)
                mark.set_gid(f"best_{metric}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(label + (" (%)" if scale == 100 else ""))
    ax.grid(True, alpha=0.3)
    if drawn:
        ax.legend(fontsize="small")
    return drawn


def history_figure(history: Any, *, monitor: str = "val_loss", mode: str = "min",
                   title: str | None = None):
    """A matplotlib ``Figure``: loss per epoch (left) and error rate in % (right, when the
    history has one) for the training, validation and test sets."""
    _, Figure = _matplotlib()
    history = History.from_dict(history)
    if not history:
        raise ValueError("plot_history: the history has no epochs")
    keys = history.keys()
    has_error = any(k.endswith("_error_rate") for k in keys)
    best, best_label = None, ""
    for key in (monitor, monitor.replace("val_", "train_", 1)):
        if key in keys:
            try:
                best = history.best_epoch(key, mode)
                best_label = f" ({'lowest' if mode == 'min' else 'highest'} {key})"
            except KeyError:
                pass
            break
    fig = Figure(figsize=(11 if has_error else 6, 4.2), layout="constrained")
    axes = fig.subplots(1, 2 if has_error else 1, squeeze=False)[0]
    _panel(axes[0], history, "loss", "loss", 1.0, best, best_label)
    axes[0].set_title("loss")
    if has_error:
        _panel(axes[1], history, "error_rate", "error rate", 100.0, best, best_label)
        axes[1].set_title("error rate")
    if title:
        fig.suptitle(title)
    return fig


def _targets(path: Path, formats: Sequence[str] | None) -> list[tuple[Path, str]]:
    if formats is None:
        ext = path.suffix.lower().lstrip(".")
        if ext in _FORMATS:
            return [(path, ext)]
        if ext:
            raise ValueError(f"plot_history: cannot write {path}: the extension must be .png or "
                             f".svg (or none, for both)")
        formats = _FORMATS
    if isinstance(formats, str):
        formats = [formats]
    bad = [f for f in formats if f not in _FORMATS]
    if bad:
        raise ValueError(f"plot_history: unknown format(s) {bad}; use 'png' and/or 'svg'")
    stem = path.with_suffix("") if path.suffix.lower() in (".png", ".svg") else path
    return [(stem.with_name(f"{stem.name}.{f}"), f) for f in formats]


def plot_history(history: Any, path: str | os.PathLike, *,
                 formats: Sequence[str] | str | None = None, monitor: str = "val_loss",
                 mode: str = "min", title: str | None = None, dpi: int = 120) -> list[Path]:
    """Draw the learning curves of ``history`` (a History, its ``to_dict()`` or a list of
    rows) to ``path``: PNG or SVG by its extension, both (``path.png`` and ``path.svg``)
    without one, or as ``formats`` says. Files are written atomically; returns their paths."""
    matplotlib, _ = _matplotlib()
    targets = _targets(Path(path), formats)
    fig = history_figure(history, monitor=monitor, mode=mode, title=title)
    written = []
    with matplotlib.rc_context({"svg.hashsalt": "chainrule", "svg.fonttype": "none"}):
        for target, fmt in targets:
            buf = io.BytesIO()
            metadata = {"Date": None} if fmt == "svg" else None
            fig.savefig(buf, format=fmt, dpi=dpi, metadata=metadata)
            write_bytes(target, buf.getvalue())
            written.append(target)
    return written
