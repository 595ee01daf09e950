"""How the served schedule stops (flows.pipeline.PauseOnStop, pause_deployment): the pause
comes before the interrupt, whenever the Ctrl-C arrives. The server is a stand-in here;
tests/e2e/test_prefect_schedule.py stops the real process on a real server."""

from __future__ import annotations

import signal
import time

import pytest

from flows.pipeline import PauseOnStop, ScheduleNotPaused, pause_deployment


class Pause:
    """A stand-in for the server's pause: records the calls, answers `confirmed`."""

    def __init__(self, confirmed: bool = True, during=None):
        self.calls: list[str] = []
        self.confirmed = confirmed
        self.during = during  # run inside the pause (a signal that should wait)

    def __call__(self) -> bool:
        self.calls.append("pause")
        if self.during:
            self.during()
        return self.confirmed


def ctrl_c() -> None:
    signal.raise_signal(signal.SIGINT)


def test_ctrl_c_while_serving_pauses_then_interrupts_and_pauses_only_once():
    pause = Pause()
    # Python's own handler, or SIG_IGN where the shell started the tests in the background
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt), PauseOnStop(pause) as stop:
        with stop.registering():
            pass
        ctrl_c()
        pytest.fail("Ctrl-C did not interrupt")
    assert pause.calls == ["pause"]
    assert signal.getsignal(signal.SIGINT) is before  # put back


def test_ctrl_c_during_the_registration_waits_for_it_then_pauses():
    """A registration cut in half could reach the server after the pause and leave the
    schedule active: the Ctrl-C is held until the registration has finished."""
    pause, done = Pause(), []
    with pytest.raises(KeyboardInterrupt), PauseOnStop(pause) as stop:
        with stop.registering():
            ctrl_c()
            done.append("registered")  # not interrupted
            assert pause.calls == []
        pytest.fail("the held Ctrl-C did not interrupt")
    assert done == ["registered"] and pause.calls == ["pause"]


def test_a_second_ctrl_c_during_the_registration_stops_at_once_and_still_pauses():
    pause = Pause()
    with pytest.raises(KeyboardInterrupt), PauseOnStop(pause) as stop:
        with stop.registering():
            ctrl_c()
            ctrl_c()
            pytest.fail("the second Ctrl-C did not interrupt")
    assert pause.calls == ["pause"]  # on the way out: a write may have been in flight


def test_ctrl_c_and_sigterm_during_the_pause_wait_for_it():
    pause = Pause(during=lambda: (ctrl_c(), signal.raise_signal(signal.SIGTERM)))
    with pytest.raises(KeyboardInterrupt), PauseOnStop(pause) as stop:
        with stop.registering():
            pass
        ctrl_c()
    assert pause.calls == ["pause"]


def test_serving_that_ends_without_ctrl_c_pauses_on_the_way_out():
    """Prefect's runner takes SIGTERM over for its graceful stop: `start` returns."""
    pause = Pause()
    with PauseOnStop(pause) as stop:
        with stop.registering():
            pass
    assert pause.calls == ["pause"]


def test_a_pause_the_server_does_not_confirm_is_an_error():
    with pytest.raises(ScheduleNotPaused, match="may still be active"):
        with PauseOnStop(Pause(confirmed=False)) as stop:
            with stop.registering():
                pass
            ctrl_c()


def test_a_failed_registration_pauses_nothing_and_keeps_its_error():
    pause = Pause(confirmed=False)
    with pytest.raises(ConnectionError), PauseOnStop(pause) as stop:
        with stop.registering():
            raise ConnectionError("no server")
    assert pause.calls == []


def test_the_pause_has_a_deadline_even_when_the_server_never_answers(monkeypatch):
    import prefect.client.orchestration

    class Hanging:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

        def read_deployment_by_name(self, name):
            time.sleep(30)

    monkeypatch.setattr(prefect.client.orchestration, "get_client", lambda **kw: Hanging())
    started = time.monotonic()
    assert pause_deployment("pipeline/weekly-retrain", timeout_s=0.5) is False
    assert time.monotonic() - started < 5


def test_the_pause_is_retried_until_the_server_confirms_it(monkeypatch):
    import prefect.client.orchestration

    class Deployment:
        id = "d"
        paused = False

    class Busy:
        """The first request fails (a busy server); then the pause is read back."""

        requests: list[str] = []

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

        def read_deployment_by_name(self, name):
            self.requests.append("read")
            if len(self.requests) == 1:
                raise TimeoutError("busy")
            return Deployment()

        def pause_deployment(self, deployment_id):
            self.requests.append("pause")
            Deployment.paused = True

        def read_deployment(self, deployment_id):
            self.requests.append("read back")
            return Deployment()

    monkeypatch.setattr(prefect.client.orchestration, "get_client", lambda **kw: Busy())
    assert pause_deployment("pipeline/weekly-retrain", timeout_s=30) is True
    assert Busy.requests == ["read", "read", "pause", "read back"]
