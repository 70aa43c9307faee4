"""Built-in models: architectures (the MNIST-1D CNN exactly as the issue states), agreement with
the same network written in PyTorch, initialisation schemes, and the config registry."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import models, nn

from ..nn._compare import to_torch_state


def _torch_out(tnet, x: np.ndarray) -> np.ndarray:
    tnet.eval()
    with torch.no_grad():
        return tnet(torch.tensor(x)).numpy()


def _cr_out(net, x: np.ndarray) -> np.ndarray:
    net.eval()
    with cr.no_grad():
        return net(cr.tensor(x)).numpy()


def test_mnist1d_cnn_is_the_papers_architecture_and_matches_torch():
    net = models.cnn([40], 10)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv1d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride, c.padding)
            for c in convs] == [(1, 25, (5,), (2,), (1,)), (25, 25, (3,), (2,), (1,)),
                                (25, 25, (3,), (2,), (1,))]
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert [(l.in_features, l.out_features) for l in linears] == [(125, 10)]
    assert sum(isinstance(m, nn.ReLU) for m in net.modules()) == 3
    tnet = torch.nn.Sequential(
        torch.nn.Unflatten(1, (1, 40)),
        torch.nn.Conv1d(1, 25, 5, 2, 1), torch.nn.ReLU(),
        torch.nn.Conv1d(25, 25, 3, 2, 1), torch.nn.ReLU(),
        torch.nn.Conv1d(25, 25, 3, 2, 1), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(125, 10))
    tnet.load_state_dict(to_torch_state(net.state_dict()))
    x = np.random.default_rng(0).standard_normal((6, 40)).astype(np.float32)
    np.testing.assert_allclose(_cr_out(net, x), _torch_out(tnet, x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shape,flat", [([8, 8], 32 * 2 * 2), ([28, 28], 32 * 7 * 7),
                                        ([1, 28, 28], 32 * 7 * 7)])
def test_lenet_cnn_same_padding_fits_8x8_and_28x28(shape, flat):
    net = models.cnn(shape, 10)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [c.padding for c in convs] == [(2, 2), (2, 2)]
    assert [m for m in net.modules() if isinstance(m, nn.Linear)][0].in_features == flat
    x = cr.randn(3, *shape)
    out = net(x)
    assert tuple(out.shape) == (3, 10)
    out.sum().backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in net.parameters())


def test_lenet_cnn_matches_torch():
    net = models.cnn([8, 8], 10, channels=[4, 6], hidden=[12])
    tnet = torch.nn.Sequential(
        torch.nn.Unflatten(1, (1, 8)),
        torch.nn.Conv2d(1, 4, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(24, 12), torch.nn.ReLU(), torch.nn.Linear(12, 10))
    tnet.load_state_dict(to_torch_state(net.state_dict()))
    x = np.random.default_rng(1).random((5, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(_cr_out(net, x), _torch_out(tnet, x), rtol=1e-4, atol=1e-5)


def test_mlp_with_batch_norm_and_dropout_matches_torch_in_eval_mode():
    net = models.mlp([4, 5], 3, hidden=[7, 6], activation="tanh", dropout=0.3,
                     batch_norm=True)
    names = [type(m).__name__ for m in net]
    assert names == ["Flatten", "Linear", "BatchNorm1d", "Tanh", "Dropout", "Linear",
                     "BatchNorm1d", "Tanh", "Dropout", "Linear"]
    tnet = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(20, 7), torch.nn.BatchNorm1d(7), torch.nn.Tanh(),
        torch.nn.Dropout(0.3), torch.nn.Linear(7, 6), torch.nn.BatchNorm1d(6), torch.nn.Tanh(),
        torch.nn.Dropout(0.3), torch.nn.Linear(6, 3))
    x = np.random.default_rng(2).standard_normal((9, 4, 5)).astype(np.float32)
    net.train()
    with cr.no_grad():  # one training-mode pass moves the running statistics
        net(cr.tensor(x))
    tnet.load_state_dict(to_torch_state(net.state_dict()))
    np.testing.assert_allclose(_cr_out(net, x), _torch_out(tnet, x), rtol=1e-4, atol=1e-5)


def test_logreg_is_one_linear_map():
    net = models.logreg([40], 10)
    assert [type(m).__name__ for m in net] == ["Flatten", "Linear"]
    assert sum(p.numel() for p in net.parameters()) == 40 * 10 + 10


def test_resmlp_skip_connections_and_projection():
    net = models.resmlp([10], 4, hidden=[8, 8, 6])
    blocks = [m for m in net.modules() if isinstance(m, nn.Residual)]
    assert len(blocks) == 3
    assert [b.projection is None for b in blocks] == [True, True, False]
    assert (blocks[2].projection.in_features, blocks[2].projection.out_features) == (8, 6)
    # With the residual branches' last layers zeroed each block is the identity (before the
    # activation): the network computes act(act(act(act(stem)))) → head.
    for b in blocks[:2]:
        nn.init.zeros_(b.f[-1].weight)
        nn.init.zeros_(b.f[-1].bias)
    x = cr.randn(5, 10)
    stem = cr.relu(net[1](net[0](x)))
    np.testing.assert_allclose(net[3](stem).numpy(), stem.numpy(), rtol=1e-6)
    out = net(x)
    assert tuple(out.shape) == (5, 4)
    out.sum().backward()
    assert net[1].weight.grad is not None and float(abs(net[1].weight.grad).sum()) > 0


@pytest.mark.parametrize("scheme,std", [("kaiming_normal", np.sqrt(2 / 400)),
                                        ("xavier_normal", np.sqrt(2) * np.sqrt(2 / 700)),
                                        ("normal", 0.01)])
def test_init_schemes_set_the_weight_scale_and_zero_biases(scheme, std):
    net = models.mlp([400], 10, hidden=[300], init=scheme)
    w = net[1].weight.numpy()
    assert abs(w.std() / std - 1) < 0.05
    assert not net[1].bias.numpy().any()


def test_zero_init_never_breaks_the_symmetry():
    net = models.mlp([5], 3, hidden=[4], init="zeros")
    x = cr.randn(8, 5)
    nn.CrossEntropyLoss()(net(x), cr.tensor(np.arange(8) % 3)).backward()
    # Every hidden unit gets the same (zero) gradient, so they stay equal forever.
    assert not net[1].weight.grad.numpy().any()


def test_default_init_is_pytorchs():
    cr.manual_seed(0)
    net = models.mlp([100], 10, hidden=[50])
    bound = 1 / np.sqrt(100)
    w = net[1].weight.numpy()
    assert w.min() >= -bound and w.max() <= bound and w.std() > 0.8 * bound / np.sqrt(3)


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_config_round_trip_rebuilds_the_same_model(name):
    shape = [8, 8]
    cfg = models.model_config(name, shape, 10)
    assert json.loads(json.dumps(cfg)) == cfg
    a = models.build_model(cfg)
    b = models.build_model(json.loads(json.dumps(a.config)))
    assert a.config == b.config == cfg
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    assert [tuple(v.shape) for v in sa.values()] == [tuple(v.shape) for v in sb.values()]
    b.load_state_dict(sa)
    x = np.random.default_rng(3).random((2, 8, 8)).astype(np.float32)
    np.testing.assert_array_equal(_cr_out(a, x), _cr_out(b, x))


def test_build_model_accepts_a_training_checkpoint_config():
    cfg = models.model_config("mlp", [3], 2, hidden=[4])
    net = models.build_model({"model": cfg, "run": {"lr": 0.1}})
    assert net.config == cfg


def test_model_options_lists_defaults():
    opts = models.model_options("mlp")
    assert opts["hidden"] == (256, 128) and opts["activation"] == "relu"
    assert "input_shape" not in opts


def test_register_model():
    def tiny(input_shape, num_classes, *, width=3):
        return nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(input_shape)), num_classes))
    models.register_model("tiny_test_model", tiny)
    try:
        net = models.build_model({"name": "tiny_test_model", "input_shape": [2, 2],
                                  "num_classes": 3})
        assert net.config["width"] == 3
    finally:
        del models.MODELS["tiny_test_model"]


@pytest.mark.parametrize("call,match", [
    (lambda: models.model_config("vgg", [8], 2), "unknown model 'vgg'"),
    (lambda: models.model_config("mlp", [8], 2, widht=3), "no option 'widht'"),
    (lambda: models.build_model({"name": "mlp"}), "lacks input_shape, num_classes"),
    (lambda: models.mlp([8], 2, activation="swish"), "unknown activation 'swish'"),
    (lambda: models.mlp([8], 2, init="he"), "unknown init 'he'"),
    (lambda: models.mlp([8], 2, hidden=[0]), "hidden sizes must be positive"),
    (lambda: models.mlp([8], 2, dropout=1.0), "dropout must be a probability"),
    (lambda: models.mlp([8], 0), "num_classes must be a positive integer"),
    (lambda: models.cnn([3, 3], 2, channels=[4, 4, 4]), "too small"),
    (lambda: models.cnn([8, 8], 2, kernel_size=[3, 3, 3]), "kernel_size has 3 entries"),
    (lambda: models.cnn([2, 3, 4, 5], 2), "needs input_shape"),
    (lambda: models.resmlp([8], 2, hidden=[]), "at least one block"),
])
def test_bad_configurations_name_the_problem(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_models_importable_from_package():
    assert cr.models.mlp is models.mlp
    import chainrule.models as mod
    assert {"logreg", "mlp", "resmlp", "cnn", "build_model"} <= set(mod.__all__)
