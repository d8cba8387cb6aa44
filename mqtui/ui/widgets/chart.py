"""Charts of one group's recorded history: lag, time lag and in/out rates against wall-clock time.

A day of polls every 2 s is 43,200 points, far more than a terminal has columns, and plotting them all
would take seconds on the UI thread. `prepare` (run on a thread) folds the points into at most
`BUCKETS` buckets, keeping the highest value of each (the worst lag of a stretch is what an operator
looks for), and breaks a curve where a bucket holds only gaps: the broker was down or mqtui was not
running, and a line drawn across would claim it was watched. The widgets then draw the few hundred
values left. Thresholds (the alert rules that match the group) are horizontal lines, so "when did it
cross the line" is read off the chart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label
from textual_plotext import PlotextPlot

from mqtui.figures import count, elapsed
from mqtui.services.store import Point

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


def prepare(points: Sequence[Point], start: datetime, end: datetime) -> ChartData:
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
    )


def clock_ticks(start: float, end: float, count_: int = TICKS) -> tuple[list[float], list[str]]:
    """Evenly spaced ticks labelled with the UTC wall-clock time (as the rest of the console's times)."""
    step = (end - start) / (count_ - 1)
    ticks = [start + step * i for i in range(count_)]
    return ticks, [datetime.fromtimestamp(t, UTC).strftime("%H:%M") for t in ticks]


class MetricPlot(PlotextPlot):
    """One metric (or two sharing a unit) against time, with its threshold lines."""

    DEFAULT_CSS = """
    MetricPlot { height: 9; width: 1fr; }
    """

    def draw(
        self,
        title: str,
        data: ChartData,
        curves: Sequence[tuple[str, tuple[Segment, ...], str]],
        lines: Sequence[float] = (),
    ) -> None:
        """`curves`: (label, segments, colour); `lines`: values drawn across in red."""
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(title)
        for label, parts, colour in curves:
            for index, (xs, ys) in enumerate(parts):
                # One label per curve, on its first stretch: the legend lists each curve once.
                plt.plot(list(xs), list(ys), marker="hd", color=colour, label=label if index == 0 else None)
        for value in lines:
            plt.hline(value, "red")
        plt.xlim(data.start, data.end)
        plt.ylim(lower=0)
        ticks, labels = clock_ticks(data.start, data.end)
        plt.xticks(ticks, labels)
        self.refresh()


class HistoryCharts(Vertical):
    """Lag, time lag and in/out rates of one group over the chosen range, and a line saying what is shown."""

    DEFAULT_CSS = """
    HistoryCharts { height: auto; }
    HistoryCharts #chart-state { color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        yield Label("reading history…", id="chart-state")
        yield MetricPlot(id="chart-lag")
        yield MetricPlot(id="chart-time-lag")
        yield MetricPlot(id="chart-rates")

    def show(self, data: ChartData, range_label: str, thresholds: Thresholds, key: str) -> None:
        state = f"last {range_label}, UTC · {data.recorded:,} samples"
        if data.gaps:
            state += f", {data.gaps:,} gaps (broker down, mqtui stopped)"
        if not data.recorded:
            state += " · nothing recorded in this range yet"
        if thresholds.lag or thresholds.time_lag:
            state += " · red: alert"
        state += f" · {key}: {'/'.join(label for label, _ in RANGES)}"
        self.query_one("#chart-state", Label).update(Text(state))
        self.query_one("#chart-lag", MetricPlot).draw(
            "Lag (messages)" + _lines_note([count(v) for v in thresholds.lag]),
            data,
            [("lag", data.lag, "cyan")],
            thresholds.lag,
        )
        self.query_one("#chart-time-lag", MetricPlot).draw(
            "Time lag (seconds)" + _lines_note([elapsed(v) for v in thresholds.time_lag]),
            data,
            [("time lag", data.time_lag, "magenta")],
            thresholds.time_lag,
        )
        self.query_one("#chart-rates", MetricPlot).draw(
            "In/out (messages/s)", data, [("in", data.rate_in, "green"), ("out", data.rate_out, "blue")]
        )

    def failed(self, line: str) -> None:
        self.query_one("#chart-state", Label).update(Text(line))


def _lines_note(values: Sequence[str]) -> str:
    return (" · alert at " + ", ".join(values)) if values else ""
