"""Callbacks: small objects the training loop calls at clear points (see :mod:`.base`)."""
from .base import Callback, LambdaCallback, CallbackList, HOOKS
from .early_stopping import EarlyStopping
from .checkpoint import ModelCheckpoint
from .lr import LRSchedulerCallback
from .clipping import GradientClipping
from .progress import ProgressBar, format_epoch
from .loggers import CSVLogger, JSONLLogger, read_jsonl
from .nan import TerminateOnNaN
from .tensorboard import TensorBoard
from .health import GradientHealth

__all__ = ["Callback", "LambdaCallback", "CallbackList", "HOOKS", "EarlyStopping",
           "ModelCheckpoint", "LRSchedulerCallback", "GradientClipping", "ProgressBar",
           "format_epoch", "CSVLogger", "JSONLLogger", "read_jsonl", "TerminateOnNaN",
           "TensorBoard", "GradientHealth"]
