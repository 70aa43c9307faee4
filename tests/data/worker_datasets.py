"""Small datasets for the worker tests (importable by worker processes)."""
import os
import signal
import time

import numpy as np

from chainrule.data import Dataset, get_worker_info, sample_generator


class Augmented(Dataset):
    """Item i: i plus noise from the sample's stream, and i."""

    def __init__(self, n: int = 40):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        noise = sample_generator().normal(size=3).astype(np.float32)
        return np.full(3, i, np.float32) + noise, i


class WhoLoads(Dataset):
    """Item i: (i, worker id, worker seed, the value worker_init_fn left)."""

    def __len__(self):
        return 12

    def __getitem__(self, i):
        info = get_worker_info()
        return i, info.id, info.num_workers, info.seed % 2**31, INIT.get("value", -1)


INIT: dict = {}


def remember_worker(worker_id: int) -> None:
    INIT["value"] = 100 + worker_id


class Failing(Dataset):
    """Misbehaves at item ``bad``: raises, kills its own process, or hangs."""

    def __init__(self, bad: int, how: str, n: int = 24):
        self.bad, self.how, self.n = bad, how, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.bad:
            if self.how == "raise":
                check_item(i)
            elif self.how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            elif self.how == "hang":
                time.sleep(30)
        return np.float32(i)


def check_item(i):
    raise ValueError(f"item {i} is broken")


class Marking(Dataset):
    """Each item writes a marker file when it is loaded (to see how far workers ran ahead)."""

    def __init__(self, folder: str, n: int = 40):
        self.folder, self.n = folder, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        with open(os.path.join(self.folder, str(i)), "w"):
            pass
        return np.float32(i)
