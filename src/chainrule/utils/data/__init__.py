"""``chainrule.utils.data``: ``torch.utils.data``'s names, mapped onto :mod:`chainrule.data`,
so ``from torch.utils.data import DataLoader`` works with ``import chainrule as torch``."""
from ...data import (BatchSampler, ConcatDataset, DataLoader, Dataset, RandomSampler, Sampler,
                     SequentialSampler, Subset, SubsetRandomSampler, TensorDataset,
                     WeightedRandomSampler, WorkerInfo, default_collate, get_worker_info,
                     random_split, IterableDataset, ChainDataset)

__all__ = ["DataLoader", "Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split",
           "get_worker_info", "WorkerInfo", "default_collate", "Sampler", "SequentialSampler",
           "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler", "IterableDataset", "ChainDataset"]


def __getattr__(name):
    # torch.utils.data.distributed / .DistributedSampler, imported on first use.
    if name in ("distributed", "DistributedSampler"):
        import importlib
        distributed = importlib.import_module(".distributed", __name__)
        return distributed if name == "distributed" else distributed.DistributedSampler
    raise AttributeError(f"module 'chainrule.utils.data' has no attribute {name!r}")
