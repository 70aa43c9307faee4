"""``python -m bench.pytorch_names``: which of PyTorch's public names chainrule has (docs/pytorch.md).

Walks PyTorch's documented public namespaces (:data:`NAMESPACES`), looks each name up at the
corresponding chainrule path and compares the parameter names the two accept; the result is the
page docs/pytorch.md, rewritten atomically. Nothing here is a frozen list of chainrule's names: rerun
it after chainrule gains names and the page follows. The hand-kept parts are :data:`NOTES` (how a
name differs, in a phrase), :data:`REMARKS` (how a supported name is done, in a phrase),
:data:`OUT_OF_SCOPE` (whole families, one summary line each) and
:data:`TRAINING` (the names a training script uses); the walking rules are in
:mod:`bench.pytorch_names_walk`.

    python -m bench.pytorch_names            # rewrite docs/pytorch.md
    python -m bench.pytorch_names --check    # exit 1 if docs/pytorch.md is out of date
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .pytorch_names_walk import Entry, NAMESPACES, RULES, TRAINING, classify, walk

__all__ = ["NOTES", "REMARKS", "OUT_OF_SCOPE", "render", "main", "PAGE"]

REPO = Path(__file__).resolve().parent.parent
PAGE = REPO / "docs" / "pytorch.md"

# How a name chainrule has differs from PyTorch's, keyed by qualified PyTorch name. A note makes
# the name "partly" even where every parameter is accepted.
NOTES: dict[str, str] = {}

# How a supported name is implemented where a reader might expect otherwise: shown in the table,
# the name stays "supported" (PyTorch's parameters are accepted with PyTorch's meaning).
REMARKS: dict[str, str] = {
    "torch.save": "writes a safetensors file of tensors and JSON-able state, never pickle "
                  "(pickle_module: None or pickle only; pickle_protocol changes nothing)",
    "torch.load": "reads chainrule's safetensors checkpoints, never pickle, so weights_only is "
                  "always effectively True",
    "torch.utils.data.DataLoader": "pin_memory=True pins batches when CUDA is available (a "
                                   "CPU-only machine has nothing to pin, as in PyTorch); "
                                   "in_order=False yields batches in order, which PyTorch "
                                   "allows: out-of-order delivery is only an optimisation",
}

# Whole families outside chainrule's scope: (family, why, predicate on the qualified name).
# Their names are counted in the summary, not listed one by one.
OUT_OF_SCOPE = [
    ("complex numbers", "NumPy float tensors only", lambda q, n: n in {
        "complex", "polar", "view_as_real", "view_as_complex", "real", "imag", "conj",
        "conj_physical", "conj_physical_", "resolve_conj", "is_conj", "is_complex",
        "cfloat", "cdouble", "chalf", "complex32", "complex64", "complex128"}),
    ("sparse tensors", "dense arrays only", lambda q, n: "sparse" in n or n in {
        "coalesce", "is_coalesced", "indices", "values", "crow_indices", "col_indices",
        "ccol_indices", "row_indices", "smm", "hspmm", "dsmm", "sspaddmm", "dense_dim",
        "_nnz", "to_dense", "sparse_dim", "sparse_mask", "sparse_resize_",
        "sparse_resize_and_clear_", "sparse_csr", "sparse_coo", "sparse_csc", "sparse_bsr",
        "sparse_bsc"}),
    ("quantization", "no quantized dtypes", lambda q, n: n.startswith(
        ("quantize", "q_", "fake_quantize", "fbgemm_", "quantized_", "choose_qparams",
         "dequantize", "qint", "quint", "int_repr", "qscheme", "per_channel", "per_tensor"))
        or n in {"is_quantized", "empty_quantized"}),
    ("named tensors", "dimensions are unnamed", lambda q, n: n in {
        "refine_names", "rename", "rename_", "align_to", "align_as", "align_tensors", "names",
        "has_names"}),
    ("compilation and TorchScript", "chainrule runs eagerly", lambda q, n: n in {
        "compile", "jit", "export", "cond", "is_compiling", "compiled_with_cxx11_abi",
        "ScriptFunction", "CompilationUnit", "JITException"}),
    ("vendor kernels", "cuDNN, MIOpen, MKL-DNN, FBGEMM entry points", lambda q, n: n.startswith(
        ("cudnn_", "miopen_", "mkldnn_", "is_mkldnn", "to_mkldnn"))),
    ("reduced-precision dtypes NumPy lacks", "bfloat16, float8, sub-byte ints", lambda q, n:
        n == "bfloat16" or n.startswith("float8_") or n.startswith("float4_")
        or n in {"bits1x8", "bits2x4", "bits4x2", "bits8", "bits16", "bit"}
        or (n[:4] in {"uint", "int1", "int2", "int3", "int4", "int5", "int6", "int7"}
            and n[-1:] in "1234567" and n not in {"int16"} and len(n) <= 5)),
]


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _status_cell(e: Entry) -> str:
    return {"supported": "supported", "partly": "**partly**", "not yet": "not yet"}[e.state]


def _counts(entries: list[Entry]) -> tuple[int, int, int]:
    return tuple(sum(e.state == s for e in entries) for s in ("supported", "partly", "not yet"))


def render(namespaces: dict[str, dict], training: list[Entry], versions: dict[str, str]) -> str:
    """The whole page from the walked namespaces, the training-script names and the versions."""
    out = [
        "# PyTorch names in chainrule",
        "",
        "<!-- generated by `python -m bench.pytorch_names`; do not edit by hand -->",
        "",
        f"Which of PyTorch {versions['torch']}'s documented public names chainrule "
        f"{versions['chainrule']} has, at the same path (`torch.X` → `chainrule.X`, "
        "`torch.Tensor.m` → `chainrule.Tensor.m`), so that a program written with "
        "`import chainrule as torch` finds them. Regenerate this page with "
        "`python -m bench.pytorch_names` after adding names; a test checks it is current.",
        "",
        "- **supported**: chainrule has the name and, where both signatures can be read "
        "(Python's `inspect`, or the signature lines that open PyTorch's docstring), accepts "
        "every parameter name PyTorch's does; a remark in the last column says how, where "
        "the implementation differs in a way PyTorch permits (safetensors for save/load).",
        "- **partly**: chainrule has the name but misses parameters (listed), or a note says how "
        "it differs.",
        "- **not yet**: chainrule has no such name.",
        "",
        "Which names are walked:",
        "",
        *[f"- {rule}" for rule in RULES],
        "",
        "## Summary",
        "",
        "| namespace | public names | not counted (internals) | out of scope | listed | "
        "supported | partly | not yet |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    totals = [0] * 7
    for ns, walked in namespaces.items():
        s, p, n = _counts(walked["entries"])
        row = [walked["public"], walked["internal"], len(walked["out_of_scope"]),
               len(walked["entries"]), s, p, n]
        totals = [a + b for a, b in zip(totals, row)]
        out.append(f"| [`{ns}`](#{_anchor(ns)}) | " + " | ".join(map(str, row)) + " |")
    out += ["| all | " + " | ".join(map(str, totals)) + " |", ""]
    out += ["Out of scope, and so not listed name by name (counts over all namespaces):", ""]
    for family, why, _ in OUT_OF_SCOPE:
        names = sorted({q for w in namespaces.values() for q, f in w["out_of_scope"]
                        if f == family})
        if names:
            shown = ", ".join(f"`{q}`" for q in names[:4]) + (", …" if len(names) > 4 else "")
            out.append(f"- **{family}** ({why}): {len(names)} names, e.g. {shown}.")
    takes_out = [e for w in namespaces.values() for e in w["entries"] if e.out is not None]
    out += ["", f"`out=` (writing the result into a given tensor) is left out of the per-name "
            f"comparison: PyTorch's signature has it on {len(takes_out)} listed names, and "
            f"chainrule accepts it on {sum(e.out for e in takes_out)} of them."]
    s, p, n = _counts(training)
    out += [
        "",
        "## What a training script of the notes' scope uses",
        "",
        f"The names a dense or convolutional network's training script reaches for — tensors, "
        f"layers, losses, initialisers, optimizers, schedules, clipping, data — {len(training)} "
        f"in all: {s} supported, {p} partly, {n} not yet.",
        "",
        "| name | status | what differs |",
        "| --- | --- | --- |",
    ]
    out += [_row(e) for e in training]
    for ns, walked in namespaces.items():
        s, p, n = _counts(walked["entries"])
        out += ["", f"## {ns}", "",
                f"{len(walked['entries'])} names: {s} supported, {p} partly, {n} not yet.", "",
                "| name | kind | status | what differs |", "| --- | --- | --- | --- |"]
        out += [_row(e, kind=True) for e in walked["entries"]]
    return "\n".join(out) + "\n"


def _anchor(ns: str) -> str:
    return ns.lower().replace(".", "")


def _row(e: Entry, kind: bool = False) -> str:
    cells = [f"`{e.qualname}`"] + ([e.kind] if kind else []) + [_status_cell(e), _md(e.detail)]
    return "| " + " | ".join(cells) + " |"


def generate() -> str:
    """Import torch and chainrule, walk, classify and render the page (not written)."""
    import torch

    import chainrule
    namespaces = {}
    for ns in NAMESPACES:
        walked = walk(ns, lambda q, n: next((f for f, _, test in OUT_OF_SCOPE if test(q, n)),
                                            None))
        walked["entries"] = [classify(q, NOTES, REMARKS) for q in walked["names"]]
        namespaces[ns] = walked
    training = [classify(q, NOTES, REMARKS) for q in TRAINING]
    return render(namespaces, training, {"torch": torch.__version__.split("+")[0],
                                         "chainrule": chainrule.__version__})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.pytorch_names",
                                description=__doc__.split("\n")[0])
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if docs/pytorch.md differs from a fresh page")
    p.add_argument("--out", type=Path, default=PAGE, help="the page (default docs/pytorch.md)")
    args = p.parse_args(argv)
    text = generate()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date: run `python -m bench.pytorch_names`",
                  file=sys.stderr)
            return 1
        return 0
    from chainrule.io.atomic import atomic_open
    with atomic_open(args.out, "wb", what="PyTorch names page") as f:
        f.write(text.encode("utf-8"))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
