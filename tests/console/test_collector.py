"""Full garbage collections wait for a quiet moment (no key, no poll being drawn), but not for ever; the
middle generation's wait for one too, or for a key's answer painted."""

from __future__ import annotations

from mqtui.ui.collector import IdleCollector


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_full_collection_waits_for_a_second_without_keys_and_comes_at_the_latest_anyway() -> None:
    clock, collections, promoted = Clock(), [], [IdleCollector.PROMOTED]
    collector = IdleCollector(
        clock=clock, collect=lambda: collections.append(clock.now), promoted=lambda: promoted[0], young=lambda: 0
    )
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
        clock=clock, pause=lambda: switches.append("pause"), resume=lambda: switches.append("resume"),
        promoted=lambda: 0, young=lambda: 0,
    )  # fmt: skip
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


def test_the_middle_generation_is_collected_after_a_key_is_answered_or_when_quiet_not_mid_key() -> None:
    clock, young, middles = Clock(), [0], []

    def collect_middle() -> None:
        middles.append(clock.now)
        young[0] = 0

    collector = IdleCollector(clock=clock, promoted=lambda: 0, young=lambda: young[0], collect_middle=collect_middle)
    young[0] = IdleCollector.MIDDLE
    collector.pause()
    clock.now += 0.5
    collector.tick()
    assert not middles  # a key is being answered
    collector.resume()
    collector.pause()  # the next key, before the answer to the first was seen painted
    collector.answered()
    assert not middles
    collector.resume()
    collector.answered()
    assert middles == [0.5]  # the answer on screen
    young[0] = IdleCollector.MIDDLE
    clock.now += IdleCollector.QUIET / 2
    collector.input_seen()
    collector.tick()
    assert middles == [0.5]  # keys being pressed: left for their answers
    young[0] = IdleCollector.MIDDLE_LATEST
    collector.tick()
    assert len(middles) == 2  # but not for ever
    young[0] = IdleCollector.MIDDLE
    clock.now += IdleCollector.QUIET
    collector.tick()
    assert len(middles) == 3  # a quiet second
