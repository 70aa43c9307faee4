"""Data that is nowhere to be found: one line that lists every place searched and says how to
point chainrule at local files (--data-dir, CHAINRULE_DATA). No test here reaches a network:
the downloader's one network call is replaced by one that fails as an offline machine does."""
from __future__ import annotations

import importlib
import urllib.error

import pytest

import chainrule.cli.data as cli_data

from .helpers import assert_one_line_error, run_cli

# the module (chainrule.data.download is also the name of its function)
download_mod = importlib.import_module("chainrule.data.download")

POINTERS = ("--data-dir", "CHAINRULE_DATA")


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty CHAINRULE_DATA, a working directory and a project with no shared/datasets
    beside them, and a downloader that fails at once; yields the list of URLs it was asked."""
    asked: list[str] = []

    def no_network(url, out, md5, timeout):
        asked.append(url)
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    for name in ("data", "cwd", "project"):
        (tmp_path / name).mkdir()
    monkeypatch.setattr(download_mod, "_fetch", no_network)
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.setattr(cli_data, "_PROJECT", tmp_path / "project")
    return asked


def _error_after_download_attempts(code: int, err: str, *words: str) -> None:
    """The downloader's progress lines (one per mirror tried), then the one error line."""
    lines = err.strip().splitlines()
    assert all(line.startswith("chainrule: ") for line in lines[:-1]), lines
    assert_one_line_error(code, lines[-1], *words)


def test_an_empty_data_dir_lists_where_it_looked(capsys, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_cli(["train", "--dataset", "mnist_t10k", "--data-dir", empty,
                            "--out", tmp_path / "run"], capsys)
    assert_one_line_error(code, err, "t10k-images-idx3-ubyte", f"{empty},", f"{empty}/mnist",
                          *POINTERS)
    assert not (tmp_path / "run").exists()


def test_an_empty_data_dir_for_mnist1d_lists_where_it_looked(capsys, tmp_path):
    code, _, err = run_cli(["train", "--dataset", "mnist1d", "--data-dir", tmp_path,
                            "--out", tmp_path / "run"], capsys)
    assert_one_line_error(code, err, "mnist1d_5000.npz", f"{tmp_path},",
                          f"{tmp_path}/mnist1d", *POINTERS)


@pytest.mark.parametrize("dataset, kind, file", [
    ("mnist_t10k", "mnist", "t10k-images-idx3-ubyte"),
    ("mnist", "mnist", "train-images-idx3-ubyte"),
    ("fashion_mnist", "fashion_mnist", "train-images-idx3-ubyte")])
def test_an_empty_chainrule_data_offline_lists_every_folder_and_the_failed_download(
        dataset, kind, file, capsys, tmp_path, offline):
    code, _, err = run_cli(["train", "--dataset", dataset, "--out", tmp_path / "run"], capsys)
    data, shared = tmp_path / "data", tmp_path / "shared" / "datasets"
    _error_after_download_attempts(code, err, f"{dataset}: no {file}.gz", f"{data},",
                                   f"{data}/{kind}", f"{shared},", f"{shared}/{kind}",
                                   "downloading into", "name resolution", *POINTERS)
    assert len(offline) == 3 and all(url.endswith(f"{file}.gz") for url in offline), offline
    assert not (tmp_path / "run").exists()


def test_evaluate_names_the_missing_data_the_same_way(capsys, tmp_path, offline):
    from chainrule import models
    from chainrule.train import save_checkpoint
    cfg = models.model_config("mlp", [28, 28], 10, hidden=[4])
    ckpt = tmp_path / "ck.safetensors"
    save_checkpoint(ckpt, models.build_model(cfg),
                    config={"model": cfg, "run": {"dataset": "mnist_t10k"}})
    code, _, err = run_cli(["evaluate", ckpt], capsys)
    _error_after_download_attempts(code, err, "mnist_t10k", str(tmp_path / "data"), *POINTERS)


def test_the_tests_skip_reason_for_missing_shared_data_says_how_to_point_at_them(
        tmp_path, monkeypatch):
    from tests import conftest
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(pytest.skip.Exception) as info:
        conftest.datasets.__wrapped__()
    reason = str(info.value)
    assert str(tmp_path / "nowhere") in reason
    assert all(p in reason for p in POINTERS), reason
