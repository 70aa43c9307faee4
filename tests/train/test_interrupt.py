"""GracefulInterrupt: the first Ctrl-C asks the loop to stop, the second raises; the previous
handler comes back on exit; a SIGINT ignored on purpose stays ignored."""
import os
import signal

import pytest

from chainrule.train.interrupt import GracefulInterrupt


@pytest.fixture
def sigint_handler():
    """Restore whatever handler the test run had."""
    before = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, before)


def test_first_ctrl_c_requests_a_stop_and_the_second_raises(sigint_handler):
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with GracefulInterrupt() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.requested
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_ignored_sigint_stays_ignored(sigint_handler):
    signal.signal(signal.SIGINT, signal.SIG_IGN)      # nohup, or a shell's background job
    with GracefulInterrupt() as stop:
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        os.kill(os.getpid(), signal.SIGINT)
        assert not stop.requested
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
