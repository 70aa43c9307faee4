"""``chainrule.data``: datasets, the DataLoader, batch transforms, memory-mapped streaming,
the packed image format (:class:`PackedDataset`, :func:`write_packed`, :func:`pack_folder`),
verified downloads and the built-in datasets (:mod:`chainrule.data.datasets`).

    >>> import numpy as np
    >>> from chainrule.data import TensorDataset, DataLoader
    >>> ds = TensorDataset(np.arange(10, dtype=np.float32)[:, None], np.arange(10) % 2)
    >>> [tuple(x.shape) for x, y in DataLoader(ds, batch_size=4)]
    [(4, 1), (4, 1), (2, 1)]
"""
from .errors import DataError
from .dataset import (Dataset, TensorDataset, ArrayDataset, Subset, ConcatDataset,
                      random_split)
from .loader import DataLoader, default_collate
from .samplers import (Sampler, SequentialSampler, RandomSampler, SubsetRandomSampler,
                       WeightedRandomSampler, BatchSampler)
from .workers import get_worker_info, WorkerInfo, DataLoaderWorkerError
from .transforms import Compose, ToFloat, Normalize, Flatten
from .streaming import MemmapDataset, open_memmap
from .idx import read_idx, write_idx, read_idx_header
from .download import download, cache_dir, md5sum
from .sample_rng import sample_generator
from .image_folder import ImageFolder
from .packed import PackedDataset
from .packed_write import write_packed
from .pack_images import pack_folder
from . import datasets
from .iterable import IterableDataset, ChainDataset

__all__ = ["DataError", "Dataset", "TensorDataset", "ArrayDataset", "Subset", "ConcatDataset",
           "random_split", "DataLoader", "default_collate", "Compose", "ToFloat", "Normalize",
           "Flatten", "MemmapDataset", "open_memmap", "read_idx", "write_idx",
           "read_idx_header", "download", "cache_dir", "md5sum", "datasets", "sample_generator",
           "ImageFolder", "PackedDataset", "write_packed", "pack_folder",
           "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler", "get_worker_info", "WorkerInfo",
           "DataLoaderWorkerError", "IterableDataset", "ChainDataset"]


def __getattr__(name):
    # DistributedSampler lives with the rest of chainrule.distributed (imported on first use).
    if name == "DistributedSampler":
        from ..distributed.sampler import DistributedSampler
        return DistributedSampler
    raise AttributeError(f"module 'chainrule.data' has no attribute {name!r}")
