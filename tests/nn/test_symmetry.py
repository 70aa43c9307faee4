"""From the notes: why initialisation is random. A hidden layer whose weights start all equal
(here all zero) gives every hidden unit the same gradient, so after any number of gradient steps
the units are still identical — the layer is worth one unit. Random initialisation breaks that."""
from __future__ import annotations

import numpy as np

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F


def _train(net, x, y, steps=25, lr=0.5):
    losses = []
    for _ in range(steps):
        net.zero_grad()
        loss = F.mse_loss(net(x), y)
        loss.backward()
        with cr.no_grad():
            for p in net.parameters():
                p.data -= lr * p.grad.numpy()                 # plain gradient descent
        losses.append(loss.item())
    return losses


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 3))
    y = np.sin(x @ np.array([[1.0], [-2.0], [0.5]]))
    return cr.tensor(x), cr.tensor(y)


def test_zero_initialised_hidden_layer_stays_symmetric():
    # sigmoid(0) = 1/2, so the output weights get a gradient and then so does the hidden layer
    # (with tanh(0) = 0 nothing but the output bias would ever move)
    x, y = _data()
    net = nn.Sequential(nn.Linear(3, 8), nn.Sigmoid(), nn.Linear(8, 1)).double()
    for p in net.parameters():
        nn.init.zeros_(p)
    losses = _train(net, x, y)
    assert losses[-1] < losses[0]                            # it does learn something ...
    w1, b1, w2 = net[0].weight.numpy(), net[0].bias.numpy(), net[2].weight.numpy()
    assert np.abs(w1).max() > 1e-3                           # ... and the weights did move
    np.testing.assert_allclose(w1, np.broadcast_to(w1[0], w1.shape), rtol=0, atol=1e-12)
    np.testing.assert_allclose(b1, b1[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(w2, np.broadcast_to(w2[:, :1], w2.shape), rtol=0, atol=1e-12)


def test_random_initialisation_breaks_the_symmetry():
    cr.manual_seed(0)
    x, y = _data()
    net = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    losses = _train(net, x, y)
    w1 = net[0].weight.numpy()
    assert losses[-1] < losses[0]
    assert np.linalg.matrix_rank(w1) == 3                    # the hidden units differ
