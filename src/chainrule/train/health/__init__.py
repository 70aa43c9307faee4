"""Gradient health: per-layer statistics of training batches and the verdicts drawn from them.

    LayerCollector(model)       hooks measuring one batch: activations, δ, saturated and dead
                                units, gradient and weight norms, update ratio (collector.py)
    thresholds                  the named constants of every verdict, with how each was set
    Verdict, Sample             a finding (kind, layer, epoch, step, evidence, remedy) and one
                                measured batch (verdicts.py)
    HealthRecord                per-epoch series per layer and the verdicts (monitor.py)
    diagnose(model, batch, loss_fn)   one batch outside ``fit`` (diagnose.py)
    write_health_json, plot_health    health.json and health.png (files.py)

The training callback is :class:`chainrule.train.callbacks.GradientHealth`.
"""
from .collector import LayerCollector, LayerStats, ParamStats, layer_modules
from .thresholds import optimizer_family
from .verdicts import Verdict, Sample, KINDS, REMEDIES
from .monitor import HealthRecord
from .diagnose import diagnose, Diagnosis
from .files import write_health_json, plot_health

__all__ = ["LayerCollector", "LayerStats", "ParamStats", "layer_modules", "optimizer_family",
           "Verdict", "Sample", "KINDS", "REMEDIES", "HealthRecord", "diagnose", "Diagnosis",
           "write_health_json", "plot_health"]
