"""Edge results PyTorch defines: var/std with too few degrees of freedom (it divides by
max(n − correction, 0)), and sign, which is differentiable with a zero gradient."""
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr


@pytest.mark.parametrize("shape,dim,correction", [
    ((3,), None, 5),          # n − correction < 0: 2/0 = inf, not 2/−2 = −1
    ((3,), None, 3),
    ((1, 4), 0, 1),           # one sample: 0/0 = nan
    ((0, 3), 0, 1),           # empty dim: nan, not −0
    ((0, 3), 0, 0),
    ((2, 3), 1, 2.5),         # a fractional correction
])
@pytest.mark.parametrize("fn", ["var", "std"])
def test_too_few_degrees_of_freedom_match_torch(fn, shape, dim, correction):
    x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    kw = {} if dim is None else {"dim": dim}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = getattr(cr, fn)(cr.tensor(x), correction=correction, **kw).numpy()
        want = getattr(torch, fn)(torch.tensor(x), correction=correction, **kw).numpy()
    np.testing.assert_array_equal(got, want)


def test_sign_is_differentiable_with_a_zero_gradient():
    def run(lib):
        x = lib.tensor([-2.0, 0.0, 3.0], requires_grad=True)
        y = lib.sign(x)
        assert y.requires_grad
        (y * 5).sum().backward()
        return np.asarray(x.grad).copy(), np.asarray(y.detach()).copy()
    for a, b in zip(run(cr), run(torch)):
        np.testing.assert_array_equal(a, b)
    assert cr.sign(cr.tensor([-3, 0, 2])).numpy().tolist() == [-1, 0, 1]
