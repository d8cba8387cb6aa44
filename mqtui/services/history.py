"""Recent lag per consumer and flow per destination, and what they say.

A single lag number cannot tell an operator whether to worry: 50,000 behind and shrinking fast is
fine, 200 behind with no progress for a minute is not. `LagHistory` keeps a bounded window of samples
per (broker, destination, group) and derives the rate of change, the consume rate (from committed
positions where the broker reports them) and the time to drain at the rate the lag is falling; a lag
that holds steady while consumers read is "keeping up", with no time to drain.

Most brokers report no message rates at all (only RabbitMQ does). `RateHistory` derives In/s from a
destination's appended counter between polls, Out/s from its consumers' progress, and, where a broker
keeps neither (a Redis list), lower bounds from how its depth moved.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from mqtui.model import Destination
from mqtui.services.snapshot import GroupKey, GroupLag, LagState, LagTrend
from mqtui.services.store import Point


@dataclass(frozen=True, slots=True)
class Sample:
    at: float
    """Monotonic seconds."""
    lag: int | None
    committed: int | None
    end: int | None
    consumers: int | None = None
    rate_out: float | None = None
    appended: int | None = None


GROWTH_NOISE = 0.05
"""A lag rising by less than this share of the consume rate is a consumer keeping up between commits."""


class LagHistory:
    """Bounded samples per group; `observe` records one poll of one broker and returns trended rows."""

    def __init__(self, *, stall_polls: int = 5, size: int = 60, window: int = 10) -> None:
        self.stall_polls = max(1, stall_polls)
        self.size = max(size, self.stall_polls + 1)
        self.window = max(2, window)
        self._samples: dict[GroupKey, deque[Sample]] = {}

    def observe(self, broker: str, groups: Iterable[GroupLag], at: float) -> list[GroupLag]:
        """Record this poll's groups of `broker`; forget its groups that are gone (memory stays bounded)."""
        seen: set[GroupKey] = set()
        result = []
        for group in groups:
            key = group.key
            seen.add(key)
            samples = self._samples.get(key)
            if samples is None:
                samples = self._samples[key] = deque(maxlen=self.size)
            samples.append(
                Sample(at, group.lag, group.committed, group.end, group.consumers, group.rate_out, group.appended)
            )
            result.append(replace(group, trend=self.trend(samples)))
        for key in [k for k in self._samples if k[0] == broker and k not in seen]:
            del self._samples[key]
        return result

    def gap(self, broker: str, groups: Iterable[GroupLag], at: float) -> list[GroupLag]:
        """A poll of `broker` that failed: each of its groups gets a sample with no numbers, so its
        sparkline shows a blank there instead of carrying the last lag on, and its trend is unknown."""
        result = []
        for group in groups:
            samples = self._samples.get(group.key)
            if samples is None:
                samples = self._samples[group.key] = deque(maxlen=self.size)
            samples.append(Sample(at, None, None, None))
            result.append(replace(group, trend=self.trend(samples)))
        return result

    def restore(self, recent: Mapping[GroupKey, Sequence[Point]], wall_now: datetime, now: float) -> None:
        """Start from the points a store kept (`HistoryStore.recent`), before the first poll.

        Their wall-clock times become this history's clock (`now` is `wall_now` on it), and a gap
        follows them: nothing was watched between the last of them and this start. Out rates the
        broker reported are not kept, so right after a restart only committed positions, appended
        counters and a falling lag say what was consumed."""
        for key, points in recent.items():
            samples = self._samples[key] = deque(maxlen=self.size)
            for point in points[-(self.size - 1) :]:
                at = now - (wall_now - point.at).total_seconds()
                samples.append(Sample(at, point.lag, point.committed, None, point.consumers, None, point.appended))
            samples.append(Sample(now, None, None, None))

    def forget(self, broker: str) -> None:
        for key in [k for k in self._samples if k[0] == broker]:
            del self._samples[key]

    def __len__(self) -> int:
        return len(self._samples)

    def trend(self, samples: deque[Sample]) -> LagTrend:
        history = tuple(s.lag for s in samples)
        last = samples[-1]
        if last.lag is None:
            return LagTrend(history=history, state=LagState.UNKNOWN)
        recent = list(samples)[-self.window :]
        rate = consume_rate = None
        if len(recent) >= 2:
            span = recent[-1].at - recent[0].at
            if span > 0:
                rate = _slope([(s.at, s.lag) for s in recent if s.lag is not None])
                consumed = [_consumed(a, b) for a, b in itertools.pairwise(recent)]
                if all(c is not None for c in consumed):
                    consume_rate = sum(c for c in consumed if c is not None) / span
        # The lag drains at its own falling rate (consumed minus produced), not at the consume rate: a
        # consumer reading 200/s behind a producer writing 196/s takes 50 times longer than lag / 200.
        # Within the noise of periodic commits either way, it is keeping up: no time to drain.
        eta = None
        if rate is not None and last.lag > 0 and rate < min(0.0, -GROWTH_NOISE * (consume_rate or 0.0)):
            eta = last.lag / -rate
        if last.lag == 0:
            state = LagState.OK
            eta = 0.0
        elif self._stalled(samples) or _unconsumed(samples):
            state = LagState.STALLED
            eta = None
        elif rate is not None and rate > GROWTH_NOISE * (consume_rate or 0.0) and rate > 0:
            state = LagState.GROWING
            eta = None
        else:
            state = LagState.DRAINING
        return LagTrend(history=history, rate=rate, consume_rate=consume_rate, eta=eta, state=state)

    def _stalled(self, samples: deque[Sample]) -> bool:
        """No progress over the last `stall_polls` polls (so at least that many + 1 samples).

        Each interval must show no consumption where it can be measured, or, where it cannot, no
        consumer at all; any measured progress, or an unmeasurable interval with consumers, is not a stall.
        """
        if len(samples) <= self.stall_polls:
            return False
        recent = list(samples)[-(self.stall_polls + 1) :]
        if any(s.lag is None or s.lag <= 0 for s in recent):
            return False
        for before, after in itertools.pairwise(recent):
            consumed = _consumed(before, after)
            if consumed is None:
                if not (before.consumers == 0 and after.consumers == 0):
                    return False
            elif consumed > 0:
                return False
        return True


def _unconsumed(samples: deque[Sample]) -> bool:
    """A queue or list nobody reads: no consumer attached and nothing consumed since the last poll.

    Stalled from the first poll rather than after `stall_polls`: with no consumer the backlog cannot
    drain, and "draining" would rank it below every group that is merely slow. Only where the broker
    keeps no committed position (queues, lists, stream groups): a log's group shows progress by its
    commits, and tansu lists no members for a group that commits, so there the stall rule decides.
    """
    last = samples[-1]
    if last.consumers != 0 or last.committed is not None or not last.lag or last.rate_out:
        return False
    if len(samples) < 2:
        return True
    consumed = _consumed(samples[-2], last)
    return not consumed


def _slope(points: list[tuple[float, int]]) -> float | None:
    """Least-squares lag change per second: steadier than first-to-last when commits come in bursts."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return None
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / spread


def _consumed(before: Sample, after: Sample) -> float | None:
    """Messages consumed between two samples, or None where the broker's numbers cannot say.

    From committed positions when both samples have them; else from the destination's appended counter
    and the lag (what was appended and did not add to the lag was consumed: Redis stream groups); else
    from a positive out rate the broker reports for the destination (RabbitMQ); else only a falling lag
    proves consumption (a steady lag may be a consumer keeping pace or one doing nothing). A position or
    counter that went backwards (an offset reset, a recreated stream) says nothing about consumption.
    `end` is not used: for a queue it is a depth, not a position.
    """
    if before.committed is not None and after.committed is not None:
        delta = after.committed - before.committed
        return delta if delta >= 0 else None
    if before.appended is not None and after.appended is not None and before.lag is not None and after.lag is not None:
        appended = after.appended - before.appended
        delta = appended - (after.lag - before.lag)
        return delta if appended >= 0 and delta >= 0 else None
    if after.rate_out:  # a reported 0.0 proves little: management rates drop to 0 between samples
        return after.rate_out * (after.at - before.at)
    if before.lag is None or after.lag is None:
        return None
    fallen = before.lag - after.lag
    return fallen if fallen > 0 else None


RATE_WINDOW = 5
"""Polls a derived rate is averaged over (first to last): steady enough to read, recent enough to act on."""


@dataclass(frozen=True, slots=True)
class FlowSample:
    at: float
    appended: int | None
    depth: int | None


class RateHistory:
    """Bounded samples per destination; `observe` fills in the rates a broker did not report."""

    def __init__(self, *, window: int = RATE_WINDOW) -> None:
        self.window = max(2, window)
        self._samples: dict[tuple[str, str, str], deque[FlowSample]] = {}

    def __len__(self) -> int:
        return len(self._samples)

    def observe(
        self, broker: str, destinations: Iterable[Destination], groups: Iterable[GroupLag], at: float
    ) -> tuple[list[Destination], frozenset[tuple[str, str]]]:
        """This poll's destinations of `broker` with In/s and Out/s derived where they were None.

        Returns the destinations and which derived rates are lower bounds, as (name, "in" or "out").
        In/s comes from the appended counter (preferred to a rate an adapter worked out between two
        polls of the same counter: the window is longer); Out/s is the sum of the consume rates of the groups
        reading the destination (every group reads every message of a log, as the broker's own
        "messages out" counts them). Without a counter, a depth that rose proves at least that
        much arrived, one that fell at least that much left.
        """
        consumed: dict[str, float] = {}
        for group in groups:
            if group.broker == broker and group.trend.consume_rate is not None:
                consumed[group.destination] = consumed.get(group.destination, 0.0) + group.trend.consume_rate
        seen: set[tuple[str, str, str]] = set()
        result: list[Destination] = []
        floors: set[tuple[str, str]] = set()
        for destination in destinations:
            key = (broker, destination.kind.value, destination.name)
            seen.add(key)
            samples = self._samples.get(key)
            if samples is None:
                samples = self._samples[key] = deque(maxlen=self.window)
            previous = samples[-1].appended if samples else None
            if previous is not None and destination.appended is not None and destination.appended < previous:
                samples.clear()  # the counter started again (recreated, or a broker without persistence)
            samples.append(FlowSample(at, destination.appended, destination.depth))
            if destination.rate_in is not None and destination.rate_out is not None:
                result.append(destination)
                continue
            derived_in, derived_out, floor = _flow(samples, consumed.get(destination.name))
            rate_in, rate_out = destination.rate_in, destination.rate_out
            if destination.appended is not None and derived_in is not None:
                rate_in = derived_in  # the same count over a longer window: steadier than an adapter's per-poll rate
            elif rate_in is None and derived_in is not None:
                rate_in = derived_in
                if floor:
                    floors.add((destination.name, "in"))
            if rate_out is None and derived_out is not None:
                rate_out = derived_out
                if floor:
                    floors.add((destination.name, "out"))
            result.append(replace(destination, rate_in=rate_in, rate_out=rate_out))
        for key in [k for k in self._samples if k[0] == broker and k not in seen]:
            del self._samples[key]
        return result, frozenset(floors)


def _flow(samples: deque[FlowSample], consumed: float | None) -> tuple[float | None, float | None, bool]:
    """(in, out, whether both are lower bounds) over the samples' window."""
    first, last = samples[0], samples[-1]
    span = last.at - first.at
    if span <= 0:
        return None, consumed, False
    if first.appended is not None and last.appended is not None:
        return (last.appended - first.appended) / span, consumed, False
    if first.depth is None or last.depth is None:
        return None, None, False
    net = (last.depth - first.depth) / span
    return (net if net > 0 else None), (-net if net < 0 else None), True
