"""The optimizer playground (issue #20): ``chainrule.optim``'s optimizers run from one start on
a 2-D surface, with their paths, the loss against gradient evaluations, a table of steps to a
goal and the lecture notes' claims measured on the run.

    >>> import chainrule as cr
    >>> run = cr.explain.playground("valley", optimizers="sgd,momentum,nesterov,adam")
    >>> run["adam"].points.shape       # (steps + 1, 2) unless it stopped early
    >>> print(run.table()); [print(c.line()) for c in run.claims()]
    >>> run.plot("valley.png")
"""
from .claims import Claim
from .run import DEFAULT_LR, OPTIMIZERS, Playground, Trajectory, default_lr, playground
from .surfaces import SURFACES, Surface, get_surface

__all__ = ["playground", "Playground", "Trajectory", "Claim", "Surface", "SURFACES",
           "OPTIMIZERS", "DEFAULT_LR", "default_lr", "get_surface"]
