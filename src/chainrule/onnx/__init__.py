"""``chainrule.onnx``: export a model to ONNX through the engine's recorded graph.

    >>> cr.onnx.export(model, example_input, "model.onnx")
    $ chainrule export CKPT --onnx model.onnx         # the model of a training checkpoint

Running the file with ONNX Runtime::

    import numpy as np, onnxruntime as ort
    session = ort.InferenceSession("model.onnx", providers=["CPUExecutionProvider"])
    logits = session.run(None, {"input": x.astype(np.float32)})[0]   # x: (any batch, *input_shape)

Design: the graph written is the one the engine recorded during one forward (primitive by
primitive, see :mod:`.emitters`), except for the layers in :mod:`.modules`, which forward hooks
delimit and which are written as one ONNX op each (BatchNormalization, LayerNormalization,
Gelu, LeakyRelu, Elu, PRelu, grouped Conv). A second forward on another input (:mod:`.twin`)
tells what depends on the input: masks from comparisons are written as ONNX ops
(:mod:`.comparisons`), shapes that follow the batch keep it free (:mod:`.shapes`), anything else
is refused. :mod:`.export` runs the model, :mod:`.walk` writes the recording; :mod:`.graph`
holds names, initializers and the batch axis. The ``onnx`` package is imported only when
exporting (``pip install 'chainrule[onnx]'``). float32 is the target: ONNX Runtime lacks some
float64 kernels (Erf, for GELU below opset 20).
"""
from __future__ import annotations

from .export import ExportError, export

__all__ = ["export", "ExportError"]
