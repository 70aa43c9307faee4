"""Gradient health: per-layer statistics of training batches and the verdicts drawn from them.

    LayerCollector(model)      hooks that measure one batch: activations, δ, saturation, dead
                               units, gradient and weight norms (collector.py)
"""
from .collector import LayerCollector, LayerStats, ParamStats, layer_modules

__all__ = ["LayerCollector", "LayerStats", "ParamStats", "layer_modules"]
