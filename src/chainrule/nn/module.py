"""Module: the base class of layers and models, with PyTorch's API.

A Module owns Parameters (learnable), buffers (saved but not trained, e.g. BatchNorm's running
statistics) and child Modules, found by attribute assignment; iteration, train/eval, dtype
conversion and hooks walk that tree. ``state_dict()`` names each tensor by its path
(``0.weight``, ``bn.running_mean``) as PyTorch does, so checkpoints map by name.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Iterator

import numpy as np

from .. import devices
from ..tensor import Tensor
from . import placement, state
from .hooks import RemovableHandle
from .parameter import Parameter
from .state import IncompatibleKeys

__all__ = ["Module", "RemovableHandle"]


def _addindent(text: str, n: int) -> str:
    lines = text.split("\n")
    return lines[0] if len(lines) == 1 else "\n".join([lines[0]] + [" " * n + ln for ln in
                                                                     lines[1:]])


def _check_name(module: "Module", kind: str, name: str, table: dict) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
    if name == "" or "." in name:
        raise KeyError(f"{kind} name can't be empty or contain '.', got {name!r}")
    if hasattr(module, name) and name not in table:
        raise KeyError(f"attribute '{name}' already exists")


class Module:
    """Base class for all layers and models: subclass it, assign Parameters and sub-Modules in
    ``__init__``, and write ``forward``. Calling the module runs its hooks around ``forward``."""

    training: bool

    def __init__(self) -> None:
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_non_persistent"] = set()
        d["_modules"] = {}
        d["_forward_pre_hooks"] = {}
        d["_forward_hooks"] = {}

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"Module [{type(self).__name__}] is missing the required "
                                  "'forward' function")

    def __call__(self, *args, **kwargs):
        pre, post = self._forward_pre_hooks, self._forward_hooks
        if not pre and not post:
            return self.forward(*args, **kwargs)
        for hook in list(pre.values()):
            r = hook(self, args)
            if r is not None:
                args = r if isinstance(r, tuple) else (r,)
        out = self.forward(*args, **kwargs)
        for hook in list(post.values()):
            r = hook(self, args, out)
            if r is not None:
                out = r
        return out

    # -- registration ----------------------------------------------------------------------------
    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or a None placeholder) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name(self, "parameter", name, self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter "
                            f"'{name}' (chainrule.nn.Parameter or None required)")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a buffer: state that is saved (unless ``persistent=False``) but not trained."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name(self, "buffer", name, self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            "(Tensor or None required)")
        self._buffers[name] = tensor
        (self._non_persistent.discard if persistent else self._non_persistent.add)(name)

    def add_module(self, name: str, module: "Module | None") -> None:
        """Add a child module under ``name``."""
        if "_modules" not in self.__dict__:
            raise AttributeError("cannot assign module before Module.__init__() call")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        _check_name(self, "module", name, self._modules)
        self._modules[name] = module

    register_module = add_module

    def register_forward_pre_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, args)`` runs before forward; a returned value replaces the inputs."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def register_forward_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, args, output)`` runs after forward; a return value replaces output."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    # -- attribute routing -----------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            t = d.get(table)
            if t is not None and name in t:
                return t[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        params, buffers, modules = d.get("_parameters"), d.get("_buffers"), d.get("_modules")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name, keep="_parameters")
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(chainrule.nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name, keep="_modules")
            modules[name] = value
        elif modules is not None and name in modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module "
                                f"'{name}' (Module or None expected)")
            modules[name] = None
        elif buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(Tensor or None expected)")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str, keep: str) -> None:
        """Remove ``name`` from every place but the table ``keep`` (where it keeps its order)."""
        d = self.__dict__
        d.pop(name, None)
        for table in ("_parameters", "_buffers", "_modules"):
            if table != keep:
                d[table].pop(name, None)
        d["_non_persistent"].discard(name)

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            if name in d.get(table, ()):
                del d[table][name]
                d["_non_persistent"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    # -- walking the tree ------------------------------------------------------------------------
    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, "Module"]]:
        """(path, module) for this module and every descendant, depth first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, f"{prefix}.{name}" if prefix else name,
                                           remove_duplicate)

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator["Module"]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, table: str, prefix: str, recurse: bool, remove_duplicate: bool,
                       persistent_only: bool = False):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]
        for path, m in mods:
            for name, t in getattr(m, table).items():
                if t is None or (persistent_only and name in m._non_persistent):
                    continue
                if remove_duplicate:
                    if id(t) in seen:
                        continue
                    seen.add(id(t))
                yield (f"{path}.{name}" if path else name), t

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(name, parameter) pairs; a parameter shared by two modules is listed once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> "Module":
        """The descendant at a dotted path such as ``'encoder.0'`` ('' is this module)."""
        m = self
        for part in target.split(".") if target else []:
            child = m._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(m).__name__} has no submodule '{part}' (looking up "
                                     f"'{target}')")
            m = child
        return m

    def get_parameter(self, target: str) -> Parameter:
        path, _, name = target.rpartition(".")
        m = self.get_submodule(path)
        if m._parameters.get(name) is None:
            raise AttributeError(f"{type(m).__name__} has no parameter '{name}'")
        return m._parameters[name]

    def get_buffer(self, target: str) -> Tensor:
        path, _, name = target.rpartition(".")
        m = self.get_submodule(path)
        if m._buffers.get(name) is None:
            raise AttributeError(f"{type(m).__name__} has no buffer '{name}'")
        return m._buffers[name]

    # -- modes and gradients -----------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Set training mode (dropout active, batch statistics) on this module and all below."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode is expected to be a bool, got {mode!r}")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self) -> "Module":
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every parameter's gradient (or zero it in place with ``set_to_none=False``)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            elif p.grad.requires_grad or p.grad.grad_fn is not None:
                p.grad = Tensor._wrap(np.zeros_like(p.grad._data), False, None)
            else:
                p.grad._data[...] = 0

    # -- state -----------------------------------------------------------------------------------
    def _state_entries(self, prefix: str = "") -> "OrderedDict[str, Tensor]":
        """Every persistent tensor by its state-dict key (shared tensors under each name)."""
        out: OrderedDict = OrderedDict()
        for path, m in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            lead = f"{path}." if path else ""
            for name, p in m._parameters.items():
                if p is not None:
                    out[lead + name] = p
            for name, b in m._buffers.items():
                if b is not None and name not in m._non_persistent:
                    out[lead + name] = b
        return out

    def state_dict(self, *, destination: dict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> "OrderedDict[str, Tensor]":
        """Parameters and persistent buffers by name (``0.weight``, ``bn.running_mean``). The
        values share memory with the module (detached unless ``keep_vars``)."""
        dest = OrderedDict() if destination is None else destination
        for key, t in self._state_entries(prefix).items():
            dest[key] = t if keep_vars else t.detach()
        return dest

    def load_state_dict(self, state_dict: dict, strict: bool = True,
                        assign: bool = False) -> IncompatibleKeys:
        """Copy tensors (chainrule, NumPy or PyTorch) into parameters and buffers by name, cast to
        each one's dtype; ``strict``: the key sets must match. Returns (missing, unexpected)."""
        return state.load_state_dict(self, state_dict, strict, assign)

    # -- dtype and device ----------------------------------------------------------------------
    def _cast_floating(self, dtype) -> "Module":
        placement.move_module(self, None, np.dtype(dtype))
        return self

    def to(self, *args, **kwargs) -> "Module":
        """Move parameters, their grads and buffers in place to a device and/or cast the floating
        ones to a dtype: ``to('cuda')``, ``to(chainrule.float64)``, ``to('cpu', 'float32')``,
        ``to(tensor)`` (its device and dtype). Parameters keep their identity."""
        return placement.module_to(self, args, kwargs)

    def float(self) -> "Module":
        return self._cast_floating(np.dtype(np.float32))

    def double(self) -> "Module":
        return self._cast_floating(np.dtype(np.float64))

    def half(self) -> "Module":
        return self._cast_floating(np.dtype(np.float16))

    def cuda(self, device=None) -> "Module":
        """Everything onto the GPU (``cuda:N`` for ``device=N``); refused clearly without CUDA."""
        dev = devices.device("cuda") if device is None else devices.as_device(device)
        placement.move_module(self, dev, None, "Module.cuda")
        return self

    def cpu(self) -> "Module":
        placement.move_module(self, devices.CPU, None, "Module.cpu")
        return self

    def apply(self, fn: Callable[["Module"], Any]) -> "Module":
        """Call ``fn`` on every child (recursively), then on this module; e.g. for custom init."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # -- repr ------------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The part inside the parentheses of this module's repr (override in layers)."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + _addindent(repr(m), 2)
                       for name, m in self._modules.items()]
        body = self._get_name() + "("
        if extra_lines:
            if len(extra_lines) == 1 and not child_lines:
                body += extra_lines[0]
            else:
                body += "\n  " + "\n  ".join(extra_lines) + "\n"
        if child_lines:
            body += "\n  " + "\n  ".join(child_lines) + "\n"
        return body + ")"

