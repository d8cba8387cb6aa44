"""The lag drill-in's charts: lag, time lag and in/out rates of one group against wall-clock time.

Each metric is a textual-plotext plot of the buckets `chartdata.prepare` made off the UI thread, with
the thresholds of the alert rules that match the group as horizontal lines, so "when did it cross the
line" is read off the chart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label
from textual_plotext import PlotextPlot

from mqtui.figures import count, elapsed
from mqtui.services.store import Outage
from mqtui.ui.chartdata import RANGES, ChartData, Segment, Thresholds, clock_ticks, value_ticks


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
        text: Callable[[float], str],
        lines: Sequence[float] = (),
    ) -> None:
        """`curves`: (label, segments, colour); `text` labels the values; `lines` are drawn across in red."""
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
        top, ticks, labels = value_ticks([parts for _label, parts, _colour in curves], lines, text)
        plt.ylim(0, top)
        plt.yticks(ticks, labels)
        ticks, labels = clock_ticks(data.start, data.end)
        plt.xticks(ticks, labels)
        self.refresh()


class HistoryCharts(Vertical):
    """Lag, time lag and in/out rates of one group over the chosen range, and a line saying what is shown."""

    DEFAULT_CSS = """
    HistoryCharts { height: auto; }
    HistoryCharts #chart-state { color: $text-muted; }
    HistoryCharts #chart-outages { color: $text-muted; display: none; }
    """

    def compose(self) -> ComposeResult:
        yield Label("reading history…", id="chart-state")
        yield Label(id="chart-outages")
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
        outages = self.query_one("#chart-outages", Label)
        outages.display = bool(data.outages)
        outages.update(Text(outages_text(data.outages)))
        self.query_one("#chart-lag", MetricPlot).draw(
            "Lag (messages)" + _lines_note([count(v) for v in thresholds.lag]),
            data,
            [("lag", data.lag, "cyan")],
            lambda v: count(round(v)),
            thresholds.lag,
        )
        self.query_one("#chart-time-lag", MetricPlot).draw(
            "Time lag" + _lines_note([elapsed(v) for v in thresholds.time_lag]),
            data,
            [("time lag", data.time_lag, "magenta")],
            elapsed,
            thresholds.time_lag,
        )
        self.query_one("#chart-rates", MetricPlot).draw(
            "In/out (messages/s)", data, [("in", data.rate_in, "green"), ("out", data.rate_out, "blue")], rate_text
        )

    def failed(self, line: str) -> None:
        self.query_one("#chart-state", Label).update(Text(line))


def rate_text(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == 0 else f"{value:.1f}"


def outages_text(outages: Sequence[Outage], shown: int = 4) -> str:
    """ "broker down 11:10-11:15, 11:40-now": the latest `shown` outages of the range, UTC."""
    spans = [f"{down:%H:%M}-{'now' if up is None else f'{up:%H:%M}'}" for down, up in outages[-shown:]]
    more = f" (+{len(outages) - shown} earlier)" if len(outages) > shown else ""
    return f"broker down {', '.join(spans)}{more}" if spans else ""


def _lines_note(values: Sequence[str]) -> str:
    return (" · alert at " + ", ".join(values)) if values else ""
