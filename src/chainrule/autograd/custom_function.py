"""PyTorch's custom-op API (``forward(ctx, ...)``/``backward(ctx, *grads)`` staticmethods) on top
of chainrule's primitive :class:`~chainrule.autograd.function.Function`.

A subclass of ``chainrule.autograd.Function`` whose ``forward`` is a staticmethod is a *custom*
function: :meth:`Function.__init_subclass__` gives it :func:`custom_apply` as its ``apply``, so
the primitives' hot ``apply`` is untouched. One call records one node, :class:`CustomNode`, as the
grad_fn of the (single) output. With several outputs the node's output is a hidden *packed*
tensor (an object array holding one gradient slot per output) and each visible output hangs off
it through a :class:`_Unpack` node; the engine sums the slots like any gradient, so the user's
``backward`` receives one gradient per output, with zeros (or ``None`` after
``ctx.set_materialize_grads(False)``) for outputs that got none.

The chain rule is the user's: ``backward`` returns vᵀ·∂out/∂inputᵢ for each forward argument.
It runs under no_grad in ordinary backward, and with grad mode on under ``create_graph=True``,
where the gradients and saved tensors it sees are graph Tensors, so a backward written with
differentiable tensor ops gives second derivatives.
"""
from __future__ import annotations

import inspect
import numpy as np

from . import function as _fn
from .grad_mode import _grad_enabled, no_grad

__all__ = ["FunctionCtx", "custom_apply", "once_differentiable"]


class FunctionCtx:
    """The ``ctx`` handed to a custom function's forward and backward; takes any attribute."""

    def __init__(self, needs_input_grad: tuple):
        self.needs_input_grad = needs_input_grad
        self.materialize_grads = True
        self._saved: tuple = ()
        self._saved_versions: tuple = ()
        self._non_differentiable: set = set()
        self._released = False

    def save_for_backward(self, *tensors) -> None:
        """Keep tensors (or None) for backward; an in-place change to one before backward is
        an error there, as in PyTorch."""
        Tensor = _fn.Tensor
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save tensors or None, argument {i} "
                                f"is a {type(t).__name__}; keep other values as ctx attributes")
        self._saved = tensors
        self._saved_versions = tuple(None if t is None else _fn.version_of(t) for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        if self._released:
            raise RuntimeError("saved_tensors: the saved tensors were freed after the first "
                               "backward; pass retain_graph=True to the first backward if you "
                               "need it twice")
        for i, (t, v) in enumerate(zip(self._saved, self._saved_versions)):
            if t is not None and _fn.version_of(t) != v:
                raise RuntimeError(
                    f"saved_tensors: saved tensor {i} (shape {tuple(t.shape)}) was modified in "
                    "place after save_for_backward; clone it before modifying it")
        return self._saved

    def mark_non_differentiable(self, *tensors) -> None:
        """These outputs get no gradient (indices, masks): they do not require grad."""
        self._non_differentiable.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """False: backward receives None, not zeros, for outputs that got no gradient."""
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors) -> None:
        """Accepted for compatibility; in-place custom forwards are not tracked specially."""


def once_differentiable(backward):
    """Decorator for a custom backward that is not itself differentiable: it runs under no_grad."""
    def wrapper(ctx, *grads):
        with no_grad():
            return backward(ctx, *grads)
    wrapper.__name__ = getattr(backward, "__name__", "backward")
    wrapper.__doc__ = backward.__doc__
    return wrapper


class CustomNode(_fn.Function):
    """The graph node of one call of a custom function (named ``<Class>Backward`` as in PyTorch)."""

    name = "custombackward"

    def __init__(self, cls, ctx: FunctionCtx, n_outputs: int):
        self.fn_cls = cls
        self.ctx = ctx
        self.n_outputs = n_outputs
        self.out_meta: list = []          # (shape, dtype) of each output, for materialized zeros

    def saved_as_tensors(self) -> tuple:
        return self.saved

    def __getattr__(self, name: str):
        # PyTorch's grad_fn *is* the ctx: let ``y.grad_fn.<attribute set on ctx>`` work too
        if name == "ctx" or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.ctx, name)

    def release(self) -> None:
        self.ctx._released = True
        super().release()

    def backward(self, xp, grad):
        Tensor = _fn.Tensor
        ctx = self.ctx
        create_graph = _grad_enabled[0]          # the engine enables grad only for create_graph
        slots = list(grad) if self.n_outputs > 1 else [grad]
        grads = []
        for g, (shape, dtype) in zip(slots, self.out_meta):
            if isinstance(g, int):                # an output that received no gradient
                if not ctx.materialize_grads:
                    grads.append(None)
                    continue
                g = np.zeros(shape, dtype)
            grads.append(g if isinstance(g, Tensor) else Tensor._wrap(g, False, None))
        result = self.fn_cls.backward(ctx, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        n_in = len(self.inputs)
        if len(result) < n_in or any(r is not None for r in result[n_in:]):
            raise RuntimeError(f"{self.fn_cls.__name__}.backward returned {len(result)} "
                               f"gradient(s), but forward took {n_in} argument(s)")
        out = []
        for i, (r, x, need) in enumerate(zip(result, self.inputs, self.needs_input_grad)):
            if r is None or not need:
                out.append(None)
                continue
            if not isinstance(r, Tensor):
                raise TypeError(f"{self.fn_cls.__name__}.backward: gradient {i} is a "
                                f"{type(r).__name__}, expected a Tensor or None")
            if tuple(r.shape) != tuple(x.shape):
                try:
                    np.broadcast_shapes(tuple(x.shape), tuple(r.shape))
                except ValueError:
                    raise RuntimeError(
                        f"{self.fn_cls.__name__}.backward: gradient {i} has shape "
                        f"{tuple(r.shape)} but input {i} has shape {tuple(x.shape)}") from None
            out.append(r if create_graph else r._data)
        return tuple(out)


class _Unpack(_fn.Function):
    """Output k of a multi-output custom function: forward picks its slot; backward puts the
    gradient into slot k of an otherwise empty (zero) packed gradient."""

    def backward(self, xp, grad):
        packed = np.zeros(self.n, dtype=object)
        packed[self.k] = grad
        return (packed,)

    def __getattr__(self, name: str):
        if name == "ctx" or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.ctx, name)


def _bind(cls, args: tuple, kwargs: dict) -> tuple:
    """Keyword arguments of apply() bound to forward's positions (as PyTorch does)."""
    if not kwargs:
        return args
    sig = inspect.signature(cls.forward)
    params = list(sig.parameters)
    fake = (None,) if not _uses_setup_context(cls) else ()
    bound = sig.bind(*fake, *args, **kwargs)
    bound.apply_defaults()
    if bound.kwargs:
        raise TypeError(f"{cls.__name__}.apply: forward's keyword-only arguments are not "
                        "supported; make them positional")
    return tuple(bound.args[len(fake):]) if params else args


def _uses_setup_context(cls) -> bool:
    sc = inspect.getattr_static(cls, "setup_context", None)
    return isinstance(sc, staticmethod)


def _wire(node, out, Tensor):
    """Make ``out`` (a fresh Tensor) the recorded output of ``node``."""
    out.requires_grad = True
    out.grad_fn = node


def custom_apply(cls, *args, **kwargs):
    """Run a custom function: forward under no_grad, then record one node when an input needs
    a gradient and grad mode is on."""
    Tensor = _fn.Tensor
    args = _bind(cls, args, kwargs)
    flags = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
    recording = _grad_enabled[0] and True in flags
    ctx = FunctionCtx(flags)
    with no_grad():
        if _uses_setup_context(cls):
            result = cls.forward(*args)
            cls.setup_context(ctx, args, result)
        else:
            result = cls.forward(ctx, *args)
    single = not isinstance(result, tuple)
    outs = [result] if single else list(result)
    # an input returned as-is becomes a new tensor over the same data (PyTorch returns a view)
    outs = [o.detach() if isinstance(o, Tensor) and any(o is a for a in args) else o
            for o in outs]
    if not recording:
        return outs[0] if single else tuple(outs)
    node = CustomNode(cls, ctx, len(outs))
    node.name = cls.name
    node.saved = (ctx,)
    node.inputs = args
    node.needs_input_grad = flags
    node._out_ref = _fn._no_output
    node._ran_at = None
    node._trace = None
    node.out_meta = [(tuple(o.shape), o.dtype) if isinstance(o, Tensor) else ((), np.float32)
                     for o in outs]
    diff = [isinstance(o, Tensor) and o.dtype.kind in "fc"
            and id(o) not in ctx._non_differentiable for o in outs]
    if single:
        if diff[0]:
            node._seq = _fn._next_seq()
            _wire(node, outs[0], Tensor)
        return outs[0]
    packed = Tensor._wrap(np.zeros(len(outs), dtype=object), True, node)
    node._seq = _fn._next_seq()
    for k, o in enumerate(outs):
        if not diff[k]:
            continue
        un = _Unpack()
        un.k, un.n, un.saved = k, len(outs), ()
        un.inputs, un.needs_input_grad = (packed,), (True,)
        un._out_ref, un._ran_at, un._trace = _fn._no_output, None, None
        un._seq = _fn._next_seq()
        un.name, un.ctx = node.name, ctx
        _wire(un, o, Tensor)
    return tuple(outs)


def is_custom(cls) -> bool:
    """True for a subclass written in PyTorch's style (forward is a staticmethod)."""
    return isinstance(inspect.getattr_static(cls, "forward", None), staticmethod)


def custom_name(cls) -> str:
    return f"{cls.__name__}Backward"

