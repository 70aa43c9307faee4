"""DataLoader workers under ``mpiexec`` (issue #15): each rank's loader has its own worker
processes, which never join the MPI job (even when the script imports ``mpi4py.MPI`` at its top
level, as the workers import it again), and ``chainrule train --workers N`` on 2 ranks ends with
the single-process run's weights."""
from __future__ import annotations

import numpy as np
import pytest

from .mpirun import require_mpiexec, run_mpi

PROBE = """
from mpi4py import MPI   # at the top level: every worker imports this script again
import os
import numpy as np
import chainrule as cr
import chainrule.distributed as dist
from chainrule.data import DataLoader, Dataset
from mpirun import emit

class Probe(Dataset):
    def __init__(self, x):
        self.x = x
    def __len__(self):
        return len(self.x)
    def __getitem__(self, i):
        seen = (MPI.Is_initialized() and MPI.COMM_WORLD.Get_size(),
                any(k.startswith("PMI_") for k in os.environ), dist.is_initialized())
        return (cr.tensor(self.x[i]), cr.tensor(float(seen[0])), cr.tensor(float(seen[1])),
                cr.tensor(float(seen[2])))

def main():
    dist.init()
    x = np.arange(40.0).reshape(20, 2)
    rows, worlds = [], set()
    for xb, size, pmi, inited in DataLoader(Probe(x), batch_size=5, num_workers=2):
        rows += xb[:, 0].numpy().tolist()
        worlds |= {(s, p, q) for s, p, q in zip(size.numpy().tolist(), pmi.numpy().tolist(),
                                                inited.numpy().tolist())}
    emit({"rank": dist.get_rank(), "size": dist.get_world_size(), "rows": rows,
          "workers": sorted(worlds)})

if __name__ == "__main__":
    main()
"""


def test_workers_under_mpiexec_stay_out_of_the_job():
    """2 ranks × 2 workers: every batch arrives, and in each worker MPI (initialised by the
    script's top-level import) is a world of one with no launcher variables, chainrule's
    distributed state untouched."""
    require_mpiexec()
    result = run_mpi(PROBE, n=2, timeout=60, env={"CHAINRULE_DIST_QUIET": "1"})
    assert result.returncode == 0, result.explain()
    for rank, out in enumerate(result.outputs):
        assert out["rank"] == rank and out["size"] == 2
        assert out["rows"] == np.arange(0.0, 40.0, 2).tolist()
        assert out["workers"] == [[1.0, 0.0, 0.0]], out


UNGUARDED = """
import chainrule as cr
from chainrule.data import DataLoader, TensorDataset
for batch in DataLoader(TensorDataset(cr.arange(8.0)), batch_size=2, num_workers=1):
    pass
"""


def test_an_unguarded_script_gets_a_clear_error():
    require_mpiexec()
    result = run_mpi(UNGUARDED, n=1, timeout=60)
    assert result.returncode != 0 and not result.timed_out
    assert "was called in DataLoader worker process" in result.text, result.explain()
    assert 'if __name__ == "__main__":' in result.text
    assert "bootstrapping phase" not in result.text


CLI = """
import sys
from chainrule.cli import main
if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("workers", [1, 2])
def test_cli_workers_on_two_ranks_equal_one_process(tmp_path, workers):
    """chainrule train --workers N on 2 ranks (each rank's loader with its own workers) ends with
    the weights of one process without workers (float64, 1e-10)."""
    require_mpiexec()
    from safetensors.numpy import load_file

    def args(out, w):
        return ("train", "--dataset", "xor", "--hidden", "8", "--epochs", "2", "--batch-size",
                "64", "--dtype", "float64", "--no-health", "--quiet", "--workers", str(w),
                "--out", str(out))
    runs = {}
    for n, w in ((1, 0), (2, workers)):
        out = tmp_path / f"n{n}w{w}"
        result = run_mpi(CLI, n=n, timeout=120, args=args(out, w),
                         env={"CHAINRULE_DIST_QUIET": "1"})
        assert result.returncode == 0, result.explain()
        runs[n] = load_file(str(out / "model.safetensors"))
    assert runs[1].keys() == runs[2].keys() and runs[1]
    assert max(float(np.abs(runs[1][k] - runs[2][k]).max()) for k in runs[1]) < 1e-10
