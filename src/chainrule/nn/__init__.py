"""``chainrule.nn``: modules, layers, losses, initialisers and utilities (PyTorch's names)."""
from . import functional  # noqa: F401
from . import init, utils  # noqa: F401
from .parameter import Parameter, UninitializedParameter, UninitializedBuffer
from .module import Module, RemovableHandle
from .containers import Sequential, ModuleList, ModuleDict
from .linear import Linear, Identity
from .conv import Conv1d, Conv2d
from .pooling import (MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, AdaptiveAvgPool1d,
                      AdaptiveAvgPool2d)
from .flatten import Flatten, Unflatten
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .dropout import Dropout
from .sparse import Embedding
from .residual import Residual
from .lazy import (LazyLinear, LazyConv1d, LazyConv2d, LazyBatchNorm1d, LazyBatchNorm2d,
                   LazyModuleMixin)
from .activation import (ReLU, LeakyReLU, PReLU, ELU, GELU, Sigmoid, Tanh, Softplus, Softmax,
                         LogSoftmax, Softmin, Step)
from .loss import (MSELoss, L1Loss, HuberLoss, SmoothL1Loss, CrossEntropyLoss, NLLLoss, BCELoss,
                   BCEWithLogitsLoss, HingeLoss, MultiMarginLoss)
from .activation import SiLU, Hardswish
from .conv import ConvTranspose1d, ConvTranspose2d
from .normalization import GroupNorm
from .upsampling import Upsample
from ..distributed.sync_batchnorm import SyncBatchNorm  # noqa: E402 (needs .normalization)
from . import parallel  # noqa: E402,F401

__all__ = [
    "functional", "init", "utils", "Parameter", "Module", "RemovableHandle", "Sequential",
    "ModuleList", "ModuleDict", "Linear", "Identity", "Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d",
    "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "Flatten", "Unflatten",
    "BatchNorm1d", "BatchNorm2d", "LayerNorm", "Dropout", "Embedding", "Residual", "ReLU",
    "LeakyReLU", "PReLU", "ELU", "GELU", "Sigmoid", "Tanh", "Softplus", "Softmax", "LogSoftmax",
    "Softmin", "Step", "MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "CrossEntropyLoss",
    "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "HingeLoss", "MultiMarginLoss",
    "UninitializedParameter", "UninitializedBuffer", "LazyModuleMixin", "LazyLinear", "LazyConv1d",
    "LazyConv2d", "LazyBatchNorm1d", "LazyBatchNorm2d",
    "SiLU", "Hardswish", "ConvTranspose1d", "ConvTranspose2d", "GroupNorm", "Upsample",
]
__all__ += ["SyncBatchNorm", "parallel"]
from .parameter_containers import ParameterList, ParameterDict  # noqa: E402
from .kl_div_loss import KLDivLoss  # noqa: E402
from .dropout_channels import Dropout1d, Dropout2d, Dropout3d  # noqa: E402
from .instance_norm import InstanceNorm1d, InstanceNorm2d  # noqa: E402
from .adaptive_max import AdaptiveMaxPool1d, AdaptiveMaxPool2d  # noqa: E402
from .activation_bounded import (Hardtanh, ReLU6, Hardsigmoid, Softsign, Tanhshrink,  # noqa: E402
                                 LogSigmoid, Mish)
from .distance import CosineSimilarity, PairwiseDistance  # noqa: E402
from .fold import Unfold, Fold  # noqa: E402
__all__ += ["ParameterList", "ParameterDict", "KLDivLoss", "Dropout1d", "Dropout2d", "Dropout3d",
            "InstanceNorm1d", "InstanceNorm2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
            "Hardtanh", "ReLU6", "Hardsigmoid", "Softsign", "Tanhshrink", "LogSigmoid", "Mish",
            "CosineSimilarity", "PairwiseDistance", "Unfold", "Fold"]
