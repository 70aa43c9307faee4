"""Run a Python script under the venv's ``mpiexec`` with a timeout, and collect what each rank
reports — the one launcher the distributed tests (collectives, faults, DDP, training) share.

    from .mpirun import run_mpi
    result = run_mpi('''
        import chainrule.distributed as dist
        from mpirun import emit
        dist.init()
        emit({"rank": dist.get_rank()})
    ''', n=2)
    assert result.returncode == 0, result.explain()
    assert [o["rank"] for o in result.outputs] == [0, 1]

Inside the script, ``from mpirun import emit`` works (this folder is on its ``PYTHONPATH``, as
is the repository's ``src``); ``emit(obj)`` writes ``obj`` as JSON to a file for this rank, and
``run_mpi`` returns them in rank order as ``result.outputs`` (``None`` for a rank that wrote
nothing). ``mpiexec`` is looked up beside the running Python, then on ``PATH``; without it the
calling test is skipped with a reason.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent.parent / "src"
OUT_ENV = "CHAINRULE_MPIRUN_OUT"


def find_mpiexec() -> str | None:
    """The ``mpiexec`` beside this interpreter (the venv's MPICH), else one on ``PATH``."""
    beside = Path(sys.executable).parent / "mpiexec"
    if beside.exists():
        return str(beside)
    return shutil.which("mpiexec")


def require_mpiexec() -> str:
    """``mpiexec``'s path, or skip the calling test saying what is missing."""
    import pytest
    exe = find_mpiexec()
    if exe is None:
        pytest.skip("mpiexec not found beside the Python interpreter or on PATH "
                    "(install chainrule[distributed]: mpi4py and MPICH)")
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        pytest.skip("mpi4py is not installed (install chainrule[distributed])")
    return exe


def _rank() -> int:
    for name in ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK"):
        if name in os.environ:
            return int(os.environ[name])
    return 0


def emit(obj) -> None:
    """From inside a script run by :func:`run_mpi`: hand ``obj`` (JSON-able) back for this rank."""
    folder = Path(os.environ[OUT_ENV])
    tmp = folder / f"rank{_rank()}.json.tmp"
    tmp.write_text(json.dumps(obj))
    os.replace(tmp, folder / f"rank{_rank()}.json")


@dataclass
class MPIResult:
    """What one ``mpiexec`` run gave: exit status, streams, wall time, per-rank outputs."""
    returncode: int | None
    stdout: str
    stderr: str
    elapsed: float
    timed_out: bool
    outputs: list = field(default_factory=list)

    @property
    def text(self) -> str:
        """stdout and stderr together (messages may land on either)."""
        return self.stdout + "\n" + self.stderr

    def explain(self) -> str:
        """A summary for assertion messages."""
        return (f"mpiexec returned {self.returncode} after {self.elapsed:.1f} s"
                f"{' (timed out)' if self.timed_out else ''}\n--- stdout ---\n"
                f"{self.stdout[-4000:]}\n--- stderr ---\n{self.stderr[-4000:]}")


def run_mpi(script: str, n: int = 2, timeout: float = 60.0, env: dict | None = None,
            args: tuple = (), mpiexec_args: tuple = ()) -> MPIResult:
    """Run ``script`` (source text, dedented) on ``n`` ranks; kill the whole run after
    ``timeout`` seconds (``timed_out`` is then True and ``returncode`` None)."""
    exe = require_mpiexec()
    with tempfile.TemporaryDirectory(prefix="chainrule-mpirun-") as tmp:
        path = Path(tmp) / "script.py"
        path.write_text(textwrap.dedent(script))
        full_env = dict(os.environ)
        full_env.update({
            "PYTHONPATH": os.pathsep.join([str(SRC), str(HERE)]
                                          + ([os.environ["PYTHONPATH"]]
                                             if os.environ.get("PYTHONPATH") else [])),
            OUT_ENV: tmp, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
        full_env.update(env or {})
        cmd = [exe, "-n", str(n), *mpiexec_args, sys.executable, str(path), *map(str, args)]
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=full_env, cwd=tmp, start_new_session=True)
        timed_out = False
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
        elapsed = time.monotonic() - start
        outputs = []
        for r in range(n):
            f = Path(tmp) / f"rank{r}.json"
            outputs.append(json.loads(f.read_text()) if f.exists() else None)
    return MPIResult(None if timed_out else proc.returncode, out, err, elapsed, timed_out,
                     outputs)
