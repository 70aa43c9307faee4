"""Built-in datasets, each returning :class:`Splits` (train, test, optional validation) of
:class:`~chainrule.data.ArrayDataset` objects with ``.inputs`` and ``.targets`` arrays."""
from .splits import Splits, stratified_split
from ._mnist import mnist, fashion_mnist, mnist_t10k, has_train_files, load_idx_pair
from ._digits import digits
from ._mnist1d import mnist1d, generate_mnist1d, load_mnist1d_npz
from .synthetic import spirals, moons, xor, blobs, sine

__all__ = ["Splits", "stratified_split", "mnist", "fashion_mnist", "mnist_t10k",
           "has_train_files", "load_idx_pair", "digits", "mnist1d", "generate_mnist1d",
           "load_mnist1d_npz", "spirals", "moons", "xor", "blobs", "sine"]
