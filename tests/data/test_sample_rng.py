"""One random stream per (seed, epoch, index): the same numbers whoever asks, distinct streams
for distinct samples, chainrule's default generator outside a loader."""
import numpy as np

import chainrule as cr
from chainrule.data.sample_rng import sample_generator, sample_stream, using_sample_stream


def test_the_stream_depends_on_seed_epoch_and_index_only():
    draws = {}
    for key in [(0, 0, 0), (0, 0, 1), (0, 1, 0), (1, 0, 0), (0, 0, 0)]:
        with using_sample_stream(*key):
            draws.setdefault(key, []).append(sample_generator().random(4).tolist())
    assert draws[(0, 0, 0)][0] == draws[(0, 0, 0)][1]
    firsts = [v[0] for v in draws.values()]
    assert len({tuple(v) for v in firsts}) == 4
    np.testing.assert_array_equal(sample_stream(0, 1, 0).random(4), draws[(0, 1, 0)][0])


def test_outside_a_stream_it_is_the_default_generator_and_blocks_nest():
    cr.manual_seed(3)
    a = sample_generator().random()
    cr.manual_seed(3)
    with using_sample_stream(5, 0, 0):
        with using_sample_stream(5, 0, 1):
            inner = sample_generator().random()
        outer = sample_generator().random()
    assert sample_generator().random() == a
    assert inner == sample_stream(5, 0, 1).random() and outer == sample_stream(5, 0, 0).random()
