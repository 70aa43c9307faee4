"""``Trainer.load_checkpoint(skip=...)`` / ``fit(resume=..., skip=...)``: the named parts of a
checkpoint keep their fresh state, everything else is restored."""
from __future__ import annotations

import numpy as np
import pytest

from chainrule import optim
from chainrule.train import LRSchedulerCallback, Trainer

from .problems import assert_bitwise_equal, setup, weights


def _trainer(opt="sgd", schedule_callback=False):
    s = setup(opt=opt, dropout=0.0, scheduler=True)
    callbacks = []
    if schedule_callback:
        sched = optim.lr_scheduler.StepLR(s["optimizer"], step_size=1, gamma=0.5)
        callbacks.append(LRSchedulerCallback(sched, interval="epoch"))
        s["callback_schedule"] = sched
    trainer = Trainer(s["model"], s["loss_fn"], s["optimizer"], scheduler=s["scheduler"],
                      callbacks=callbacks)
    return s, trainer


@pytest.fixture
def checkpoint(tmp_path):
    s, trainer = _trainer(schedule_callback=True)
    trainer.fit(s["train"], epochs=2)
    path = trainer.save_checkpoint(tmp_path / "ck.safetensors")
    return path, s


def test_skip_optimizer_keeps_its_fresh_state_and_restores_the_rest(checkpoint):
    path, done = checkpoint
    s, trainer = _trainer(schedule_callback=True)
    fresh = s["optimizer"].state_dict()
    trainer.load_checkpoint(path, skip=("optimizer",))
    assert s["optimizer"].state_dict()["state"] == fresh["state"] == {}
    assert trainer.epoch == 2
    assert_bitwise_equal(weights(done["model"]), weights(s["model"]))
    assert s["scheduler"].last_epoch == done["scheduler"].last_epoch == 2
    assert s["callback_schedule"].last_epoch == 2


def test_skip_scheduler_leaves_every_schedule_at_its_start(checkpoint):
    path, done = checkpoint
    s, trainer = _trainer(schedule_callback=True)
    trainer.load_checkpoint(path, skip="scheduler")
    assert s["scheduler"].last_epoch == 0 and s["callback_schedule"].last_epoch == 0
    assert s["optimizer"].state_dict()["state"]  # the momentum buffers came back
    for a, b in zip(s["optimizer"].state_dict()["state"].values(),
                    done["optimizer"].state_dict()["state"].values()):
        for key in a:
            np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]))


def test_without_skip_everything_is_restored(checkpoint):
    path, done = checkpoint
    s, trainer = _trainer(schedule_callback=True)
    trainer.load_checkpoint(path)
    assert s["scheduler"].last_epoch == 2 and s["callback_schedule"].last_epoch == 2
    assert s["optimizer"].param_groups[0]["lr"] == done["optimizer"].param_groups[0]["lr"]


def test_fit_passes_skip_on(checkpoint):
    path, _ = checkpoint
    s, trainer = _trainer(schedule_callback=True)
    trainer.fit(s["train"], epochs=3, resume=path, skip=("scheduler",))
    assert s["scheduler"].last_epoch == 1 and s["callback_schedule"].last_epoch == 1
    assert trainer.epoch == 3


def test_an_unknown_part_is_refused_naming_it(checkpoint):
    path, _ = checkpoint
    s, trainer = _trainer()
    with pytest.raises(ValueError, match=r"'model'.*'optimizer', 'scheduler'"):
        trainer.load_checkpoint(path, skip=("model",))
    assert trainer.epoch == 0
