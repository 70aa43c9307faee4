"""``chainrule.models``: ready-made classifiers and a registry that rebuilds them from a
configuration (the one stored in a training checkpoint).

    >>> from chainrule import models
    >>> net = models.build_model(models.model_config("mlp", [8, 8], 10, hidden=[32]))
    >>> net.config["hidden"], sum(p.numel() for p in net.parameters())
    ([32], 2410)

Builders: :func:`logreg`, :func:`mlp`, :func:`resmlp`, :func:`cnn` (2-D LeNet-style for
images, 1-D for MNIST-1D signals). Each takes ``(input_shape, num_classes, **options)``.
"""
from ._parts import ACTIVATIONS, INITS
from .builders import cnn, logreg, mlp, resmlp
from .registry import MODELS, build_model, model_config, model_options, register_model
from .size import ModelTooLarge, check_size, parameter_count

__all__ = ["logreg", "mlp", "resmlp", "cnn", "MODELS", "build_model", "model_config",
           "model_options", "register_model", "ACTIVATIONS", "INITS", "parameter_count",
           "check_size", "ModelTooLarge"]
