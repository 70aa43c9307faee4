"""``chainrule.func``: composable function transforms, named and shaped like ``torch.func``.

    >>> import chainrule as cr
    >>> f = lambda x: (x ** 3).sum()
    >>> cr.func.grad(f)(cr.tensor([2.0])).item()          # 3x²
    12.0
    >>> cr.func.hessian(f)(cr.tensor([2.0])).item()       # 6x
    12.0

The transforms live in :mod:`chainrule.autograd.transforms`.
"""
from .autograd.transforms import (grad, grad_and_value, vjp, jacrev, jacobian, hessian,  # noqa: F401
                                  hvp)

__all__ = ["grad", "grad_and_value", "vjp", "jacrev", "jacobian", "hessian", "hvp"]
