"""Every layer against PyTorch's: same weights (copied through state_dict), same input; outputs,
input gradients, parameter gradients and buffers agree, in train and eval mode, float32 and
float64. Conv/pool/dropout layers need chainrule.nn.functional's conv and pool functions."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from tests.nn._compare import check_layer, run_both, close

tnn = torch.nn
DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
MODES = pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])


def needs(*names):
    missing = [n for n in names if not hasattr(F, n)]
    return pytest.mark.skipif(bool(missing), reason=f"chainrule.nn.functional lacks {missing} "
                                                    "(written under another part of issue #3)")


def randn(*shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def distinct(*shape, dtype=np.float64, seed=0):
    """No ties (max pooling's arg-max is then unique) and values well apart."""
    rng = np.random.default_rng(seed)
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1).astype(dtype)


@DTYPES
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,)], ids=str)
def test_linear(dtype, bias, shape):
    check_layer(nn.Linear(4, 3, bias=bias), tnn.Linear(4, 3, bias=bias),
                randn(*shape, dtype=dtype))


@DTYPES
@MODES
@pytest.mark.parametrize("make, shape", [
    (lambda m: m.BatchNorm1d(3), (6, 3)),
    (lambda m: m.BatchNorm1d(3), (4, 3, 5)),
    (lambda m: m.BatchNorm2d(3), (4, 3, 2, 5)),
    (lambda m: m.BatchNorm2d(3, momentum=None), (4, 3, 2, 2)),
    (lambda m: m.BatchNorm2d(3, affine=False, momentum=0.3, eps=1e-3), (2, 3, 3, 2)),
    (lambda m: m.BatchNorm1d(3, track_running_stats=False), (5, 3)),
], ids=["1d", "1d_seq", "2d", "2d_cumulative", "2d_noaffine", "1d_untracked"])
def test_batch_norm(dtype, train, make, shape):
    layer, tlayer = make(nn), make(tnn)
    if layer.affine:  # non-trivial γ, β
        layer.weight.numpy()[...] = np.linspace(0.5, 2.0, 3)
        layer.bias.numpy()[...] = np.linspace(-1.0, 1.0, 3)
    if not train and layer.track_running_stats:  # eval after some training: real running stats
        layer.running_mean.numpy()[...] = [0.3, -0.2, 0.1]
        layer.running_var.numpy()[...] = [0.5, 2.0, 1.5]
    check_layer(layer, tlayer, randn(*shape, dtype=dtype) * 2 + 1, train=train, steps=3)


def test_batch_norm_running_stats_use_unbiased_variance():
    layer = nn.BatchNorm1d(2, momentum=1.0)
    x = np.array([[1.0, 0.0], [3.0, 4.0]], dtype=np.float32)
    layer(cr.tensor(x))
    np.testing.assert_allclose(layer.running_mean.numpy(), [2.0, 2.0])
    np.testing.assert_allclose(layer.running_var.numpy(), [2.0, 8.0])  # n/(n−1)·biased
    assert layer.num_batches_tracked.item() == 1 and layer.num_batches_tracked.dtype == np.int64
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        layer(cr.tensor(x[:1]))
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        layer(cr.randn(2, 2, 2, 2))


@DTYPES
@pytest.mark.parametrize("make, shape", [
    (lambda m: m.LayerNorm(5), (3, 5)),
    (lambda m: m.LayerNorm((4, 5), eps=1e-3), (2, 4, 5)),
    (lambda m: m.LayerNorm(5, elementwise_affine=False), (2, 3, 5)),
    (lambda m: m.LayerNorm(5, bias=False), (3, 5)),
], ids=["1", "2", "noaffine", "nobias"])
def test_layer_norm(dtype, make, shape):
    layer, tlayer = make(nn), make(tnn)
    if layer.weight is not None:
        layer.weight.numpy()[...] = randn(*layer.weight.shape, seed=3) * 0.5 + 1
    if layer.bias is not None:
        layer.bias.numpy()[...] = randn(*layer.bias.shape, seed=4)
    for train in (True, False):
        check_layer(layer, tlayer, randn(*shape, dtype=dtype) * 3, train=train)


@DTYPES
@pytest.mark.parametrize("padding_idx", [None, 0, -1])
def test_embedding(dtype, padding_idx):
    layer, tlayer = nn.Embedding(7, 3, padding_idx=padding_idx), \
        tnn.Embedding(7, 3, padding_idx=padding_idx)
    if padding_idx is not None:
        assert np.all(layer.weight.numpy()[padding_idx] == 0)
    idx = np.array([[0, 2, 6], [2, 2, 1]])
    check_layer(layer, tlayer, idx, dtype=dtype)


def test_embedding_from_pretrained_is_frozen():
    w = randn(4, 2, dtype=np.float32)
    layer = nn.Embedding.from_pretrained(cr.tensor(w))
    assert not layer.weight.requires_grad
    np.testing.assert_array_equal(layer(cr.tensor([3, 0])).numpy(), w[[3, 0]])


ACTIVATIONS = [
    ("ReLU", (), "kinkfree"), ("LeakyReLU", (0.2,), "kinkfree"), ("PReLU", (), "kinkfree"),
    ("PReLU", (3,), "kinkfree"), ("ELU", (0.5,), "kinkfree"), ("GELU", (), "any"),
    ("GELU", ("tanh",), "any"), ("Sigmoid", (), "any"), ("Tanh", (), "any"),
    ("Softplus", (2.0, 1.0), "kinkfree"), ("Softmax", (1,), "any"), ("LogSoftmax", (1,), "any"),
    ("Softmin", (-1,), "any"), ("Identity", (), "any"),
]


@DTYPES
@pytest.mark.parametrize("name, args, domain", ACTIVATIONS,
                         ids=[f"{a[0]}{a[1]}" for a in ACTIVATIONS])
def test_activation(dtype, name, args, domain):
    x = randn(4, 3, 2, dtype=dtype) * 3
    if domain == "kinkfree":
        x = np.where(np.abs(x) < 0.05, 0.3, x).astype(dtype)
    if name == "GELU" and args:
        layer, tlayer = nn.GELU(approximate="tanh"), tnn.GELU(approximate="tanh")
    else:
        layer, tlayer = getattr(nn, name)(*args), getattr(tnn, name)(*args)
    if name == "PReLU":
        layer.weight.numpy()[...] = np.linspace(-0.3, 0.6, layer.weight.numel())
    check_layer(layer, tlayer, x)


def test_step_and_prelu_init():
    x = cr.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    y = nn.Step()(x)
    assert y.tolist() == [0.0, 0.0, 1.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    assert nn.PReLU(4).weight.tolist() == [0.25] * 4


def test_flatten_and_residual():
    check_layer(nn.Flatten(), tnn.Flatten(), randn(2, 3, 4))
    check_layer(nn.Flatten(0, 1), tnn.Flatten(0, 1), randn(2, 3, 4))
    block = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 4))
    proj = nn.Linear(4, 6)
    layer = nn.Residual(nn.Sequential(nn.Linear(4, 6), nn.ReLU()), projection=proj)
    for res, t_f, t_p in [
        (nn.Residual(block), tnn.Sequential(tnn.Linear(4, 4), tnn.Tanh(), tnn.Linear(4, 4)),
         None),
        (layer, tnn.Sequential(tnn.Linear(4, 6), tnn.ReLU()), tnn.Linear(4, 6)),
    ]:
        class TorchResidual(tnn.Module):
            def __init__(self):
                super().__init__()
                self.f, self.projection = t_f, t_p

            def forward(self, x):
                return (x if self.projection is None else self.projection(x)) + self.f(x)
        check_layer(res, TorchResidual(), randn(3, 4))
    with pytest.raises(ValueError, match="projection"):
        nn.Residual(nn.Linear(4, 6))(cr.randn(2, 4))


# -- layers built on the conv/pool/dropout functions ---------------------------------------------
CONVS = [
    ("Conv1d", dict(in_channels=3, out_channels=4, kernel_size=3), (2, 3, 9)),
    ("Conv1d", dict(in_channels=4, out_channels=6, kernel_size=2, stride=2, padding=1,
                    dilation=2, groups=2, bias=False), (2, 4, 10)),
    ("Conv1d", dict(in_channels=2, out_channels=2, kernel_size=4, padding="same"), (1, 2, 7)),
    ("Conv2d", dict(in_channels=2, out_channels=3, kernel_size=3, padding=1), (2, 2, 5, 6)),
    ("Conv2d", dict(in_channels=4, out_channels=4, kernel_size=(2, 3), stride=(2, 1),
                    dilation=(1, 2), groups=4), (1, 4, 6, 7)),
    ("Conv2d", dict(in_channels=2, out_channels=2, kernel_size=3, padding="same",
                    bias=False), (2, 2, 4, 4)),
]


@needs("conv1d", "conv2d")
@DTYPES
@pytest.mark.parametrize("name, kw, shape", CONVS, ids=[f"{c[0]}-{i}" for i, c in
                                                        enumerate(CONVS)])
def test_conv(dtype, name, kw, shape):
    check_layer(getattr(nn, name)(**kw), getattr(tnn, name)(**kw), randn(*shape, dtype=dtype))


POOLS = [
    ("MaxPool1d", (2,), {}, (2, 3, 8)), ("MaxPool1d", (3,), dict(stride=2, padding=1), (1, 2, 9)),
    ("MaxPool2d", (2,), {}, (2, 3, 4, 6)),
    ("MaxPool2d", ((3, 2),), dict(stride=1, padding=1, dilation=1), (1, 2, 5, 4)),
    ("AvgPool1d", (3,), dict(stride=2, padding=1), (2, 2, 9)),
    ("AvgPool2d", (2,), {}, (2, 3, 4, 6)),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, count_include_pad=False), (1, 2, 7, 5)),
    ("AdaptiveAvgPool1d", (3,), {}, (2, 3, 7)),
    ("AdaptiveAvgPool2d", ((2, 3),), {}, (2, 2, 5, 7)), ("AdaptiveAvgPool2d", (1,), {},
                                                         (2, 3, 4, 4)),
]


@needs("max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
       "adaptive_avg_pool2d")
@DTYPES
@pytest.mark.parametrize("name, args, kw, shape", POOLS,
                         ids=[f"{p[0]}-{i}" for i, p in enumerate(POOLS)])
def test_pool(dtype, name, args, kw, shape):
    check_layer(getattr(nn, name)(*args, **kw), getattr(tnn, name)(*args, **kw),
                distinct(*shape, dtype=dtype))


@needs("dropout")
def test_dropout_train_and_eval():
    cr.manual_seed(1)
    layer = nn.Dropout(0.3)
    x = cr.ones(200, 100, requires_grad=True)
    y = layer(x)
    kept = y.numpy() != 0
    assert abs(kept.mean() - 0.7) < 0.01                       # drop probability p = 0.3
    np.testing.assert_allclose(y.numpy()[kept], 1 / 0.7, rtol=1e-6)  # survivors scaled by 1/(1−p)
    assert y.dtype == np.float32
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.7, rtol=1e-6)
    layer.eval()
    z = layer(x)
    np.testing.assert_array_equal(z.numpy(), x.numpy())
    assert abs(float(y.numpy().mean()) - 1.0) < 0.02              # E[y] = x: no eval rescaling


@needs("conv2d", "max_pool2d", "dropout")
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_small_cnn(train):
    def build(m):
        return m.Sequential(m.Conv2d(1, 4, 3, padding=1), m.BatchNorm2d(4), m.ReLU(),
                            m.MaxPool2d(2), m.Flatten(), m.Linear(4 * 3 * 3, 5),
                            m.Dropout(0.0), m.LogSoftmax(dim=1))
    check_layer(build(nn), build(tnn), randn(3, 1, 6, 6, dtype=np.float64) + 0.01,
                train=train, steps=2)


def test_run_both_smoke():
    y, yt, gx, gxt = run_both(nn.Tanh(), tnn.Tanh(), randn(3))
    close(y, yt, np.float64, "tanh")
    close(gx, gxt, np.float64, "tanh grad")
