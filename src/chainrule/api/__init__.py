"""The public, PyTorch-named face of the ops: ``chainrule.*`` functions and Tensor methods.

Names and signatures follow PyTorch (``dim``, ``keepdim``, ``cat``, ``var(correction=)``,
``max(dim)`` giving values and indices); ``axis``/``keepdims`` are accepted as aliases. Each
function translates to the NumPy-named primitives in :mod:`chainrule.ops`.
"""
