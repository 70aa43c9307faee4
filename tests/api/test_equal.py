"""``chainrule.equal`` / ``Tensor.equal`` against ``torch.equal``: same shape and elements."""
import pytest
import torch

import chainrule as cr

CASES = [([1.0, 2.0], [1.0, 2.0]), ([1.0, 2.0], [1.0, 3.0]), ([1.0, 2.0], [[1.0, 2.0]]),
         ([float("nan")], [float("nan")]), ([1, 2], [1.0, 2.0]), ([], []), ([[0.0]], [0.0])]


@pytest.mark.parametrize("a,b", CASES)
def test_equal_matches_torch(a, b):
    want = torch.equal(torch.tensor(a), torch.tensor(b))
    assert cr.equal(cr.tensor(a), cr.tensor(b)) is want
    assert cr.tensor(a).equal(cr.tensor(b)) is want


def test_equal_refuses_non_tensors():
    with pytest.raises(TypeError, match="equal.*'other' must be a Tensor"):
        cr.equal(cr.tensor([1.0]), [1.0])
