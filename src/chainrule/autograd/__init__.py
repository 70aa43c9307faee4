"""Reverse-mode automatic differentiation: the engine, grad modes and checking tools."""
from .grad_mode import (no_grad, enable_grad, set_grad_enabled, is_grad_enabled, inference_mode,
                        is_inference_mode_enabled)
from .function import Function, OpError, OpIndexError
from .custom_function import FunctionCtx, once_differentiable
from .engine import backward, grad, queue_callback
from .anomaly import detect_anomaly, is_anomaly_enabled, AnomalyError
from .gradcheck import gradcheck, gradgradcheck, GradcheckError
from .record import record, Recording, RecordedOp, is_recording

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "Function", "OpError",
           "backward", "grad", "queue_callback", "detect_anomaly", "is_anomaly_enabled", "AnomalyError",
           "gradcheck", "gradgradcheck", "GradcheckError", "record", "Recording", "RecordedOp",
           "is_recording", "inference_mode", "is_inference_mode_enabled", "OpIndexError",
           "FunctionCtx", "once_differentiable"]


def __getattr__(name):
    if name == "functional":        # torch.autograd.functional's API, loaded on first use
        import importlib
        return importlib.import_module(".functional", __name__)
    raise AttributeError(f"module 'chainrule.autograd' has no attribute {name!r}")
