"""``chainrule.backends.cuda``: ``matmul.allow_tf32`` (and friends) as settable attributes with
no effect: chainrule's GEMMs never use TF32, whatever they say."""
from __future__ import annotations


class _MatmulFlags:
    """PyTorch's ``torch.backends.cuda.matmul`` switches (defaults as PyTorch's)."""

    def __init__(self) -> None:
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True

    def __repr__(self) -> str:
        return f"<chainrule.backends.cuda.matmul allow_tf32={self.allow_tf32}>"


matmul = _MatmulFlags()


def is_built() -> bool:
    """Whether chainrule can reach CUDA at all (CuPy importable with a GPU)."""
    from .. import cuda as _cuda
    return _cuda.is_available()
