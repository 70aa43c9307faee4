"""The BLAS layer under NumPy: how many threads each GEMM gets (:mod:`.threads`) and which
library runs it (:mod:`.gemm`, :mod:`.cblas`, :mod:`.calibration`)."""
from .gemm import calibrate_gemm, gemm_info, set_gemm_enabled
from .threads import blas_info, blas_threads_for, get_num_threads, set_num_threads

__all__ = ["blas_info", "blas_threads_for", "get_num_threads", "set_num_threads", "gemm_info",
           "calibrate_gemm", "set_gemm_enabled"]
