"""Keep loader workers out of the parent's MPI job.

Under ``mpiexec`` each rank's environment carries the process manager's variables (MPICH's
``PMI_*``, Open MPI's ``OMPI_*``/``PMIX_*``). A worker that inherited them and initialised MPI
(a script importing ``mpi4py.MPI`` at its top level is imported again in every worker) would try
to join the job through a connection only the rank owns, and die. Workers are therefore started
with those variables removed: MPI initialised there is a world of one, apart from the job.
"""
from __future__ import annotations

import contextlib
import os
from typing import Iterator

__all__ = ["MPI_ENV_PREFIXES", "without_mpi_env"]

MPI_ENV_PREFIXES = ("PMI_", "PMIX_", "HYDRA_", "MPI_LOCALNRANKS", "MPI_LOCALRANKID", "OMPI_")


@contextlib.contextmanager
def without_mpi_env() -> Iterator[None]:
    """While open, ``os.environ`` lacks the MPI launcher's variables (processes started now do
    not inherit them); restored on exit. A no-op outside ``mpiexec``."""
    saved = {k: v for k, v in os.environ.items() if k.startswith(MPI_ENV_PREFIXES)}
    for key in saved:
        del os.environ[key]
    try:
        yield
    finally:
        os.environ.update(saved)
