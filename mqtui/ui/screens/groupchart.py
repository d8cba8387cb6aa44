"""The lag drill-in: the group's recorded history as charts, above its partitions and its details.

A `DetailScreen` that mounts `HistoryCharts` first. It is given what it draws from (an async callable
reading the profile's history, and the alert thresholds of the rules matching the group) rather than
reaching for the backend; reading and preparing the points run off the UI thread, and a range switch
cancels a read still going.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.css.query import NoMatches

from mqtui.config.alerts import AlertRule
from mqtui.model import Detail, DetailSection
from mqtui.services.snapshot import GroupLag
from mqtui.services.store import Outage, Point
from mqtui.ui.cells import error_text
from mqtui.ui.chartdata import DEFAULT_RANGE, RANGES, Thresholds, prepare
from mqtui.ui.keys import Command, bindings
from mqtui.ui.screens.common import DetailScreen

if TYPE_CHECKING:
    from mqtui.ui.widgets.chart import HistoryCharts

REDRAW_EVERY = 10.0
"""Seconds between readings of the history while the drill-in is open (the default sample interval)."""
History = Callable[[datetime], Awaitable[list[Point]]]
"""The group's recorded points from a moment on (`ConsoleBackend.lag_series` bound to the group)."""
Outages = Callable[[datetime], Awaitable[list[Outage]]]
"""When the group's broker was down from a moment on (`ConsoleBackend.outages` bound to the broker)."""


def thresholds_for(rules: Iterable[AlertRule], group: GroupLag) -> Thresholds:
    """The `lag_over` and `time_lag_over` of every rule that watches this group's row."""
    matching = [rule for rule in rules if rule.matches(group.broker, group.destination, group.group)]
    return Thresholds(
        lag=tuple(sorted({rule.lag_over for rule in matching if rule.lag_over is not None})),
        time_lag=tuple(sorted({s for rule in matching if (s := rule.time_lag_over_s) is not None})),
    )


class GroupScreen(DetailScreen):
    """A group's charts (lag, time lag, in/out rates over 15m/1h/6h/24h), then the drill-in's tables."""

    KEYS_TITLE = "Group drill-in"
    KEY_COMMANDS: ClassVar[list[Command]] = [
        Command("chart.range", "t", "chart_range", "Range", "Chart the last 15m, 1h, 6h or 24h of the group"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = bindings(KEY_COMMANDS)

    def __init__(
        self,
        title: str | Text,
        load: Callable[[], Awaitable[Detail]] | None,
        *,
        history: History,
        outages: Outages,
        thresholds: Thresholds,
        clock: Callable[[], datetime],
        before: Sequence[DetailSection] = (),
        loaded_title: str = "",
    ) -> None:
        super().__init__(title, load, before=before, loaded_title=loaded_title)
        self.history = history
        self.outages = outages
        self.thresholds = thresholds
        self.clock = clock
        self.range_index = DEFAULT_RANGE

    async def on_mount(self) -> None:
        """After the first refresh: the dialog's box composes its children after this screen mounts
        (`DetailScreen.on_mount` runs too, as Textual calls the handler of each class)."""
        self.call_after_refresh(self._mount_charts)

    async def _mount_charts(self) -> None:
        """Charts first, above the tables the drill-in mounts as it learns them."""
        try:
            content = self.query_one("#content", VerticalScroll)
        except NoMatches:  # closed at once
            return
        from mqtui.ui.widgets.chart import HistoryCharts  # the plotting library: on first use, not at start

        await content.mount(HistoryCharts(), before=0)
        self._chart()
        self.set_interval(REDRAW_EVERY, self._chart)  # an open drill-in follows the samples being kept

    def action_chart_range(self) -> None:
        self.range_index = (self.range_index + 1) % len(RANGES)
        self._chart()

    def _chart(self) -> None:
        self.run_worker(self._read(RANGES[self.range_index]), group="chart", exclusive=True, exit_on_error=False)

    async def _read(self, chosen: tuple[str, float]) -> None:
        label, seconds = chosen
        end = self.clock()
        start = end - timedelta(seconds=seconds)
        try:
            points = await self.history(start)
            outages = await self.outages(start)
            data = await asyncio.to_thread(prepare, points, start, end, outages)
        except Exception as exc:
            line = error_text(exc)
            self._charts(lambda charts: charts.failed(line))
            return
        self._charts(lambda charts: charts.show(data, label, self.thresholds, self.key("chart.range")))

    def _charts(self, do: Callable[[HistoryCharts], None]) -> None:
        try:
            charts = cast("HistoryCharts", self.query_one("HistoryCharts"))
        except NoMatches:  # closed before the history came
            return
        do(charts)
