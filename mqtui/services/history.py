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
            samples.append(Sample(at, group.lag, group.committed, group.end, group.consumers))
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
                first_lag = next((s.lag for s in recent if s.lag is not None), None)
                if first_lag is not None:
                    rate = (last.lag - first_lag) / span
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
        elif rate is not None and rate > 0:
            state = LagState.GROWING
            eta = None
        else:
            state = LagState.DRAINING
        return LagTrend(history=history, rate=rate, consume_rate=consume_rate, eta=eta, state=state)

    def _stalled(self, samples: deque[Sample]) -> bool:
        """No progress over the last `stall_polls` polls (so at least that many + 1 samples)."""
        if len(samples) <= self.stall_polls:
            return False
        recent = list(samples)[-(self.stall_polls + 1) :]
        if any(s.lag is None or s.lag <= 0 for s in recent):
            return False
        if all(s.consumers == 0 for s in recent):
            return True
        for before, after in itertools.pairwise(recent):
            consumed = _consumed(before, after)
            if consumed is None or consumed > 0:
                return False
        return True


def _consumed(before: Sample, after: Sample) -> int | None:
    """Messages consumed between two samples, or None where the broker's numbers cannot say.

    From committed positions when both samples have them; else from the end position and the lag
    (produced - growth of lag); else only a falling lag proves consumption (a steady lag may be a
    consumer keeping pace or one doing nothing). A committed position that went backwards (an offset
    reset) says nothing about consumption.
    """
    if before.committed is not None and after.committed is not None:
        delta = after.committed - before.committed
        return delta if delta >= 0 else None
    if before.lag is None or after.lag is None:
        return None
    if before.end is not None and after.end is not None:
        produced = after.end - before.end
        if produced < 0:
            return None
        return max(produced - (after.lag - before.lag), 0)
    fallen = before.lag - after.lag
    return fallen if fallen > 0 else None
