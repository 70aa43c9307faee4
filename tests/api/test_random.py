"""Generators and sampling (issue #18): chainrule.Generator's API against torch.Generator's,
``generator=`` on every random function and in-place random method (same seed, same draws; the
default generator untouched), normal/bernoulli/multinomial overloads, shapes and dtypes against
PyTorch, their distributions checked by frequencies at fixed seeds, and their errors where
PyTorch raises too."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import chainrule as cr


def _gen(seed=0):
    return cr.Generator().manual_seed(seed)


# -- the Generator object ------------------------------------------------------------------------
def test_generator_api_matches_torch():
    g, tg = cr.Generator(), torch.Generator()
    assert g.initial_seed() == tg.initial_seed()          # PyTorch's fixed default seed
    assert g.manual_seed(5) is g
    assert g.initial_seed() == 5 and g.device == "cpu"
    for seed in (-1, -(2 ** 63), 2 ** 64 - 1, 0):
        assert g.manual_seed(seed).initial_seed() == tg.manual_seed(seed).initial_seed()
    new = g.seed()
    assert isinstance(new, int) and g.initial_seed() == new and 0 <= new < 2 ** 64


@pytest.mark.parametrize("seed, exc", [(2 ** 64, ValueError), (-(2 ** 63) - 1, ValueError),
                                       (1.5, TypeError), (True, TypeError)])
def test_manual_seed_rejects(seed, exc):
    with pytest.raises(exc, match="manual_seed: seed"):
        cr.Generator().manual_seed(seed)


def test_state_round_trips():
    g = _gen(3)
    cr.rand(5, generator=g)
    state = g.get_state()
    assert state.dtype == np.uint8 and state.ndim == 1
    a = cr.randn(4, generator=g)
    g.manual_seed(99)
    g.set_state(state)
    np.testing.assert_array_equal(cr.randn(4, generator=g).numpy(), a.numpy())
    assert g.initial_seed() == 3                      # the state carries its seed
    other = cr.Generator().set_state(state)           # a state moves between generators
    np.testing.assert_array_equal(cr.randn(4, generator=other).numpy(), a.numpy())


@pytest.mark.parametrize("bad", [cr.zeros(48), cr.zeros(10, dtype=cr.uint8), [1, 2, 3]])
def test_set_state_rejects(bad):
    with pytest.raises(ValueError, match=r"set_state: the state must be a uint8 tensor"):
        cr.Generator().set_state(bad)


def test_generator_device():
    assert cr.Generator(device="cpu").device == "cpu"
    with pytest.raises(ValueError, match="Generator: device 'cuda' is not available"):
        cr.Generator("cuda")


def test_default_generator_is_manual_seeds():
    cr.default_generator.manual_seed(11)
    a = cr.rand(3)
    assert cr.initial_seed() == 11 == cr.default_generator.initial_seed()
    cr.manual_seed(11)
    np.testing.assert_array_equal(cr.rand(3).numpy(), a.numpy())
    state = cr.default_generator.get_state()
    b = cr.randn(5)
    cr.default_generator.set_state(state)
    np.testing.assert_array_equal(cr.randn(5).numpy(), b.numpy())
    new = cr.seed()
    assert cr.initial_seed() == new
    cr.manual_seed(0)


# -- generator= everywhere -----------------------------------------------------------------------
DRAWS = {
    "rand": lambda g: cr.rand(2, 3, generator=g),
    "randn": lambda g: cr.randn(4, generator=g),
    "randint": lambda g: cr.randint(0, 10, (5,), generator=g),
    "randperm": lambda g: cr.randperm(7, generator=g),
    "normal": lambda g: cr.normal(0.0, 1.0, (3,), generator=g),
    "normal_tensor": lambda g: cr.normal(cr.zeros(3), cr.ones(3), generator=g),
    "bernoulli": lambda g: cr.bernoulli(cr.full((6,), 0.5), generator=g),
    "multinomial": lambda g: cr.multinomial(cr.ones(5), 3, generator=g),
    "Tensor.normal_": lambda g: cr.zeros(4).normal_(generator=g),
    "Tensor.uniform_": lambda g: cr.zeros(4).uniform_(-1, 1, generator=g),
    "Tensor.random_": lambda g: cr.zeros(4).random_(0, 100, generator=g),
    "Tensor.bernoulli_": lambda g: cr.zeros(8).bernoulli_(0.5, generator=g),
    "Tensor.exponential_": lambda g: cr.zeros(4).exponential_(generator=g),
    "Tensor.bernoulli": lambda g: cr.full((6,), 0.3).bernoulli(generator=g),
    "Tensor.multinomial": lambda g: cr.ones(2, 4).multinomial(2, generator=g),
    "nn.init.normal_": lambda g: cr.nn.init.normal_(cr.zeros(4), generator=g),
}


@pytest.mark.parametrize("name", list(DRAWS))
def test_generator_keyword(name):
    """Same seed, same draws; another seed, other draws; the default generator untouched."""
    draw = DRAWS[name]
    cr.manual_seed(1)
    before = cr.default_generator.get_state().numpy()
    a, b, c = draw(_gen(7)), draw(_gen(7)), draw(_gen(8))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(a.numpy(), c.numpy()), f"{name}: seeds 7 and 8 drew the same"
    np.testing.assert_array_equal(cr.default_generator.get_state().numpy(), before)
    with pytest.raises(TypeError, match="generator must be a chainrule.Generator"):
        draw("seed")


def test_data_pipeline_accepts_generator():
    from chainrule.data import (DataLoader, RandomSampler, SubsetRandomSampler,
                                WeightedRandomSampler, random_split)

    def run(seed):
        g = _gen(seed)
        loader = [b.tolist() for b in DataLoader(list(range(12)), batch_size=4, shuffle=True,
                                                  generator=g)]
        return (loader, [list(s) for s in random_split(list(range(6)), [3, 3], generator=g)],
                list(RandomSampler(range(6), generator=g)),
                list(SubsetRandomSampler([1, 3, 5, 7], generator=g)),
                list(WeightedRandomSampler([1.0, 2.0, 3.0], 6, generator=g)))
    assert run(4) == run(4)
    assert run(4) != run(5)


# -- normal --------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, kw", [
    ((cr.zeros(2, 1), cr.ones(3)), {}),
    ((cr.zeros(3, dtype=cr.float64), 2.0), {}),
    ((1.0, cr.ones(2, 2)), {}),
    ((0.0, 1.0, (2, 3)), {}),
    ((0.0, 1.0), {"size": (4,), "dtype": cr.float64}),
    ((cr.zeros(3, dtype=cr.float64), cr.ones(3)), {}),
])
def test_normal_overloads_match_torch(args, kw):
    def conv(a):
        return torch.tensor(a.numpy()) if isinstance(a, cr.Tensor) else a
    tkw = {k: (torch.float64 if v is cr.float64 else v) for k, v in kw.items()}
    out, tout = cr.normal(*args, **kw), torch.normal(*[conv(a) for a in args], **tkw)
    assert tuple(out.shape) == tuple(tout.shape)
    assert str(out.dtype).replace("chainrule.", "") == str(tout.dtype).replace("torch.", "")


def test_normal_moments():
    g = _gen(0)
    mean, std = np.array([[-2.0], [3.0]]), np.array([[0.5, 2.0, 4.0]])
    x = cr.normal(cr.tensor(np.repeat(mean[None], 20000, 0)), cr.tensor(std), generator=g)
    assert tuple(x.shape) == (20000, 2, 3)                 # broadcast (N, 2, 1) with (1, 3)
    np.testing.assert_allclose(x.numpy().mean(0), np.broadcast_to(mean, (2, 3)),
                               atol=5 * 4 / math.sqrt(2e4))
    np.testing.assert_allclose(x.numpy().std(0), np.broadcast_to(std, (2, 3)), rtol=0.03)
    big = cr.normal(cr.full((20000,), 3.0), cr.full((20000,), 2.0), generator=g).numpy()
    assert abs(big.mean() - 3.0) < 5 * 2 / math.sqrt(2e4)
    assert abs(big.std() - 2.0) < 0.05
    small = cr.normal(-1.0, 0.5, (20000,), generator=g).numpy()
    assert abs(small.mean() + 1.0) < 5 * 0.5 / math.sqrt(2e4) and abs(small.std() - 0.5) < 0.02


def test_normal_is_not_differentiable_as_torch():
    """PyTorch's normal keeps its output in the graph with zero gradients; so does ours."""
    m, s = cr.zeros(3, requires_grad=True), cr.ones(3, requires_grad=True)
    tm, ts = torch.zeros(3, requires_grad=True), torch.ones(3, requires_grad=True)
    y, ty = cr.normal(m, s), torch.normal(tm, ts)
    assert y.requires_grad == ty.requires_grad
    (y * 2).sum().backward()
    (ty * 2).sum().backward()
    np.testing.assert_array_equal(m.grad.numpy(), tm.grad.numpy())
    np.testing.assert_array_equal(s.grad.numpy(), ts.grad.numpy())
    p, tp = cr.full((3,), 0.5, requires_grad=True), torch.full((3,), 0.5, requires_grad=True)
    b, tb = cr.bernoulli(p), torch.bernoulli(tp)
    assert b.requires_grad == tb.requires_grad
    b.sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), np.zeros(3, np.float32))


@pytest.mark.parametrize("cr_call, torch_call, pattern", [
    (lambda: cr.normal(cr.zeros(2), -1.0), lambda: torch.normal(torch.zeros(2), -1.0),
     r"normal: std must be >= 0"),
    (lambda: cr.normal(cr.zeros(2), cr.tensor([1.0, -1.0])),
     lambda: torch.normal(torch.zeros(2), torch.tensor([1.0, -1.0])),
     r"every element of std must be >= 0"),
    (lambda: cr.normal(cr.zeros(2), cr.ones(3)), lambda: torch.normal(torch.zeros(2),
                                                                       torch.ones(3)),
     r"mean of shape \(2,\) and std of shape \(3,\) do not broadcast"),
    (lambda: cr.bernoulli(cr.tensor([0.5, 1.5])), lambda: torch.bernoulli(torch.tensor(
        [0.5, 1.5])), r"bernoulli: probabilities must lie in \[0, 1\]"),
    (lambda: cr.multinomial(cr.tensor([1.0, -1.0]), 1),
     lambda: torch.multinomial(torch.tensor([1.0, -1.0]), 1), r"finite and non-negative"),
    (lambda: cr.multinomial(cr.tensor([1.0, math.inf]), 1),
     lambda: torch.multinomial(torch.tensor([1.0, math.inf]), 1), r"finite and non-negative"),
    (lambda: cr.multinomial(cr.tensor([[1.0, 1.0], [0.0, 0.0]]), 1),
     lambda: torch.multinomial(torch.tensor([[1.0, 1.0], [0.0, 0.0]]), 1),
     r"row\(s\) \[1\] of input shape \(2, 2\) have all-zero weights"),
    (lambda: cr.multinomial(cr.ones(3), 4), lambda: torch.multinomial(torch.ones(3), 4),
     r"cannot draw 4 samples without replacement from 3 categories"),
    (lambda: cr.multinomial(cr.ones(2, 2, 2), 1), lambda: torch.multinomial(torch.ones(2, 2, 2),
                                                                           1),
     r"must be 1-D or 2-D"),
    (lambda: cr.multinomial(cr.ones(3), 0), lambda: torch.multinomial(torch.ones(3), 0),
     r"num_samples must be a positive int"),
    (lambda: cr.zeros(3).random_(5, 5), lambda: torch.zeros(3).random_(5, 5),
     r"random_: expects from < to"),
    (lambda: cr.zeros(3).exponential_(-1.0), lambda: torch.zeros(3).exponential_(-1.0),
     r"exponential_: lambd must be positive"),
    (lambda: cr.zeros(3).bernoulli_(1.5), lambda: torch.zeros(3).bernoulli_(1.5),
     r"bernoulli_: probabilities must lie in \[0, 1\]"),
])
def test_errors_where_torch_raises(cr_call, torch_call, pattern):
    with pytest.raises((RuntimeError, ValueError, IndexError)):
        torch_call()
    with pytest.raises((ValueError, TypeError), match=pattern):
        cr_call()


# -- bernoulli and the in-place samplers ----------------------------------------------------------
def test_bernoulli_frequencies():
    g = _gen(2)
    p = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    x = cr.bernoulli(cr.tensor(np.tile(p, (20000, 1))), generator=g).numpy()
    assert x.dtype == np.float64 and set(np.unique(x)) <= {0.0, 1.0}
    freq = x.mean(0)
    assert freq[0] == 0 and freq[-1] == 1
    np.testing.assert_allclose(freq, p, atol=5 * 0.5 / math.sqrt(20000))
    y = cr.zeros(20000, 3).bernoulli_(cr.tensor([0.2, 0.5, 0.7]), generator=g).numpy()
    np.testing.assert_allclose(y.mean(0), [0.2, 0.5, 0.7], atol=0.02)
    assert cr.ones(4).bernoulli(0.0, generator=g).numpy().sum() == 0


def test_random_bounds_match_torch():
    g = _gen(3)
    x = cr.zeros(5000).random_(5, 10, generator=g).numpy()
    assert set(np.unique(x)) == set(range(5, 10))
    x = cr.zeros(5000, dtype=cr.int64).random_(3, generator=g).numpy()
    assert set(np.unique(x)) == {0, 1, 2}
    for dtype, tdtype, top in [(cr.float32, torch.float32, 2 ** 24),
                               (cr.float64, torch.float64, 2 ** 53),
                               (cr.int64, torch.int64, 2 ** 63 - 1),
                               (cr.uint8, torch.uint8, 255)]:
        ours = cr.zeros(2000, dtype=dtype).random_(generator=g)
        theirs = torch.zeros(2000, dtype=tdtype).random_()
        assert str(ours.dtype).replace("chainrule.", "") == str(theirs.dtype).replace("torch.", "")
        for v in (ours.numpy(), theirs.numpy()):
            assert v.min() >= 0 and v.max() <= top and v.max() > top / 4, (dtype, v.max())
    b = cr.zeros(100, dtype=cr.bool).random_(generator=g).numpy()
    assert b.dtype == np.bool_ and b.any() and not b.all()


def test_exponential_moments():
    x = cr.zeros(40000).exponential_(2.5, generator=_gen(4)).numpy()
    assert x.min() >= 0 and abs(x.mean() - 0.4) < 5 * 0.4 / math.sqrt(40000)


# -- multinomial -----------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, n, replacement", [((4,), 3, False), ((4,), 9, True),
                                                   ((2, 5), 5, False), ((3, 2), 1, True)])
def test_multinomial_shapes_match_torch(shape, n, replacement):
    w = np.random.default_rng(0).uniform(0.1, 1, shape)
    out = cr.multinomial(cr.tensor(w), n, replacement)
    tout = torch.multinomial(torch.tensor(w), n, replacement)
    assert tuple(out.shape) == tuple(tout.shape) and out.dtype == np.int64
    assert torch.tensor(w).multinomial(n, replacement).shape == tuple(
        cr.tensor(w).multinomial(n, replacement).shape)


def test_multinomial_with_replacement_frequencies():
    w = np.array([[0.0, 1.0, 0.0, 3.0, 6.0], [5.0, 0.0, 0.0, 0.0, 5.0]])
    x = cr.multinomial(cr.tensor(w), 30000, replacement=True, generator=_gen(5)).numpy()
    for row, weights in zip(x, w):
        freq = np.bincount(row, minlength=5) / row.size
        p = weights / weights.sum()
        assert np.all(freq[p == 0] == 0), "a zero-weight category was drawn"
        np.testing.assert_allclose(freq, p, atol=5 * 0.5 / math.sqrt(row.size))


def test_multinomial_without_replacement_is_sequential_sampling():
    """Draw 1 has P(i) = pᵢ, draw 2 P(j | i) = pⱼ/(1 − pᵢ); no index repeats; zero-weight
    categories only once the positive ones are used up."""
    p = np.array([0.5, 0.3, 0.2, 0.0])
    reps = 20000
    x = cr.multinomial(cr.tensor(np.tile(p, (reps, 1))), 2, generator=_gen(6)).numpy()
    assert np.all(x[:, 0] != x[:, 1]) and not np.any(x == 3)
    first = np.bincount(x[:, 0], minlength=4) / reps
    np.testing.assert_allclose(first, p, atol=5 * 0.5 / math.sqrt(reps))
    pairs = np.zeros((4, 4))
    np.add.at(pairs, (x[:, 0], x[:, 1]), 1)
    expect = np.array([[p[i] * p[j] / (1 - p[i]) if i != j else 0 for j in range(4)]
                       for i in range(4)])
    np.testing.assert_allclose(pairs / reps, expect, atol=5 * 0.5 / math.sqrt(reps))
    all4 = cr.multinomial(cr.tensor(p), 4, generator=_gen(7)).numpy()
    assert sorted(all4.tolist()) == [0, 1, 2, 3] and all4[-1] == 3
