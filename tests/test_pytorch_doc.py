"""docs/pytorch.md is what ``python -m bench.pytorch_names`` writes from this tree and PyTorch, and
its verdicts on a few well-known names are right."""
from __future__ import annotations

import pytest

from .conftest import REPO

torch = pytest.importorskip("torch", reason="the PyTorch names page is generated from torch")

from bench.pytorch_names import NOTES, REMARKS, generate  # noqa: E402
from bench.pytorch_names_walk import TRAINING  # noqa: E402
from bench.pytorch_names_walk import classify  # noqa: E402


@pytest.fixture(scope="module")
def page() -> str:
    return generate()


def test_the_committed_page_is_the_generated_one(page):
    committed = (REPO / "docs" / "pytorch.md").read_text(encoding="utf-8")
    assert committed == page, ("docs/pytorch.md is out of date: run "
                               "`python -m bench.pytorch_names` and commit the page")


@pytest.mark.parametrize("name", ["torch.matmul", "torch.nn.Linear", "torch.optim.SGD",
                                  "torch.utils.data.DataLoader", "torch.nn.ReLU"])
def test_names_chainrule_has_are_found(name, page):
    entry = classify(name, NOTES)
    assert entry.state in ("supported", "partly"), entry
    assert f"| `{name}` |" in page


def test_matmul_is_supported_outright():
    assert classify("torch.matmul", NOTES).state == "supported"


def test_a_name_chainrule_lacks_is_not_yet(page):
    entry = classify("torch.nn.TransformerDecoderLayer", NOTES)
    assert entry.state == "not yet", entry
    assert "| `torch.nn.TransformerDecoderLayer` | class | not yet |" in page


def test_a_missing_parameter_is_named():
    # chainrule's mm has no out_dtype (PyTorch's CPU build has no kernel for it either)
    entry = classify("torch.mm", NOTES)
    assert entry.state == "partly" and "`out_dtype`" in entry.detail, entry


def test_a_hand_note_makes_a_name_partly():
    entry = classify("torch.matmul", {"torch.matmul": "differs somehow"})
    assert entry.state == "partly" and "differs somehow" in entry.detail, entry


def test_a_remark_is_shown_and_keeps_the_name_supported(page):
    entry = classify("torch.save", NOTES, REMARKS)
    assert entry.state == "supported" and REMARKS["torch.save"] in entry.detail, entry
    assert "safetensors" in REMARKS["torch.save"] and "never pickle" in REMARKS["torch.load"]


def test_everything_a_training_script_uses_is_supported(page):
    entries = [classify(q, NOTES, REMARKS) for q in TRAINING]
    assert [e for e in entries if e.state != "supported"] == []
    assert f"{len(TRAINING)} in all: {len(TRAINING)} supported, 0 partly, 0 not yet." in page


def test_out_of_scope_families_are_counted_not_listed(page):
    assert "| `torch.view_as_complex` |" not in page
    assert "**complex numbers**" in page and "**sparse tensors**" in page
