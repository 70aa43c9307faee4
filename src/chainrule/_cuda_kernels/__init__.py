"""CUDA kernels (CuPy ``ElementwiseKernel``\\ s and the like) for the GPU counterparts of
chainrule's NumPy-only fast paths.

Imported only through :mod:`chainrule.backend`, and only once a CuPy array has reached it, so a
machine without CuPy never imports anything here. Each module compiles its kernels lazily, on
first use, and CuPy caches the compiled binaries on disk for later processes.
"""
