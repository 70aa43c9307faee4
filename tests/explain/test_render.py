"""The drawings: valid SVG with every node's value and δ, PNG files, both layout engines."""
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from chainrule.explain import examples, render_svg
from chainrule.explain.summary import summarize

ENGINES = [pytest.param("graphviz", marks=pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot program is not installed")),
    "matplotlib"]


def _texts(svg: str) -> str:
    root = ET.fromstring(svg)                # valid XML, or this raises
    assert root.tag.endswith("svg")
    return " ".join("".join(el.itertext()) for el in root.iter())


@pytest.mark.parametrize("engine", ENGINES)
def test_svg_holds_every_value_and_delta(engine):
    t = examples.multipath().trace
    text = _texts(t.to_svg(engine=engine))
    for node in t.nodes:
        assert summarize(node.value) in text, (node.name, "value")
        assert node.name in text
        if node.delta is not None:
            assert summarize(node.delta) in text, (node.name, "δ")
    for edge in t.edges:                      # the δ sent along each edge
        assert summarize(edge.product) in text


@pytest.mark.parametrize("engine", ENGINES)
def test_png_and_svg_files_are_written(engine, tmp_path):
    t = examples.circuit().trace
    t.save(tmp_path / "g.png", engine=engine)
    t.save(tmp_path / "g.svg", engine=engine)
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "42" in _texts((tmp_path / "g.svg").read_text())


def test_auto_falls_back_to_matplotlib_without_dot(monkeypatch):
    monkeypatch.setattr(render_svg.shutil, "which", lambda name: None)
    assert render_svg.choose_engine("auto") == "matplotlib"
    with pytest.raises(ImportError, match="dot"):
        render_svg.choose_engine("graphviz")
    t = examples.circuit().trace
    svg = t._repr_svg_()                      # what Jupyter shows
    assert "matplotlib" in svg[:2000].lower() and "24" in _texts(svg)


def test_a_tensor_trace_draws_norms(tmp_path):
    t = examples.xor_net().trace
    text = _texts(t.to_svg(engine="matplotlib"))
    norm = float(np.sqrt(np.sum(t["W1"].delta.astype(np.float64) ** 2)))
    assert f"‖·‖ {norm:.4g}" in text


def test_bad_names_and_suffixes_are_refused(tmp_path):
    t = examples.circuit().trace
    with pytest.raises(ValueError, match=r"'\.pdf'"):
        t.save(tmp_path / "g.pdf")
    with pytest.raises(ValueError, match="engine"):
        t.to_svg(engine="tikz")
    with pytest.raises(KeyError, match="no node named 'q'"):
        t["q"]
    assert not (tmp_path / "g.pdf").exists()


def _mlp_trace():
    import chainrule as cr
    cr.manual_seed(0)
    net = cr.nn.Sequential(cr.nn.Linear(2, 3), cr.nn.Sigmoid(), cr.nn.Linear(3, 1))
    with cr.autograd.record():
        loss = ((net(cr.randn(4, 2)) - 1) ** 2).mean()
        return cr.explain.trace(loss, names=net)


def _overlap(a, b) -> bool:
    """Centre-size rectangles (x, y, w, h) that share some area."""
    return abs(a[0] - b[0]) < (a[2] + b[2]) / 2 and abs(a[1] - b[1]) < (a[3] + b[3]) / 2


@pytest.mark.parametrize("make", [lambda: examples.circuit().trace,
                                  lambda: examples.multipath().trace, _mlp_trace])
def test_matplotlib_layout_keeps_labels_off_boxes_and_apart(make):
    from chainrule.explain import render_mpl
    t = make()
    plan = render_mpl.layout(t, render_svg._layers(t), render_svg.node_label,
                             render_svg.edge_label)
    boxes = list(plan.nodes.values())
    labels = [label[:4] for label in plan.labels]
    assert len(labels) == sum(1 for e in t.edges if render_svg.edge_label(e))
    for i, a in enumerate(boxes):
        assert 0 <= a[0] - a[2] / 2 and a[0] + a[2] / 2 <= plan.width
        assert 0 <= a[1] - a[3] / 2 and a[1] + a[3] / 2 <= plan.height
        assert not any(_overlap(a, b) for b in boxes[i + 1:])
    for i, a in enumerate(labels):
        assert not any(_overlap(a, b) for b in boxes), plan.labels[i][4]
        assert not any(_overlap(a, b) for b in labels[i + 1:]), plan.labels[i][4]
    for s, t_, _, _ in plan.edges:             # every edge runs left to right
        assert plan.nodes[s][0] < plan.nodes[t_][0]
