"""``torch.utils.data.distributed``: ``DistributedSampler`` (:mod:`chainrule.distributed`)."""
from ...distributed.sampler import DistributedSampler

__all__ = ["DistributedSampler"]
