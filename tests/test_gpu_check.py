"""The device check's CPU side: bench/gpu_check.sh and bench/gpu_speed.py say plainly that there
is no GPU and measure nothing, and tests/gpu skips as a whole with one reason."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import chainrule as cr

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(cr.cuda.is_available(), reason="a GPU is here: tests/gpu runs")


def _env():
    return dict(os.environ, PYTHONPATH=f"{ROOT / 'src'}:{ROOT}", PYTHON=sys.executable)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_gpu_check_exits_with_a_clear_no_gpu_message(tmp_path):
    env = _env()
    env["GPU_CHECK_OUT"] = str(tmp_path)
    done = subprocess.run(["bash", str(ROOT / "bench" / "gpu_check.sh")], capture_output=True,
                          text=True, env=env, timeout=60)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "gpu_check: no GPU, nothing run:" in done.stdout
    assert "CuPy" in done.stdout                       # says what is missing
    assert "== install" not in done.stdout             # nothing installed or run


def test_gpu_speed_skips_cleanly_without_a_gpu():
    done = subprocess.run([sys.executable, "-m", "bench.gpu_speed"], capture_output=True,
                          text=True, env=_env(), cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "gpu_speed: skipped, no CUDA GPU to measure on:" in done.stdout


def test_gpu_tests_skip_as_a_folder_with_one_reason():
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
                           "tests/gpu/test_training_gpu.py", "tests/gpu/test_transfers_gpu.py"],
                          capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "no CUDA GPU / CuPy not installed" in done.stdout
    assert " passed" not in done.stdout and "skipped" in done.stdout
