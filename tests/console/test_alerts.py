"""Alerts in the console, with the fixed data: rules judged as the backend delivers snapshots flag their
rows, count in the header, notify (with the terminal bell unless `alert_bell = false`), and `!` lists
them; enter on one goes to its row. The snapshot test pictures the alert list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot

from mqtui.config import Config, parse_config
from mqtui.services.backend import SnapshotListener
from mqtui.services.session import Session
from mqtui.ui.app import MqtuiApp
from mqtui.ui.screens.alerts import AlertsScreen
from tests.console.fixtures import FixedBackend, fake_adapters, static_backend
from tests.console.pilot import Console, console
from tests.console.test_snapshots import settle
from tests.helpers import write_config

#: On the fixed data: billing (4,100) and analytics (5,465) are over 4,000 on orders-kafka; ledger's oldest
#: message is 3d 4h old; events-nats is down. The Redis archiver (11,500) is not on an orders-* broker.
RULES = [
    {"lag_over": 4000, "broker": "orders-*"},
    {"time_lag_over": "1d", "name": "ledger is a day late"},
    {"broker_down": True},
]


class AlertingBackend(FixedBackend):
    """The fixed snapshots, judged on delivery as `LiveBackend` judges its pollers' snapshots."""

    def start(self, listener: SnapshotListener) -> None:
        self.started = True
        for snapshot in self.data.snapshots:
            self.judge(snapshot)
            listener(snapshot)


def alerting_app(**profile: Any) -> MqtuiApp:
    data = static_backend().data
    brokers = [
        {"name": "orders-kafka", "kind": "kafka", "url": "127.0.0.1:1"},
        {"name": "cache-redis", "kind": "redis", "url": "redis://127.0.0.1:1/0"},
        {"name": "events-nats", "kind": "nats", "url": "nats://127.0.0.1:1"},
    ]
    raw = {"profiles": {"prod": {"brokers": brokers, "alerts": RULES, "default_alerts": False, **profile}}}
    prof = parse_config(raw, Path("fixed.toml")).profiles["prod"]
    session = Session("prod", prof, Config(profiles={"prod": prof}), Path("fixed.toml"), adapters=fake_adapters(data))
    app = MqtuiApp(AlertingBackend(session, data))  # type: ignore[arg-type]
    app.animation_level = "none"
    return app


async def _open(app: MqtuiApp, pilot: Pilot[Any], notes: list[str]) -> Console:
    c = Console(app, pilot, notes)
    await settle(pilot)
    await c.wait(lambda: len(c.screen.alert_board.open) == 4, "four alerts open")
    await c.settle()
    return c


async def test_alerts_flag_rows_count_in_the_header_notify_and_ring() -> None:
    app = alerting_app()
    rings: list[bool] = []
    app.bell = lambda: rings.append(True)  # type: ignore[method-assign]
    notes: list[str] = []

    def hook(message: Message) -> None:
        if isinstance(message, Notify):
            notes.append(f"{message.notification.title}: {message.notification.message}")

    async with app.run_test(size=(140, 36), message_hook=hook) as pilot:
        c = await _open(app, pilot, notes)
        assert c.text("#alert-badge") == "! 4 alerts"
        assert len(notes) == 4 and all(n.startswith("alert: ") for n in notes)  # one per new alert
        assert "alert: lag over 4,000: orders-kafka / orders / analytics: 5,465" in notes
        assert "alert: broker down: events-nats: connection refused by 127.0.0.1:4222" in notes
        assert rings  # the bell rang for the new alerts
        await c.press("2")
        rows = await c.wait_rows("#lag-table", lambda r: len(r) == 6, "six groups")
        flagged = {row[1] for row in rows if row[0].startswith("! ")}
        assert flagged == {"billing", "analytics", "ledger"}  # not the archiver: another broker
        await c.press("1")
        dest = await c.wait_rows("#dest-table", lambda r: len(r) > 3, "destinations")
        assert {row[1] for row in dest if row[0].startswith("! ")} == {"orders", "payments"}


async def test_the_bell_stays_quiet_when_turned_off() -> None:
    app = alerting_app(alert_bell=False)
    rings: list[bool] = []
    app.bell = lambda: rings.append(True)  # type: ignore[method-assign]
    async with app.run_test(size=(120, 36)) as pilot:
        c = await _open(app, pilot, [])
        assert c.text("#alert-badge") == "! 4 alerts" and rings == []


async def test_the_alert_list_opens_on_its_key_and_enter_goes_to_the_row() -> None:
    app = alerting_app()
    async with app.run_test(size=(140, 36)) as pilot:
        c = await _open(app, pilot, [])
        await c.press("exclamation_mark")
        await c.wait_screen("AlertsScreen")
        rows = c.rows("#alerts-table")
        assert [(row[0], row[1], row[4]) for row in rows] == [
            ("OPEN", "lag over 4,000", "billing"),
            ("OPEN", "lag over 4,000", "analytics"),
            ("OPEN", "ledger is a day late", "ledger"),
            ("OPEN", "broker down", "-"),
        ]
        assert rows[2][7] == "time lag 3d 4h" and rows[0][5:7] == ["12:00:00", "0s"]  # the fixed clock
        await c.press("down", "enter")
        await c.wait(lambda: not isinstance(app.screen, AlertsScreen), "the list closed")
        await c.wait(lambda: c.screen.current_pane is c.screen.panes["lag"], "the Lag pane")
        await c.settle()
        table = c.screen.panes["lag"].query_one("#lag-table")
        await c.wait(lambda: c.rows("#lag-table")[table.cursor_row][1] == "analytics", "cursor on analytics")  # type: ignore[attr-defined]


def test_alert_list_snapshot(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, MqtuiApp)
        await _open(app, pilot, [])
        app.clear_notifications()  # the toasts of the four new alerts would cover the list
        await pilot.press("exclamation_mark")
        await pilot.pause()

    assert snap_compare(alerting_app(), terminal_size=(120, 36), run_before=run)


async def test_the_live_backend_opens_broker_down_for_an_unreachable_broker(tmp_path: Path) -> None:
    """Through `LiveBackend` and its pollers: judged on the backend's loop, shown on the console's."""
    down = {"name": "gone", "kind": "redis", "url": "redis://127.0.0.1:1/0", "timeout": 1.0}
    config = write_config(tmp_path / "config.toml", {"k": {"brokers": [down]}})
    async with console(config, "k") as c:
        await c.wait(lambda: c.app.screen.query_one("#alert-badge").has_class("-open"), "the alert badge")
        assert c.text("#alert-badge") == "! 1 alert"
        note = await c.wait_note("gone: ")  # the alert's value: the poller's one error line
        assert note.startswith("gone: ") and "\n" not in note
        assert [a.condition for a in c.screen.alert_board.open] == ["broker_down"]


def test_a_failure_in_judging_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    """`LiveBackend._deliver` judges before it hands the snapshot on: judging must never raise there."""
    backend = static_backend()

    def broken(snapshot: object, now: object) -> list[object]:
        raise RuntimeError("a bug")

    backend.alerts.observe = broken  # type: ignore[method-assign, assignment]
    backend.judge(backend.data.snapshots[0])
    assert "judging orders-kafka failed" in caplog.text
