"""A polling thread steps aside while the console answers a key, and never for long."""

from __future__ import annotations

import threading

from mqtui.services.keyhold import KeyHold


def test_a_thread_steps_aside_until_the_key_is_answered() -> None:
    hold = KeyHold()
    hold.begin()
    assert hold.held
    resumed = threading.Event()

    def poller() -> None:
        hold.step_aside()
        resumed.set()

    thread = threading.Thread(target=poller)
    thread.start()
    assert not resumed.wait(0.05)  # held while the key is answered
    hold.end()
    assert resumed.wait(1.0)
    thread.join()
    assert not hold.held


def returns(step: KeyHold) -> bool:
    """Whether `step_aside` returns within a few seconds (`LONGEST` is set far beyond them, or below)."""
    thread = threading.Thread(target=step.step_aside)
    thread.start()
    thread.join(5.0)
    return not thread.is_alive()


def test_without_a_key_a_step_does_not_wait_and_a_lost_end_holds_no_longer_than_longest() -> None:
    hold = KeyHold()
    hold.LONGEST = 60.0
    assert returns(hold)  # no key: no wait at all
    hold.LONGEST = 0.05
    hold.begin()  # and never ended
    assert returns(hold)


def test_a_hold_never_ended_stops_holding_once_overdue() -> None:
    hold = KeyHold()
    hold.LONGEST, hold.OVERDUE = 60.0, 0.05
    hold.begin()
    assert returns(hold)  # within OVERDUE of begin: waits at most until then
    assert hold.held  # still begun, but a step no longer waits for it
    assert returns(hold)
