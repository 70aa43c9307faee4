"""Reverse-mode automatic differentiation: the engine, grad modes and checking tools."""
from .grad_mode import no_grad, enable_grad, set_grad_enabled, is_grad_enabled
from .function import Function, OpError
from .engine import backward, grad, queue_callback
from .anomaly import detect_anomaly, is_anomaly_enabled, AnomalyError
from .gradcheck import gradcheck, gradgradcheck, GradcheckError
from .record import record, Recording, RecordedOp, is_recording

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "Function", "OpError",
           "backward", "grad", "queue_callback", "detect_anomaly", "is_anomaly_enabled", "AnomalyError",
           "gradcheck", "gradgradcheck", "GradcheckError", "record", "Recording", "RecordedOp",
           "is_recording"]
