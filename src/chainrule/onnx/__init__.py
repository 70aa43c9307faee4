"""``chainrule.onnx``: export a model to ONNX through the engine's recorded graph.

    >>> cr.onnx.export(model, example_input, "model.onnx")

See :mod:`.export` for how the graph is walked, :mod:`.emitters` for the op table and
:mod:`.modules` for the layers written as one ONNX op. The ``onnx`` package is imported only
when exporting (``pip install 'chainrule[onnx]'``).
"""
from __future__ import annotations

from .export import ExportError, export

__all__ = ["export", "ExportError"]
