"""Walking PyTorch's public namespaces and classifying each name against chainrule's.

:func:`walk` applies the rules of :data:`RULES` to one namespace; :func:`classify` resolves one
qualified PyTorch name at chainrule's corresponding path and compares the parameter names the two
accept (from ``inspect.signature``, else from the signature lines that open PyTorch's docstring).
"""
from __future__ import annotations

import importlib
import inspect
import re
import types
from dataclasses import dataclass
from typing import Any, Callable

NAMESPACES = ["torch", "torch.nn", "torch.nn.functional", "torch.nn.init", "torch.optim",
              "torch.optim.lr_scheduler", "torch.utils.data", "torch.Tensor"]

RULES = [
    "The candidates are a module's `__all__` where it has one (`torch`, `torch.optim`, "
    "`torch.optim.lr_scheduler`, `torch.utils.data`), else its non-underscore attributes "
    "(`torch.nn`: its classes; `torch.nn.functional`, `torch.nn.init`: the functions defined "
    "for users, not the typing helpers and dispatch utilities they import); for `torch.Tensor`, "
    "the non-underscore methods and attributes of the class.",
    "Not counted as public (the *internals* column): submodules, constants and build flags, "
    "names without a docstring (PyTorch's undocumented operator bindings), TorchScript's IR "
    "types, the legacy typed tensors and storages (`torch.FloatTensor`, `torch.FloatStorage`), "
    "symbolic-shape types (`torch.SymInt`), dispatcher types, functionalization's `*_copy` "
    "twins of view operations, and names whose docstring calls them deprecated.",
    "Classes count with their constructor's parameters; dtypes (`torch.float32`) count as "
    "names; methods count without `self`; PyTorch's private parameters (`_name`) and `out=` are "
    "not compared (the summary counts `out=`).",
]

# Classes PyTorch documents on their own pages although they carry no docstring.
_CORE_CLASSES = {"Tensor", "Generator", "device", "dtype", "Size", "finfo", "iinfo", "layout",
                 "memory_format"}
# Tensor attributes documented on the "Tensor Attributes" page, without a docstring.
_CORE_TENSOR_ATTRIBUTES = {"data", "dtype", "grad_fn", "layout"}
_INTERNAL = {"torch.SymBool", "torch.SymFloat", "torch.SymInt", "torch.AggregationType",
             "torch.DispatchKey", "torch.Tag", "torch.FatalError", "torch.TypedStorage",
             "torch.UntypedStorage", "torch.nn.factory_kwargs",
             "torch.nn.functional.assert_int_or_pair", "torch.nn.functional.boolean_dispatch",
             "torch.nn.functional.handle_torch_function"}
_HELPER_MODULES = ("typing", "collections", "torch._jit_internal", "torch.overrides",
                   "torch._C", "builtins")
# "torch.norm is deprecated", "This function is deprecated": the name itself, not one of its
# arguments or behaviours
_DEPRECATED = (r"(?:`[\w.]*\b{name}`|\b{name}\(\)|\b(?:torch|Tensor)\.{name}\b|"
               r"\bthis (?:function|class|method))\s+(?:is|has been)(?: now)? deprecated|"
               r"(?-i:^\s*DEPRECATED\b)|^\s*\.\. deprecated::")
_DEPRECATED_LOOK = 600  # characters of the docstring the deprecation test reads


@dataclass(frozen=True)
class Entry:
    """One PyTorch name and how chainrule stands on it."""
    qualname: str
    kind: str
    state: str  # "supported", "partly" or "not yet"
    detail: str
    out: bool | None = None  # whether chainrule accepts out= where PyTorch has it, else None


def _doc(obj: Any) -> str:
    try:
        return inspect.getdoc(obj) or ""
    except Exception:  # noqa: BLE001 - some bindings raise from __doc__
        return ""


def _is_deprecated(name: str, doc: str) -> bool:
    pattern = _DEPRECATED.format(name=re.escape(name))
    return bool(re.search(pattern, doc[:_DEPRECATED_LOOK], re.I | re.M))


def _candidates(ns: str) -> list[tuple[str, Any]]:
    import torch
    if ns == "torch.Tensor":
        return [(n, inspect.getattr_static(torch.Tensor, n)) for n in dir(torch.Tensor)
                if not n.startswith("_")]
    mod = importlib.import_module(ns)
    names = getattr(mod, "__all__", None)
    if names is None:
        names = [n for n in vars(mod) if not n.startswith("_")]
    return [(n, getattr(mod, n, None)) for n in sorted(set(names)) if not n.startswith("_")]


def _public(ns: str, name: str, obj: Any) -> bool:
    """Whether ``ns.name`` is a documented public name under :data:`RULES`."""
    import torch
    qual = f"{ns}.{name}"
    if qual in _INTERNAL or isinstance(obj, types.ModuleType):
        return False
    if type(obj).__name__ in ("tensortype", "_LegacyStorageMeta"):
        return False
    if isinstance(obj, torch.dtype):
        return True
    if ns == "torch.Tensor":
        if name in _CORE_TENSOR_ATTRIBUTES:
            return True
        return bool(_doc(obj)) and not _is_deprecated(name, _doc(obj))
    if not callable(obj):
        return False
    if ns in ("torch.nn",) and not isinstance(obj, type):
        return False
    if ns in ("torch.nn.functional", "torch.nn.init"):
        module = getattr(obj, "__module__", None) or ""
        if isinstance(obj, type) or module.split(".")[0] != "torch" and module != "":
            return False
        if module.startswith(_HELPER_MODULES) and module != "torch._C._nn":
            return False
    doc = _doc(obj)
    if isinstance(obj, type) and name in _CORE_CLASSES and ns == "torch":
        return True
    if not doc or _is_deprecated(name, doc):
        return False
    if name.endswith("_copy") and doc.startswith("Performs the same operation as"):
        return False
    return True


def walk(ns: str, scope: Callable[[str, str], str | None]) -> dict:
    """The namespace's public names: counts of candidates and internals, the out-of-scope
    names with their family (``scope(qualname, name)`` names it, or None), the rest sorted."""
    candidates = _candidates(ns)
    public = [n for n, obj in candidates if _public(ns, n, obj)]
    out_of_scope, names = [], []
    for n in public:
        family = scope(f"{ns}.{n}", n)
        (out_of_scope.append((f"{ns}.{n}", family)) if family else names.append(f"{ns}.{n}"))
    return {"public": len(candidates), "internal": len(candidates) - len(public),
            "out_of_scope": out_of_scope, "names": sorted(names, key=str.lower)}


def resolve(dotted: str) -> Any:
    """The object a dotted path names (longest importable module, then attributes), or raise."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def _chainrule_object(qualname: str) -> tuple[bool, Any]:
    """(found, object) at chainrule's path for ``qualname``; an instance attribute of
    ``chainrule.Tensor`` counts as found."""
    path = "chainrule" + qualname[len("torch"):]
    try:
        return True, resolve(path)
    except Exception:  # noqa: BLE001 - a missing name, or a lazy import that failed
        pass
    parent, _, attr = path.rpartition(".")
    if parent == "chainrule.Tensor":
        import chainrule
        try:
            return True, getattr(chainrule.zeros(2, 2), attr)
        except Exception:  # noqa: BLE001
            return False, None
    return False, None


def _split_top(args: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in args:
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return parts + [cur]


def _doc_params(name: str, doc: str) -> set[str] | None:
    """Parameter names of every signature line ``name(...)`` opening a docstring paragraph."""
    found: set[str] | None = None
    for m in re.finditer(rf"(?m)^\s*(?:\.\. (?:function|method):: )?(?:torch\.|Tensor\.)?"
                         rf"{re.escape(name)}\(", doc):
        depth, i = 1, m.end()
        while i < len(doc) and depth:
            depth += doc[i] == "("
            depth -= doc[i] == ")"
            i += 1
        found = found if found is not None else set()
        for token in _split_top(doc[m.end():i - 1]):
            token = token.strip()
            if not token or token.startswith("*") or token == "/":
                continue
            ident = re.split(r"[=:]", token)[0].strip()
            if ident.isidentifier() and ident != "self":
                found.add(ident)
    return found


def _drop_self(obj: Any, owner: Any, name: str, params: list[inspect.Parameter]) -> list:
    static = inspect.getattr_static(owner, name, None) if isinstance(owner, type) else None
    if params and static is not None and inspect.isfunction(static):
        return params[1:]
    return [p for p in params if p.name != "self"]


def _torch_params(qualname: str, obj: Any) -> set[str] | None:
    owner_name, _, name = qualname.rpartition(".")
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return _doc_params(name, _doc(obj))
    owner = resolve(owner_name)
    params = _drop_self(obj, owner, name, list(sig.parameters.values()))
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _chainrule_params(qualname: str, obj: Any) -> set[str] | None:
    """The parameter names chainrule's object accepts by keyword; None where any is or the
    signature cannot be read."""
    if not callable(obj):
        return None
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    params = list(sig.parameters.values())
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    owner = _chainrule_object(qualname.rpartition(".")[0])[1]
    params = _drop_self(obj, owner, qualname.rpartition(".")[2], params)
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _kind(qualname: str, obj: Any) -> str:
    import torch
    if isinstance(obj, torch.dtype):
        return "dtype"
    if isinstance(obj, type):
        return "class"
    if qualname.count(".") >= 2 and isinstance(resolve(qualname.rpartition(".")[0]), type):
        return "method" if callable(obj) or isinstance(obj, (types.MethodDescriptorType,
                                                             types.FunctionType)) \
            else "attribute"
    return "function" if callable(obj) else "object"


def classify(qualname: str, notes: dict[str, str],
             remarks: dict[str, str] | None = None) -> Entry:
    """How chainrule stands on one qualified PyTorch name (a note makes it partly, a remark is
    shown and changes nothing)."""
    import torch
    parent, _, name = qualname.rpartition(".")
    theirs = inspect.getattr_static(torch.Tensor, name) if parent == "torch.Tensor" \
        else resolve(qualname)
    kind = _kind(qualname, theirs)
    found, ours = _chainrule_object(qualname)
    if not found:
        return Entry(qualname, kind, "not yet", "")
    details, takes_out = [], None
    if kind in ("function", "method", "class"):
        want = _torch_params(qualname, getattr(torch.Tensor, name) if parent == "torch.Tensor"
                             else theirs)
        have = _chainrule_params(qualname, ours)
        if want is not None and "out" in want:   # only a signature that names out= counts
            takes_out = have is not None and "out" in have
        missing = sorted(m for m in (want or set()) - (have or set())
                         if m != "out" and not m.startswith("_"))
        if want is not None and have is not None and missing:
            details.append(("no parameter " if len(missing) == 1 else "no parameters ")
                           + ", ".join(f"`{m}`" for m in missing))
    if qualname in notes:
        details.append(notes[qualname])
    state = "partly" if details else "supported"
    if remarks and qualname in remarks:
        details.append(remarks[qualname])
    return Entry(qualname, kind, state, "; ".join(details), takes_out)


# The names a training script of the notes' scope (dense and conv nets) uses.
TRAINING = [
    *(f"torch.{n}" for n in (
        "tensor", "zeros", "ones", "randn", "arange", "manual_seed", "no_grad", "cat", "stack",
        "argmax", "softmax", "sigmoid", "tanh", "float32", "int64", "device", "save", "load")),
    *(f"torch.Tensor.{n}" for n in (
        "backward", "grad", "requires_grad_", "detach", "item", "numpy", "to", "view",
        "reshape", "shape", "mean", "sum", "argmax", "float")),
    *(f"torch.nn.{n}" for n in (
        "Module", "Parameter", "Sequential", "Linear", "Conv2d", "MaxPool2d", "AvgPool2d",
        "AdaptiveAvgPool2d", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "Dropout", "Flatten",
        "ReLU", "GELU", "Tanh", "Sigmoid", "CrossEntropyLoss", "NLLLoss", "MSELoss",
        "BCEWithLogitsLoss")),
    *(f"torch.nn.Module.{n}" for n in (
        "parameters", "state_dict", "load_state_dict", "train", "eval", "zero_grad", "to")),
    *(f"torch.nn.functional.{n}" for n in (
        "relu", "cross_entropy", "mse_loss", "log_softmax", "dropout", "max_pool2d")),
    *(f"torch.nn.init.{n}" for n in (
        "kaiming_normal_", "kaiming_uniform_", "xavier_uniform_", "zeros_")),
    "torch.nn.utils.clip_grad_norm_", "torch.nn.utils.clip_grad_value_",
    *(f"torch.optim.{n}" for n in ("SGD", "Adam", "AdamW", "RMSprop")),
    "torch.optim.Optimizer.step", "torch.optim.Optimizer.zero_grad",
    *(f"torch.optim.lr_scheduler.{n}" for n in (
        "StepLR", "CosineAnnealingLR", "ReduceLROnPlateau", "OneCycleLR")),
    *(f"torch.utils.data.{n}" for n in (
        "Dataset", "TensorDataset", "DataLoader", "random_split")),
]
