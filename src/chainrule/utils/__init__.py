"""``chainrule.utils``: PyTorch's ``torch.utils`` import paths (``chainrule.utils.data``)."""
from . import data

__all__ = ["data"]
