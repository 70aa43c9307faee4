"""Learning curves: the files exist, hold the expected series, mark the best epoch and shade
the train/validation gap."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from chainrule.train import History, fit, history_figure, plot_history

from .problems import setup

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def history():
    s = setup(dropout=0.0)
    return fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=4,
               val_loader=s["val"], test_loader=s["test"])


def _svg_ids(path) -> set[str]:
    return {el.get("id") for el in ET.parse(path).iter() if el.get("id")}


def test_png_and_svg_files_hold_every_series(tmp_path, history):
    written = plot_history(history, tmp_path / "curves")
    assert written == [tmp_path / "curves.png", tmp_path / "curves.svg"]
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ids = _svg_ids(tmp_path / "curves.svg")
    for split in ("train", "val", "test"):
        assert {f"{split}_loss", f"{split}_error_rate"} <= ids
    assert {"train_running_loss", "gap_loss", "gap_error_rate", "best_epoch_loss",
            "best_loss"} <= ids
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files
    assert plot_history(history, tmp_path / "only.svg") == [tmp_path / "only.svg"]
    assert not (tmp_path / "only.png").exists()
    assert plot_history(history, tmp_path / "x.png", formats="svg") == [tmp_path / "x.svg"]
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        plot_history(history, tmp_path / "curves.pdf")


def test_figure_data_are_the_history(history):
    fig = history_figure(history)
    loss_ax, err_ax = fig.axes
    lines = {ln.get_gid(): ln for ax in fig.axes for ln in ax.get_lines()}
    epochs = history.series("epoch")
    for split in ("train", "val", "test"):
        x, y = lines[f"{split}_loss"].get_data()
        assert list(x) == epochs and np.allclose(y, history.series(f"{split}_loss"))
        x, y = lines[f"{split}_error_rate"].get_data()
        assert np.allclose(y, 100 * np.array(history.series(f"{split}_error_rate")))
    best = history.best_epoch("val_loss")
    assert list(lines["best_epoch_loss"].get_xdata()) == [best, best]
    assert list(lines["best_loss"].get_data()[1]) == [history.best("val_loss")["val_loss"]]
    assert loss_ax.get_title() == "loss" and err_ax.get_title() == "error rate"
    # the shaded gap spans the training and validation curves
    gap = next(c for c in loss_ax.collections if c.get_gid() == "gap_loss")
    ys = gap.get_paths()[0].vertices[:, 1]
    lo = np.minimum(history.series("train_loss"), history.series("val_loss")).min()
    hi = np.maximum(history.series("train_loss"), history.series("val_loss")).max()
    assert ys.min() == pytest.approx(lo) and ys.max() == pytest.approx(hi)


def test_without_validation_or_error_rate():
    h = History([{"epoch": e, "train_loss": 1.0 / e, "train_running_loss": 1.2 / e}
                 for e in (1, 2, 3)])
    fig = history_figure(h)
    assert len(fig.axes) == 1
    gids = {ln.get_gid() for ln in fig.axes[0].get_lines()}
    assert "train_loss" in gids and "val_loss" not in gids and "best_epoch_loss" in gids
    with pytest.raises(ValueError, match="no epochs"):
        history_figure(History())
