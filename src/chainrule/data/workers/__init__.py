"""Loading in worker processes: the process loop (:mod:`.loop`), the shared-memory transport
of finished batches (:mod:`.transport`), the main side that feeds workers and puts their
batches back in sampler order (:mod:`.pool`), and :func:`get_worker_info`."""
from .info import WorkerInfo, get_worker_info
from .errors import DataLoaderWorkerError

__all__ = ["WorkerInfo", "get_worker_info", "DataLoaderWorkerError"]
