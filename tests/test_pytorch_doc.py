"""docs/pytorch.md is what ``python -m bench.pytorch_names`` writes from this tree and PyTorch, and
its verdicts on a few well-known names are right."""
from __future__ import annotations

import pytest

from .conftest import REPO

torch = pytest.importorskip("torch", reason="the PyTorch names page is generated from torch")

from bench.pytorch_names import NOTES, generate  # noqa: E402
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
    # chainrule's SGD has no fused CUDA kernel switch
    entry = classify("torch.optim.SGD", NOTES)
    assert entry.state == "partly" and "`fused`" in entry.detail, entry


def test_a_hand_note_makes_a_name_partly():
    entry = classify("torch.save", NOTES)
    assert entry.state == "partly" and NOTES["torch.save"] in entry.detail, entry


def test_out_of_scope_families_are_counted_not_listed(page):
    assert "| `torch.view_as_complex` |" not in page
    assert "**complex numbers**" in page and "**sparse tensors**" in page
