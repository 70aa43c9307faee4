"""``chainrule.nn.functional``: network functions with PyTorch's names and signatures.

One module per concept; each defines ``__all__`` and is re-exported here.
"""
from ...api.pointwise import (relu, leaky_relu, elu, gelu, softplus, sigmoid, tanh)  # noqa: F401
from .activation import *  # noqa: F401,F403  softmax, log_softmax, softmin, prelu
from .conv import *  # noqa: F401,F403  conv1d, conv2d
from .pooling import *  # noqa: F401,F403  max/avg/adaptive pooling
from .dropout import *  # noqa: F401,F403  dropout
from .loss import *  # noqa: F401,F403  losses (cross_entropy and nll_loss from .cross_entropy)
from .normalization import *  # noqa: F401,F403  batch_norm, layer_norm
from .sparse import *  # noqa: F401,F403  embedding
from .linear import *  # noqa: F401,F403  linear
from .gated import *  # noqa: F401,F403  silu, hardswish
from .conv_transpose import *  # noqa: F401,F403  conv_transpose1d, conv_transpose2d
from .upsampling import *  # noqa: F401,F403  interpolate, upsample
from .inplace_activations import *  # noqa: F401,F403  relu, elu, silu, ... with inplace=
from .bounded import *  # noqa: F401,F403  hardtanh, relu6, hardsigmoid, softsign, mish, ...
from .distance import *  # noqa: F401,F403  cosine_similarity, pairwise_distance, normalize
from .kl_div import *  # noqa: F401,F403  kl_div
from .dropout_channels import *  # noqa: F401,F403  dropout1d/2d/3d
from .instance_norm import *  # noqa: F401,F403  instance_norm
from .adaptive_max import *  # noqa: F401,F403  adaptive_max_pool1d/2d
from .fold import *  # noqa: F401,F403  unfold, fold
