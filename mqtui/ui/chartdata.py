"""What the lag drill-in's charts draw, prepared off the UI thread: a group's points in buckets.

A day of polls every 2 s is 43,200 points, far more than a terminal has columns, and plotting them all
would take seconds on the UI thread. `prepare` (run on a thread) folds the points into at most
`BUCKETS` buckets, keeping the highest value of each (the worst lag of a stretch is what an operator
looks for), and breaks a curve where the broker was down or mqtui was not running: a line drawn across
would claim it was watched. Kept apart from the widgets so the console imports the plotting library
only when a drill-in first opens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from mqtui.services.store import Outage, Point

RANGES: tuple[tuple[str, float], ...] = (("15m", 900.0), ("1h", 3600.0), ("6h", 21_600.0), ("24h", 86_400.0))
"""What the range key steps through: (label, seconds back from now)."""
DEFAULT_RANGE = 1
BUCKETS = 240
"""At most this many values per curve: a little more than a wide terminal's plot columns."""
TICKS = 5

Segment = tuple[tuple[float, ...], tuple[float, ...]]
"""(x: epoch seconds, y) of one unbroken stretch of a curve."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The alert lines to draw: the `lag_over` and `time_lag_over` of each rule matching the group."""

    lag: tuple[int, ...] = ()
    time_lag: tuple[float, ...] = ()
    """Seconds."""


@dataclass(frozen=True, slots=True)
class ChartData:
    """What the charts draw for one range, prepared off the UI thread."""

    start: float
    end: float
    lag: tuple[Segment, ...] = ()
    time_lag: tuple[Segment, ...] = ()
    rate_in: tuple[Segment, ...] = ()
    rate_out: tuple[Segment, ...] = ()
    recorded: int = 0
    """Samples with numbers in the range (0: nothing to draw yet)."""
    gaps: int = 0
    """Samples in the range with no numbers (broker down, or a restart)."""
    outages: tuple[Outage, ...] = ()
    """When the group's broker was down in the range (`HistoryStore.outages`)."""


def segments(
    points: Sequence[Point], value: Callable[[Point], float | None], start: float, end: float
) -> tuple[Segment, ...]:
    """One metric's curve in buckets: the highest value of each bucket, at the time of its last value.

    A gap point (broker down, mqtui not running) always ends the stretch, even inside a bucket (a
    restart lands a second before the next poll); a bucket whose polls have no value of this metric
    ends it too; an empty bucket does not (a slow poll interval leaves most buckets of a short range
    empty)."""
    width = max(end - start, 1.0) / BUCKETS
    result: list[Segment] = []
    xs: list[float] = []
    ys: list[float] = []
    bucket: int | None = None
    best: float | None = None
    at = 0.0

    def cut() -> None:
        nonlocal xs, ys
        if xs:
            result.append((tuple(xs), tuple(ys)))
        xs, ys = [], []

    for point in points:
        when = point.at.timestamp()
        index = int((when - start) // width)
        if point.gap or index != bucket:
            if best is not None:
                xs.append(at)
                ys.append(best)
            elif bucket is not None:
                cut()  # the bucket's polls had no value of this metric
            if point.gap:
                cut()
            bucket, best = (None if point.gap else index), None
            if point.gap:
                continue
        number = value(point)
        if number is not None:
            best = number if best is None else max(best, number)
            at = when
    if best is not None:
        xs.append(at)
        ys.append(best)
    cut()
    return tuple(result)


def prepare(points: Sequence[Point], start: datetime, end: datetime, outages: Sequence[Outage] = ()) -> ChartData:
    """The four curves of `points` between `start` and `end` (blocking: run it on a thread)."""
    low, high = start.timestamp(), end.timestamp()
    inside = [p for p in points if low <= p.at.timestamp() <= high]
    return ChartData(
        start=low,
        end=high,
        lag=segments(inside, lambda p: None if p.lag is None else float(p.lag), low, high),
        time_lag=segments(inside, lambda p: p.time_lag, low, high),
        rate_in=segments(inside, lambda p: p.rate_in, low, high),
        rate_out=segments(inside, lambda p: p.rate_out, low, high),
        recorded=sum(1 for p in inside if not p.gap),
        gaps=sum(1 for p in inside if p.gap),
        outages=tuple(outages),
    )


def value_ticks(
    curves: Sequence[tuple[Segment, ...]], lines: Sequence[float], text: Callable[[float], str], rows: int = 4
) -> tuple[float, list[float], list[str]]:
    """(top of the axis, ticks, labels) from 0 to a little over the highest value or threshold, the
    labels in the metric's own words ("9,811", "1m 30s") rather than plotext's "9811.0"."""
    highest = max([*lines, *(y for parts in curves for _xs, ys in parts for y in ys)], default=0.0)
    top = highest * 1.05 if highest > 0 else 1.0
    ticks = [top * i / rows for i in range(rows + 1)]
    return top, ticks, [text(tick) for tick in ticks]


def clock_ticks(start: float, end: float, count_: int = TICKS) -> tuple[list[float], list[str]]:
    """Evenly spaced ticks labelled with the UTC wall-clock time (as the rest of the console's times)."""
    step = (end - start) / (count_ - 1)
    ticks = [start + step * i for i in range(count_)]
    return ticks, [datetime.fromtimestamp(t, UTC).strftime("%H:%M") for t in ticks]
