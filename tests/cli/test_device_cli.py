"""``--device`` on train, evaluate and predict: cpu and auto run on the CPU here and metrics.json
says so; cuda without CuPy is a one-line error naming what is missing; a bad value is refused."""
from __future__ import annotations

import json

import numpy as np
import pytest

from chainrule import devices

from .helpers import assert_one_line_error, run_cli


@pytest.fixture
def no_cupy(monkeypatch):
    def missing():
        raise ModuleNotFoundError("No module named 'cupy'")
    monkeypatch.setattr(devices, "_import_cupy", missing)


FAST = ["train", "--dataset", "digits", "--epochs", "1", "--quiet", "--no-health",
        "--hidden", "16"]


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_train_records_the_device(tmp_path, capsys, no_cupy, device):
    code, _, err = run_cli(FAST + ["--device", device, "--out", str(tmp_path / "r")], capsys)
    assert code == 0, err
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["device"] == "cpu"
    ckpt = str(tmp_path / "r" / "model.safetensors")
    code, out, err = run_cli(["evaluate", ckpt, "--device", device, "--json"], capsys)
    assert code == 0 and json.loads(out)["samples"] > 0, err
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((2, 8, 8), np.float32))
    code, out, err = run_cli(["predict", ckpt, str(x), "--device", device], capsys)
    assert code == 0 and len(out.split()) == 2, err


@pytest.mark.parametrize("command", [FAST, ["evaluate", "missing.safetensors"]])
def test_cuda_without_cupy_is_a_clear_error(tmp_path, capsys, no_cupy, command):
    code, _, err = run_cli(command + ["--device", "cuda", "--out", str(tmp_path / "r")]
                           if command is FAST else command + ["--device", "cuda"], capsys)
    assert_one_line_error(code, err, "--device cuda", "CuPy package is not installed",
                          "gpu-cuda12", "--device cpu")
    assert not (tmp_path / "r").exists()


def test_bad_device_value(capsys):
    code, _, err = run_cli(FAST + ["--device", "gpu"], capsys)
    assert code == 2 and "--device" in err and "'gpu'" in err
