"""Shared test set-up: hypothesis profile, dataset location, seeding."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "chainrule", deadline=None, max_examples=15, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.function_scoped_fixture])
settings.load_profile("chainrule")

REPO = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """Where the shared datasets live: $CHAINRULE_DATA or ../shared/datasets beside the repo."""
    env = os.environ.get("CHAINRULE_DATA")
    return Path(env) if env else REPO.parent / "shared" / "datasets"


@pytest.fixture
def datasets() -> Path:
    d = data_dir()
    if not d.is_dir():
        from chainrule.data.errors import missing_data_message
        pytest.skip(missing_data_message("the shared datasets (mnist/, mnist1d/) not found", [d]))
    return d


@pytest.fixture(autouse=True)
def _seed():
    import chainrule
    chainrule.manual_seed(0)
    yield


@pytest.fixture
def terminal_sigint():
    """SIGINT handled as in a terminal, whatever the test run inherited (a shell's background
    job or a CI runner may start it with SIGINT ignored, which GracefulInterrupt respects)."""
    before = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)
