"""``chainrule data pack DIR OUT``: packs a folder, resumes, and reports bad input in one line."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

from chainrule.data import PackedDataset  # noqa: E402
from chainrule.data.packed_write import PackWriter, partial_path  # noqa: E402

from .helpers import assert_one_line_error, run_cli  # noqa: E402


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "imgs"
    for name in ("b", "a"):
        (root / name).mkdir(parents=True)
        for i in range(6):
            pixels = rng.integers(0, 256, (9 + i % 2, 8, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.{'png' if i % 2 else 'jpg'}")
    return root


def test_pack_resizes_and_reads_back(folder, tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, err = run_cli(["data", "pack", folder, out, "--jobs", "1", "--size", "6,5"],
                                capsys)
    assert code == 0, err
    assert stdout.strip() == (f"packed 12 images of 3x6x5 in 2 classes from {folder} into "
                              f"{out}")
    ds = PackedDataset(out)
    assert ds.classes == ["a", "b"] and len(ds) == 12 and ds[0][0].shape == (3, 6, 5)
    with Image.open(folder / "a" / "0.jpg") as img:
        expect = np.asarray(img.convert("RGB").resize((5, 6), Image.BILINEAR))
    np.testing.assert_array_equal(ds[0][0], expect.transpose(2, 0, 1))


def test_pack_with_worker_processes_and_resume(folder, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    real = PackWriter.append
    seen = []

    def crash(self, images, labels):
        if seen:
            raise KeyboardInterrupt
        seen.append(1)
        real(self, images, labels)

    monkeypatch.setattr(PackWriter, "append", crash)
    code, _, err = run_cli(["data", "pack", folder, out, "--size", "6,5", "--chunk-size", "4",
                            "--jobs", "1"], capsys)
    assert code == 130 and "interrupted" in err and not out.exists()
    assert partial_path(out).exists()
    monkeypatch.setattr(PackWriter, "append", real)
    code, stdout, err = run_cli(["data", "pack", folder, out, "--size", "6,5", "--chunk-size",
                                 "4", "--jobs", "2"], capsys)
    assert code == 0, err
    assert stdout.strip().endswith("resumed after 4 already packed")
    assert len(PackedDataset(out)) == 12


def test_mixed_sizes_without_size_is_one_line_naming_the_file(folder, tmp_path, capsys):
    code, _, err = run_cli(["data", "pack", folder, tmp_path / "out", "--jobs", "1"], capsys)
    assert_one_line_error(code, err, "1.png", "--size H,W")


def test_corrupt_image_is_one_line_naming_the_file(folder, tmp_path, capsys):
    (folder / "b" / "3.png").write_bytes(b"garbage")
    code, _, err = run_cli(["data", "pack", folder, tmp_path / "out", "--size", "4,4",
                            "--jobs", "1"], capsys)
    assert_one_line_error(code, err, "3.png", "cannot decode")


@pytest.mark.parametrize("extra, words", [
    (["--size", "6"], "H,W"),
    (["--size", "0,5"], "--size"),
    (["--jobs", "0"], "--jobs"),
])
def test_bad_options_are_refused(folder, tmp_path, capsys, extra, words):
    code, _, err = run_cli(["data", "pack", folder, tmp_path / "out", *extra], capsys)
    assert code == 2 and words in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_missing_folder_and_existing_output(folder, tmp_path, capsys):
    code, _, err = run_cli(["data", "pack", tmp_path / "nope", tmp_path / "out"], capsys)
    assert_one_line_error(code, err, "nope", "no such folder")
    (tmp_path / "out").mkdir()
    code, _, err = run_cli(["data", "pack", folder, tmp_path / "out", "--size", "4,4"], capsys)
    assert_one_line_error(code, err, "out", "already exists")


def test_data_needs_an_action(capsys):
    code, _, err = run_cli(["data"], capsys)
    assert code == 2 and "ACTION" in err
