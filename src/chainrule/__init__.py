"""chainrule: backpropagation from first principles on NumPy.

    >>> import chainrule as cr
    >>> x = cr.tensor(3.0, requires_grad=True); y = cr.tensor(4.0, requires_grad=True)
    >>> f = x * x * y + y + 2
    >>> f.backward(); (f.item(), x.grad.item(), y.grad.item())
    (42.0, 24.0, 10.0)
"""
from __future__ import annotations

import numpy as _np

from .backend import (set_default_dtype, manual_seed, get_rng_state,
                      set_rng_state, retain_freed_memory)
from .dtypes import get_default_dtype   # the chainrule dtype object, as torch's
from .tensor import Tensor
from .devices import device, set_default_device, get_default_device, CUDAUnavailableError
from . import cuda, accelerator
from . import backends  # noqa: E402  (PyTorch's switches; no effect here)
from .size import Size
from .printing import set_printoptions, get_printoptions  # noqa: F401,E402
from .tensor_types import (FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor,  # noqa: F401,E402
                           ShortTensor, CharTensor, ByteTensor, BoolTensor)
from .layouts import layout, strided  # noqa: E402  (dense tensors only)
Tensor.layout = strided  # every tensor is dense (PyTorch: torch.strided)
from . import dtypes
from .dtypes import (float16, half, float32, float64, double, int8, uint8, int16, short, int32,
                     int64, long, bool_)
from .autograd import no_grad, enable_grad, set_grad_enabled, is_grad_enabled
from .autograd.grad_mode import inference_mode, is_inference_mode_enabled
from . import autograd, ops
from .api import methods as _methods  # noqa: F401  (attaches Tensor operators and methods)
from .api import inplace as _inplace  # noqa: F401  (attaches zero_, fill_, add_, ..., t[i] = v)
from .api.dlpack import from_dlpack  # also attaches Tensor.__dlpack__, __dlpack_device__
from .api.creation import *  # noqa: F401,F403
from .api.pointwise import *  # noqa: F401,F403
from .api.reductions import *  # noqa: F401,F403
from .api.shaping import *  # noqa: F401,F403
from .api.shaping import is_tensor
from .api.indexing import *  # noqa: F401,F403
from .api.math import *  # noqa: F401,F403
from .api.slicing import *  # noqa: F401,F403
from .api.compat import *  # noqa: F401,F403  (issue #18 part 1; attaches its methods)
from .api.inplace_more import scatter  # noqa: F401,E402 (reduce=; attaches the methods)
from .api.compat2 import *  # noqa: F401,F403,E402  (issue #18 part 2: %, //, round, median, ...)
from .api.random import *  # noqa: F401,F403  (also attaches random_, bernoulli_, exponential_)
from .api import view_dtype as _view_dtype  # noqa: F401,E402 (Tensor.view(dtype))
from .generator import Generator, default_generator, seed, initial_seed
from ._blas import set_num_threads, get_num_threads  # BLAS thread policy (issue #17)
from .api.out_arg import install as _install_out  # noqa: E402
_install_out(globals())  # PyTorch's out= on the functions it gives it (issue #18)

float = float32  # noqa: A001 - PyTorch's aliases
int = int32  # noqa: A001
bool = bool_  # noqa: A001

__version__ = "0.1.0"

# Keep freed host memory for reuse (see backend.retain_freed_memory; undo with
# chainrule.retain_freed_memory(False)).
retain_freed_memory()


def save(obj, f, pickle_module=None, pickle_protocol: int = 2,
         _use_new_zipfile_serialization: bool = True, _disable_byteorder_record: bool = False
         ) -> None:
    """Write tensors and JSON-able state to a safetensors checkpoint ``f`` (a path, atomically,
    or a binary file object). PyTorch's pickle arguments are accepted: nothing is pickled."""
    from .io.torch_args import check_pickle_module
    check_pickle_module(pickle_module, "save")
    path = f
    from .nn.module import Module
    if isinstance(obj, Module):
        raise TypeError(f"save: got a whole {type(obj).__name__} module; save its weights with "
                        "chainrule.save(model.state_dict(), path) and rebuild the model in code "
                        "before load_state_dict. Checkpoints are safetensors, which hold tensors "
                        "and plain data only: a module object would need pickle, which can run "
                        "arbitrary code when loaded")
    from .io import save as _save
    _save(obj, path)


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args):
    """Read a checkpoint written by :func:`save` from ``f`` (a path or a binary file object);
    errors name the file and the damage. Tensors load on the CPU unless ``map_location`` says
    otherwise; nothing is unpickled, so ``weights_only`` is always effectively True."""
    from .io import load as _load
    from .io.torch_args import check_pickle_module, check_pickle_load_args
    check_pickle_module(pickle_module, "load")
    check_pickle_load_args(pickle_load_args)
    return _load(f, map_location, weights_only=weights_only, mmap=mmap)


def diagnose(model, batch, loss_fn):
    """Gradient health of one batch: per-layer activations, δ = ∂L/∂(layer output), gradient
    norms, saturated and dead units, and the verdicts they give (see
    :func:`chainrule.train.health.diagnose`); ``print()`` the result for a table."""
    from .train.health import diagnose as _diagnose
    return _diagnose(model, batch, loss_fn)


def __getattr__(name):
    # Subpackages that depend on optional pieces load on first use.
    import importlib
    if name in ("nn", "optim", "data", "train", "func", "io", "models", "regularization",
                "explain", "onnx", "utils", "distributed"):
        return importlib.import_module(f".{name}", __name__)
    if name in ("conv_transpose1d", "conv_transpose2d", "group_norm"):   # torch.* aliases of F.*
        return getattr(importlib.import_module(".nn.functional", __name__), name)
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")
