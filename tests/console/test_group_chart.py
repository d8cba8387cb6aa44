"""The lag drill-in's charts: recorded history with an outage and a restart, thresholds, the range key.

Fixed data and a fixed clock (tests/console/fixtures.py): the history is written to a store in the
test's directory by two runs, the first with the broker down for five minutes, the second starting
after mqtui was stopped for five minutes; both show as gaps, never as a line drawn across.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import msgspec
from textual.pilot import Pilot
from textual.widgets import Label

from mqtui.config.alerts import AlertRule
from mqtui.model import BacklogRow, Destination, DestinationKind
from mqtui.services.snapshot import BrokerSnapshot, BrokerStatus, GroupLag, group_backlog
from mqtui.services.store import HistoryStore
from mqtui.ui.app import MqtuiApp
from mqtui.ui.chartdata import prepare
from mqtui.ui.screens.groupchart import GroupScreen, thresholds_for
from tests.console.fixtures import NOW, static_backend
from tests.console.pilot import console_screen
from tests.console.test_snapshots import SIZE, settle

STEP = timedelta(seconds=30)


def billing(lag: int, at_minutes: float, status: BrokerStatus = BrokerStatus.CONNECTED) -> BrokerSnapshot:
    at = NOW + timedelta(minutes=at_minutes)
    row = BacklogRow("orders-kafka", "orders", "billing", 0, committed=1000, end=1000 + lag, lag=lag, consumers=2,
                     oldest_waiting_at=at - timedelta(seconds=lag / 20))  # fmt: skip
    destination = Destination("orders-kafka", "orders", DestinationKind.TOPIC, rate_in=60.0, rate_out=40.0 + lag / 500)
    return BrokerSnapshot("orders-kafka", "kafka", status=status, destinations=(destination,),
                          lag=tuple(group_backlog([row])), polled_at=at)  # fmt: skip


def record_history(path: Path) -> None:
    """Run 1 from 70 to 35 minutes ago (down from 50 to 45 ago); run 2 from 30 minutes ago to now."""
    first = HistoryStore(path, clock=lambda: (NOW - timedelta(minutes=70)).timestamp())
    for step in range(71):  # every 30 s, 70 -> 35 minutes ago
        minutes = -70 + step / 2
        status = BrokerStatus.UNREACHABLE if -50 <= minutes < -45 else BrokerStatus.CONNECTED
        first.record(billing(1000 + 50 * step, minutes, status), NOW + timedelta(minutes=minutes))
    first.close()
    second = HistoryStore(path, clock=lambda: (NOW - timedelta(minutes=30)).timestamp())
    for step in range(61):  # 30 minutes ago -> now
        second.record(billing(4500 - 40 * step, -30 + step / 2), NOW + timedelta(minutes=-30 + step / 2))
    second.close()


def charted_app(tmp_path: Path) -> MqtuiApp:
    backend = static_backend()
    rules = [AlertRule(lag_over=4000), AlertRule(time_lag_over="3m"), AlertRule(lag_over=10, group="other")]
    backend.profile = msgspec.structs.replace(backend.profile, alerts=rules)
    record_history(tmp_path / "prod.sqlite3")
    # This console's own run starts a second after the fixed clock's now: its gap is outside the range.
    backend.store = HistoryStore(tmp_path / "prod.sqlite3", clock=lambda: NOW.timestamp() + 1)
    app = MqtuiApp(backend)
    app.animation_level = "none"
    return app


def billing_group(app: MqtuiApp) -> GroupLag:
    snapshot = console_screen(app).snapshots["orders-kafka"]
    return next(g for g in snapshot.lag if g.group == "billing")


async def chart_state(pilot: Pilot, wanted: str) -> str:
    """The chart's state line once it starts with `wanted` and counts samples (read on a thread)."""
    for _ in range(200):
        screen = pilot.app.screen
        labels = screen.query("#chart-state").results(Label) if isinstance(screen, GroupScreen) else ()
        for label in labels:
            text = str(label.content)
            if text.startswith(wanted) and "samples" in text:
                await pilot.pause()
                return text
        await pilot.pause(0.02)
    raise AssertionError(f"the chart never showed {wanted!r}")


async def open_chart(pilot: Pilot) -> str:
    """Open billing's drill-in and wait until its chart says what it shows."""
    await settle(pilot)
    app = pilot.app
    assert isinstance(app, MqtuiApp)
    console_screen(app).show_group(billing_group(app))
    return await chart_state(pilot, "last 1h")


async def test_the_drill_in_charts_the_recorded_hour_with_its_gaps_and_thresholds(tmp_path: Path) -> None:
    app = charted_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        text = await open_chart(pilot)
        # The last hour: run 1's polls from 60 to 35 minutes ago (51, of which 10 down), run 2's 61.
        assert (
            text == "last 1h, UTC · 102 samples, 11 gaps (broker down, mqtui stopped) · red: alert · t: 15m/1h/6h/24h"
        )
        screen = app.screen
        assert isinstance(screen, GroupScreen)
        assert screen.thresholds.lag == (4000,) and screen.thresholds.time_lag == (180.0,)
        assert str(screen.query_one("#chart-outages", Label).content) == "broker down 11:10-11:15"
        titles = [str(label.content) for label in screen.query(".section-title").results(Label)]
        assert "Partitions of orders at the last poll" in titles  # the drill-in's tables, below the charts
        await pilot.press("t")
        text = await chart_state(pilot, "last 6h")
        assert text.startswith("last 6h, UTC · 122 samples, 11 gaps")


def test_the_curves_break_at_the_outage_and_at_the_restart(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    record_history(path)
    store = HistoryStore(path)
    points = store.series("orders-kafka", "orders", "billing", NOW - timedelta(hours=2))
    data = prepare(points, NOW - timedelta(hours=2), NOW)
    lag = [(len(xs), ys[0], ys[-1]) for xs, ys in data.lag]
    assert lag == [(40, 1000.0, 2950.0), (21, 3500.0, 4500.0), (61, 4500.0, 2100.0)]
    assert [len(xs) for xs, _ in data.rate_in] == [40, 21, 61]
    assert data.time_lag[0][1][0] == 50.0  # 1,000 waiting at 20/s: the oldest is 50 s old
    store.close()


def test_thresholds_come_from_the_rules_that_match_the_row() -> None:
    rules = [
        AlertRule(lag_over=4000),
        AlertRule(lag_over=10, group="other"),
        AlertRule(time_lag_over="3m", destination="ord*"),
        AlertRule(idle_for="5m"),
    ]
    group = billing(100, 0).lag[0]
    assert thresholds_for(rules, group) == thresholds_for(rules[::-1], group)
    assert (thresholds_for(rules, group).lag, thresholds_for(rules, group).time_lag) == ((4000,), (180.0,))


def test_drill_in_with_charts(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async def run(pilot: Pilot) -> None:
        await open_chart(pilot)

    assert snap_compare(charted_app(tmp_path), terminal_size=SIZE, run_before=run)
