"""Full garbage collections wait for a quiet moment (no key, no poll being drawn), but not for ever."""

from __future__ import annotations

from mqtui.ui.collector import IdleCollector


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_full_collection_waits_for_a_second_without_keys_and_comes_at_the_latest_anyway() -> None:
    clock, collections, promoted = Clock(), [], [IdleCollector.PROMOTED]
    collector = IdleCollector(clock=clock, collect=lambda: collections.append(clock.now), promoted=lambda: promoted[0])
    clock.now = IdleCollector.EVERY - 0.5
    assert not collector.tick()  # too soon since the last one
    while clock.now < IdleCollector.LATEST - 1:  # a key every half second: never quiet
        clock.now += 0.5
        collector.input_seen()
        assert not collector.tick()
    clock.now = IdleCollector.LATEST
    collector.input_seen()
    assert collector.tick() and collections == [IdleCollector.LATEST]  # at the latest, keys or not
    clock.now += IdleCollector.EVERY
    collector.input_seen()
    assert not collector.tick()  # a key just now
    clock.now += IdleCollector.QUIET
    collector.busy()
    assert not collector.tick()  # snapshots just arrived: their rows are being drawn
    clock.now += IdleCollector.DRAWN
    assert collector.tick() and len(collections) == 2  # a quiet second, and the poll drawn
    promoted[0] = IdleCollector.PROMOTED - 1
    clock.now += IdleCollector.EVERY
    assert not collector.tick()  # quiet, but little reached the old generation: not yet
    promoted[0] = 0
    clock.now += IdleCollector.LATEST
    assert not collector.tick()  # nothing reached the old generation since: nothing to collect
    promoted[0] = 1
    assert collector.tick() and len(collections) == 3  # something did, and it is long since the last


def test_no_collection_runs_while_a_key_is_answered_nor_for_long_if_the_answer_is_never_seen() -> None:
    clock, switches = Clock(), []
    collector = IdleCollector(
        clock=clock, pause=lambda: switches.append("pause"), resume=lambda: switches.append("resume")
    )
    collector.pause()
    clock.now += 0.1
    collector.pause()  # a second key before the first one's answer is painted
    collector.resume()
    collector.resume()
    assert switches == ["pause", "resume"]
    collector.pause()
    clock.now += IdleCollector.HELD_LONGEST / 2
    collector.tick()
    assert switches[-1] == "pause"
    collector.pause()  # keys go on: the pause is not made longer
    clock.now += IdleCollector.HELD_LONGEST / 2
    collector.tick()  # no answer seen (its screen closed): collection goes on
    assert switches[-1] == "resume" and collector.paused_at is None
