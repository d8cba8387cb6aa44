"""The two bits of Redis logic that need no server: idle-time correction and new-element detection."""

from __future__ import annotations

from datetime import UTC, datetime

from mqtui.brokers.redis.discovery import IdleTracker
from mqtui.brokers.redis.tail import new_elements


def test_idle_tracker_does_not_count_our_own_reads_as_activity() -> None:
    tracker = IdleTracker()
    at = lambda seconds: datetime.fromtimestamp(seconds, tz=UTC)  # noqa: E731
    assert tracker.update(b"k", 10, read_at=100.0) == at(90.0)
    # Redis < 7.2: our read at t=100 reset the idle time, so 2 s later it says 2 s: still nobody else.
    assert tracker.update(b"k", 2, read_at=102.0) == at(90.0)
    # Someone pushed at t=107, after our read at t=102.
    assert tracker.update(b"k", 3, read_at=110.0) == at(107.0)
    # The key is gone: forgotten, and a new key of that name starts afresh.
    assert tracker.update(b"k", None, read_at=111.0) is None
    assert tracker.update(b"k", 0, read_at=112.0) == at(112.0)


def test_new_elements_in_front_of_what_was_seen() -> None:
    seen = [b"c", b"b", b"a"]  # newest first
    assert new_elements([b"e", b"d", b"c", b"b", b"a"], seen) == [b"e", b"d"]
    assert new_elements([b"c", b"b", b"a"], seen) == []
    # The oldest seen ones were consumed meanwhile: a partial match at the end still anchors.
    assert new_elements([b"f", b"c"], seen) == [b"f"]
    # Everything seen was consumed: all of it is new.
    assert new_elements([b"x", b"y"], seen) == [b"x", b"y"]
    assert new_elements([b"x"], []) == [b"x"]
