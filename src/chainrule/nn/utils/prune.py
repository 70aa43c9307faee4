"""Pruning: zero out weights through a mask, PyTorch's ``torch.nn.utils.prune`` design.

Pruning parameter ``name`` of a module re-parameterises it:

- the original Parameter moves to ``name + '_orig'`` (the same object, so an optimizer that
  already holds it keeps training it);
- a buffer ``name + '_mask'`` of 0s and 1s (in the parameter's dtype) is registered, so it is
  saved in ``state_dict`` as ``weight_mask`` beside ``weight_orig``, as in PyTorch;
- ``name`` becomes a plain attribute, ``weight = weight_orig * weight_mask``, recomputed by a
  forward pre-hook before every call. Its gradient w.r.t. ``weight_orig`` is the mask, so pruned
  entries get zero gradient, and whatever an optimizer does to ``weight_orig`` (momentum, weight
  decay), the weight the module uses stays exactly zero where the mask is.

:func:`remove` makes the pruning permanent: ``name`` is a Parameter again holding the masked
values, and ``_orig`` / ``_mask`` are gone.

Pruning the same parameter again composes with the existing mask, as PyTorch's
``PruningContainer`` does: an unstructured method sees only the entries still unpruned, so
``amount`` is a fraction of the *remaining* entries (rounded with Python's ``round``) or an
absolute count of them.
"""
from __future__ import annotations

import numbers
from typing import Any, Iterable

import numpy as np

from ... import backend
from ...tensor import Tensor

__all__ = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured",
           "L1Unstructured", "CustomFromMask", "identity", "random_unstructured",
           "l1_unstructured", "global_unstructured", "custom_from_mask", "remove", "is_pruned"]


# -- amounts -------------------------------------------------------------------------------------
def _check_amount(amount: Any) -> None:
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        raise TypeError(f"prune: invalid type for amount: {amount!r} ({type(amount).__name__}); "
                        "must be an int (a count) or a float in [0, 1] (a fraction)")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (
            not isinstance(amount, numbers.Integral) and not 0.0 <= float(amount) <= 1.0):
        raise ValueError(f"prune: amount={amount!r} should either be a float in the range "
                         "[0, 1] or a non-negative integer")


def _n_to_prune(amount, size: int) -> int:
    """How many of ``size`` entries to prune: ``amount`` itself if an int, else
    round(amount·size)."""
    n = int(amount) if isinstance(amount, numbers.Integral) else round(float(amount) * size)
    if n > size:
        raise ValueError(f"prune: amount={amount} should be smaller than the number of "
                         f"parameters to prune={size}")
    return n


def _array(value) -> Any:
    return value._data if isinstance(value, Tensor) else np.asarray(value)


# -- methods -------------------------------------------------------------------------------------
class BasePruningMethod:
    """A way of computing a mask. Subclasses set ``PRUNING_TYPE`` ('unstructured' or 'global')
    and implement :meth:`compute_mask` on raw arrays; an instance is the forward pre-hook that
    recomputes ``module.<name>`` from ``<name>_orig`` and ``<name>_mask``."""

    PRUNING_TYPE = "unstructured"
    _tensor_name: str | None = None

    def __call__(self, module, inputs) -> None:
        setattr(module, self._tensor_name, self.apply_mask(module))

    def compute_mask(self, t, default_mask):
        """A new mask (an array shaped like ``t``) on top of ``default_mask``, from the
        importance scores ``t``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement compute_mask")

    def apply_mask(self, module) -> Tensor:
        """``<name>_orig * <name>_mask`` (differentiable w.r.t. ``_orig``)."""
        name = self._tensor_name
        if name is None:
            raise RuntimeError(f"prune: {type(self).__name__} has not been applied to a module")
        mask = getattr(module, name + "_mask")
        orig = getattr(module, name + "_orig")
        if mask.dtype != orig.dtype:
            mask = Tensor._wrap(mask._data.astype(orig.dtype), False, None)
        return mask * orig

    @classmethod
    def apply(cls, module, name: str, *args, importance_scores=None, **kwargs):
        """Prune ``module.<name>`` with a new ``cls(*args, **kwargs)``, composing with any
        pruning already there; returns the method now installed as the hook."""
        old_key, old = _find_hook(module, name)
        method = cls(*args, **kwargs)
        method._tensor_name = name
        if old is None:
            installed = method
        elif isinstance(old, PruningContainer):
            installed = PruningContainer(*old._pruning_methods, method)
        else:
            installed = PruningContainer(old, method)

        orig = getattr(module, name, None)
        if not isinstance(orig, Tensor):
            raise ValueError(f"prune: {type(module).__name__} has no tensor {name!r} to prune")
        if old is None and module._parameters.get(name) is not orig:
            raise ValueError(f"prune: {name!r} of {type(module).__name__} is not a parameter")
        scores = orig._data if importance_scores is None else _array(importance_scores)
        if tuple(scores.shape) != tuple(orig.shape):
            raise ValueError(f"prune: importance_scores should have the same shape as parameter "
                             f"{name!r} of {type(module).__name__}, got {tuple(scores.shape)} "
                             f"vs {tuple(orig.shape)}")
        if old is None:
            default = backend.get_array_module(orig._data).ones_like(orig._data)
        else:
            default = module._buffers[name + "_mask"]._data.copy()
        mask = installed.compute_mask(scores, default)   # may raise: nothing changed yet

        if old is None:
            del module._parameters[name]
            module.register_parameter(name + "_orig", orig)
        else:
            del module._forward_pre_hooks[old_key]
        module.register_buffer(name + "_mask", Tensor._wrap(mask, False, None))
        setattr(module, name, installed.apply_mask(module))
        module.register_forward_pre_hook(installed)
        return installed

    def prune(self, t, default_mask=None, importance_scores=None) -> Tensor:
        """``t`` times the mask this method computes (from ``importance_scores``, default
        ``t``)."""
        arr = _array(t)
        scores = arr if importance_scores is None else _array(importance_scores)
        default = np.ones_like(arr) if default_mask is None else _array(default_mask)
        mask = self.compute_mask(scores, default)
        return t * Tensor._wrap(mask.astype(arr.dtype, copy=False), False, None)

    def remove(self, module) -> None:
        """Make the pruning permanent: ``<name>`` becomes a Parameter holding the masked values
        (the ``_orig`` Parameter object itself, so optimizers keep working)."""
        name = self._tensor_name
        weight = self.apply_mask(module)
        if name in module.__dict__:
            delattr(module, name)
        orig = module._parameters.pop(name + "_orig")
        orig._data = weight._data
        orig._bump_version()
        del module._buffers[name + "_mask"]
        setattr(module, name, orig)


def _find_hook(module, name: str):
    found = [(k, h) for k, h in module._forward_pre_hooks.items()
             if isinstance(h, BasePruningMethod) and h._tensor_name == name]
    if len(found) > 1:
        raise RuntimeError(f"prune: more than one pruning hook for {name!r} of "
                           f"{type(module).__name__}; use a PruningContainer")
    return found[0] if found else (None, None)


class PruningContainer(BasePruningMethod):
    """A sequence of pruning methods on one tensor. Its mask is the previous mask with the
    newest method applied to what is left: for an 'unstructured' method, the entries still 1
    (so amounts are fractions of the remaining entries); for a 'global' one, the whole tensor."""

    def __init__(self, *methods: BasePruningMethod):
        self._pruning_methods: tuple = ()
        for m in methods:
            self.add_pruning_method(m)

    def add_pruning_method(self, method: BasePruningMethod) -> None:
        if not isinstance(method, BasePruningMethod):
            raise TypeError(f"prune: {type(method).__name__} is not a BasePruningMethod")
        if not self._pruning_methods and self._tensor_name is None:
            self._tensor_name = method._tensor_name
        elif method._tensor_name != self._tensor_name:
            raise ValueError(f"prune: can only add pruning methods acting on "
                             f"{self._tensor_name!r} to this PruningContainer, found "
                             f"{method._tensor_name!r}")
        self._pruning_methods += (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, i):
        return self._pruning_methods[i]

    def compute_mask(self, t, default_mask):
        method = self._pruning_methods[-1]
        new = default_mask.copy()
        if method.PRUNING_TYPE == "unstructured":
            keep = default_mask == 1
            new[keep] = method.compute_mask(t[keep], default_mask[keep])
        elif method.PRUNING_TYPE == "global":
            new[...] = method.compute_mask(t, default_mask)
        else:
            raise ValueError(f"prune: unsupported PRUNING_TYPE {method.PRUNING_TYPE!r}")
        return new


class Identity(BasePruningMethod):
    """Prunes nothing: installs the re-parameterisation with a mask of ones."""

    def compute_mask(self, t, default_mask):
        return default_mask


class RandomUnstructured(BasePruningMethod):
    """Prune ``amount`` of the (unpruned) entries, chosen uniformly at random with chainrule's
    seeded generator (``chainrule.manual_seed``)."""

    def __init__(self, amount):
        _check_amount(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        k = _n_to_prune(self.amount, t.size)
        mask = default_mask.copy()
        if k:
            idx = backend.default_generator().permutation(t.size)[:k]
            mask.reshape(-1)[idx] = 0
        return mask


class L1Unstructured(BasePruningMethod):
    """Prune the ``amount`` (unpruned) entries of smallest absolute value (ties: lower index
    first)."""

    def __init__(self, amount):
        _check_amount(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        k = _n_to_prune(self.amount, t.size)
        mask = default_mask.copy()
        if k:
            xp = backend.get_array_module(t)
            idx = xp.argsort(xp.abs(t).reshape(-1), kind="stable")[:k]
            mask.reshape(-1)[idx] = 0
        return mask


class CustomFromMask(BasePruningMethod):
    """Multiply a given mask into the existing one."""

    PRUNING_TYPE = "global"

    def __init__(self, mask):
        self.mask = _array(mask)

    def compute_mask(self, t, default_mask):
        if tuple(self.mask.shape) != tuple(default_mask.shape):
            raise ValueError(f"prune: mask of shape {tuple(self.mask.shape)} does not match the "
                             f"tensor's shape {tuple(default_mask.shape)}")
        return default_mask * self.mask.astype(default_mask.dtype, copy=False)


# -- the functional interface --------------------------------------------------------------------
def identity(module, name: str):
    """Re-parameterise ``module.<name>`` with a mask of ones (prunes nothing)."""
    Identity.apply(module, name)
    return module


def random_unstructured(module, name: str, amount):
    """Prune ``amount`` (a fraction of the unpruned entries, or a count) of ``module.<name>`` at
    random."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module, name: str, amount, importance_scores=None):
    """Prune the ``amount`` entries of ``module.<name>`` with the smallest |score| (the weights
    themselves unless ``importance_scores`` is given)."""
    L1Unstructured.apply(module, name, amount, importance_scores=importance_scores)
    return module


def custom_from_mask(module, name: str, mask):
    """Prune ``module.<name>`` with a given 0/1 ``mask`` (composed with any existing mask)."""
    CustomFromMask.apply(module, name, mask)
    return module


def global_unstructured(parameters: Iterable, pruning_method=L1Unstructured,
                        importance_scores: dict | None = None, **kwargs) -> None:
    """Prune across several tensors at once: ``parameters`` is an iterable of
    ``(module, name)``; the scores of all of them (their current, masked values unless
    ``importance_scores[(module, name)]`` is given) are pooled and ``pruning_method(**kwargs)``
    (an unstructured method, e.g. ``L1Unstructured`` with ``amount=``) chooses among the entries
    not pruned yet. Each tensor then gets its part of the mask."""
    parameters = list(parameters)
    importance_scores = {} if importance_scores is None else importance_scores
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured: importance_scores must be a dict")
    method = pruning_method(**kwargs)
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(f"global_unstructured: only 'unstructured' pruning methods are "
                        f"supported, got {type(method).__name__} ({method.PRUNING_TYPE})")
    scores, masks = [], []
    for module, name in parameters:
        t = getattr(module, name)
        s = _array(importance_scores.get((module, name), t))
        if tuple(s.shape) != tuple(t.shape):
            raise ValueError(f"global_unstructured: importance scores for {name!r} have shape "
                             f"{tuple(s.shape)}, the tensor {tuple(t.shape)}")
        scores.append(s.reshape(-1))
        m = module._buffers.get(name + "_mask")
        masks.append(np.ones(t._data.size, t.dtype) if m is None else m._data.reshape(-1))
    method._tensor_name = "temp"
    container = PruningContainer(method)
    final = container.compute_mask(np.concatenate(scores), np.concatenate(masks))
    offset = 0
    for module, name in parameters:
        t = getattr(module, name)
        n = t._data.size
        custom_from_mask(module, name, final[offset:offset + n].reshape(t.shape))
        offset += n


def remove(module, name: str):
    """Make the pruning of ``module.<name>`` permanent and drop its hook, ``_orig`` and
    ``_mask``."""
    key, hook = _find_hook(module, name)
    if hook is None:
        raise ValueError(f"prune.remove: parameter {name!r} of {type(module).__name__} has to "
                         "be pruned before pruning can be removed")
    hook.remove(module)
    del module._forward_pre_hooks[key]
    return module


def is_pruned(module) -> bool:
    """True if ``module`` or any submodule carries a pruning hook."""
    return any(isinstance(h, BasePruningMethod)
               for _, m in module.named_modules() for h in m._forward_pre_hooks.values())
