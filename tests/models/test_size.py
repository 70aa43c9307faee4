"""parameter_count reads the same plan the builders build from: it equals the built model's
parameter count (and its largest layer) for every configuration, and refuses what they refuse."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule import models

widths = st.lists(st.integers(1, 12), min_size=0, max_size=3)
common = dict(activation=st.sampled_from(sorted(models.ACTIVATIONS)), batch_norm=st.booleans(),
              dropout=st.sampled_from([0.0, 0.25]))
shapes = st.lists(st.integers(1, 9), min_size=1, max_size=3)


def _outcome(config):
    """(parameters, largest layer's parameters) of the built model, or its ValueError text."""
    try:
        model = models.build_model(config)
    except ValueError as exc:
        return str(exc)
    own = [sum(p.numel() for p in m.parameters(recurse=False)) for m in model.modules()]
    return sum(p.numel() for p in model.parameters()), max(own)


def _counted(config):
    try:
        size = models.parameter_count(config)
    except ValueError as exc:
        return str(exc)
    return size.parameters, size.largest


def _agree(name, shape, **options):
    config = models.model_config(name, shape, 3, **options)
    assert _counted(config) == _outcome(config), config


@settings(max_examples=25, deadline=None)
@given(shape=shapes, hidden=widths, **common)
def test_dense_models_count_what_they_build(shape, hidden, activation, batch_norm, dropout):
    _agree("logreg", shape)
    _agree("mlp", shape, hidden=hidden, activation=activation, batch_norm=batch_norm,
           dropout=dropout)
    _agree("resmlp", shape, hidden=hidden, activation=activation, batch_norm=batch_norm,
           dropout=dropout)


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(1, 12), min_size=1, max_size=3),
       channels=st.one_of(st.none(), st.lists(st.integers(1, 5), min_size=1, max_size=3)),
       kernel=st.one_of(st.none(), st.integers(1, 5)), hidden=st.one_of(st.none(), widths),
       dims=st.sampled_from([None, 1, 2]), **common)
def test_the_cnn_counts_what_it_builds(shape, channels, kernel, hidden, dims, activation,
                                       batch_norm, dropout):
    _agree("cnn", shape, channels=channels, kernel_size=kernel, hidden=hidden, dims=dims,
           activation=activation, batch_norm=batch_norm, dropout=dropout)


@pytest.mark.parametrize("name,shape,options,message", [
    ("cnn", [2, 2], {"channels": [4, 4, 4, 4]}, "feature map vanishes"),
    ("cnn", [8, 8], {"channels": [4, 4], "kernel_size": [3, 3, 3]}, "kernel_size has 3"),
    ("resmlp", [8], {"hidden": []}, "at least one block width"),
    ("mlp", [8], {"activation": "banana"}, "unknown activation"),
])
def test_parameter_count_refuses_what_the_builder_refuses(name, shape, options, message):
    config = models.model_config(name, shape, 10, **options)
    with pytest.raises(ValueError, match=message):
        models.build_model(config)
    with pytest.raises(ValueError, match=message):
        models.parameter_count(config)
    assert models.check_size(config, limit=1) is None  # the builder names the problem


def test_the_largest_layer_and_its_option_are_named():
    size = models.parameter_count(models.model_config("mlp", [8, 8], 10, hidden=[1000]))
    assert (size.layer, size.option, size.largest) == ("Linear(64 → 1000)", "hidden", 65_000)
    size = models.parameter_count(models.model_config("cnn", [28, 28], 10, channels=[2]))
    assert (size.layer, size.option) == ("Linear(392 → 128)", "input_shape")
    size = models.parameter_count(models.model_config("cnn", [4, 4], 10, channels=[900],
                                                      hidden=[]))
    assert (size.layer, size.option) == ("Linear(3600 → 10)", "channels")  # 900 × 2 × 2
    with pytest.raises(models.ModelTooLarge, match="channels=\\[900\\]") as info:
        models.check_size(models.model_config("cnn", [4, 4], 10, channels=[900]), limit=1000)
    assert info.value.option == "channels"
