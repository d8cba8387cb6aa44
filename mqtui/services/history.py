"""Recent lag per consumer, and what it says: draining, growing, or stalled.

A single lag number cannot tell an operator whether to worry: 50,000 behind and shrinking fast is
fine, 200 behind with no progress for a minute is not. The history keeps a bounded window of samples
per (broker, destination, group) and derives the rate of change, the consume rate (from committed
positions where the broker reports them) and the time to drain.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace

from mqtui.services.snapshot import GroupKey, GroupLag, LagState, LagTrend


@dataclass(frozen=True, slots=True)
class Sample:
    at: float
    """Monotonic seconds."""
    lag: int | None
    committed: int | None
    end: int | None
    consumers: int | None = None
    rate_out: float | None = None


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
            samples.append(Sample(at, group.lag, group.committed, group.end, group.consumers, group.rate_out))
            result.append(replace(group, trend=self.trend(samples)))
        for key in [k for k in self._samples if k[0] == broker and k not in seen]:
            del self._samples[key]
        return result

    def forget(self, broker: str) -> None:
        for key in [k for k in self._samples if k[0] == broker]:
            del self._samples[key]

    def __len__(self) -> int:
        return len(self._samples)

    def trend(self, samples: deque[Sample]) -> LagTrend:
        history = tuple(s.lag for s in samples if s.lag is not None)
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
        eta = last.lag / consume_rate if consume_rate and last.lag > 0 else None
        if last.lag == 0:
            state = LagState.OK
            eta = 0.0
        elif self._stalled(samples):
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

    From committed positions when both samples have them; else from a positive out rate the broker
    reports for the destination (RabbitMQ); else only a falling lag proves consumption (a steady lag may be a
    consumer keeping pace or one doing nothing). A committed position that went backwards (an offset
    reset) says nothing about consumption. `end` is not used: for a queue it is a depth, not a position.
    """
    if before.committed is not None and after.committed is not None:
        delta = after.committed - before.committed
        return delta if delta >= 0 else None
    if after.rate_out:  # a reported 0.0 proves little: management rates drop to 0 between samples
        return after.rate_out * (after.at - before.at)
    if before.lag is None or after.lag is None:
        return None
    fallen = before.lag - after.lag
    return fallen if fallen > 0 else None
