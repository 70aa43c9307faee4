"""``chainrule.optim``: optimizers and learning-rate schedules (issues #4, #5).

First-order optimizers follow ``torch.optim`` — same names, arguments, defaults, update rules and
``state_dict`` layout — and update ``p._data`` in place in the parameter's dtype.
"""
from .optimizer import Optimizer, required
from .sgd import SGD
from .adagrad import Adagrad
from .adadelta import Adadelta
from .rmsprop import RMSprop
from .adam import Adam, AdamW
from .nadam import NAdam
from .lbfgs import LBFGS
from .newton_cg import NewtonCG
from . import lr_scheduler

__all__ = ["Optimizer", "required", "SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW",
           "NAdam", "LBFGS", "NewtonCG", "lr_scheduler"]
from .radam import RAdam  # noqa: E402
from .adamax import Adamax  # noqa: E402
__all__ += ["RAdam", "Adamax"]
