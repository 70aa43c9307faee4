"""The BLAS layer under NumPy: how many threads each GEMM gets (:mod:`.threads`)."""
from .threads import blas_info, blas_threads_for, get_num_threads, set_num_threads

__all__ = ["blas_info", "blas_threads_for", "get_num_threads", "set_num_threads"]
