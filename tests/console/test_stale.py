"""Stale is never shown as live: an unreachable broker's rows, kept from its last good poll, are drawn
dimmed with their rates, ETA and state blank, and each pane's info line says when they are from and how
long the broker has been down. A connected broker's rows beside them are drawn as before."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from textual.widgets import DataTable

from mqtui.services.snapshot import BrokerStatus, LagState
from mqtui.ui.app import MqtuiApp
from mqtui.ui.cells import colour
from mqtui.ui.panes.destinations import COLUMNS as DEST_COLUMNS
from mqtui.ui.panes.lag import COLUMNS as LAG_COLUMNS
from mqtui.ui.panes.lag import rank
from tests.console.fixtures import NOW, snapshots, static_backend
from tests.console.pilot import Console

DEST = [key for _title, key in DEST_COLUMNS]
LAG = [key for _title, key in LAG_COLUMNS]
#: orders-kafka went down 37 s ago, keeping its last destinations (orders at 52.5/s in), lag (analytics
#: growing) and DLQ.
NOTE = "orders-kafka: as of 11:59:23 · down 37s"


def kafka_down():  # type: ignore[no-untyped-def]
    backend = static_backend()
    backend.data.snapshots = [
        replace(s, status=BrokerStatus.UNREACHABLE, error="orders-kafka: connection refused",
                polled_at=NOW - timedelta(seconds=37), failures=4)
        if s.name == "orders-kafka" else s
        for s in backend.data.snapshots
    ]  # fmt: skip
    return backend


def test_stale_rows_do_not_rank_as_growing() -> None:
    kafka = snapshots()[0]
    groups = list(kafka.lag)
    assert any(g.trend.state is LagState.GROWING for g in groups)
    live = rank(groups, now=NOW)
    assert live[0].trend.state in (LagState.STALLED, LagState.GROWING)
    stale = rank(groups, now=NOW, stale={"orders-kafka"})
    assert [g.lag for g in stale] == sorted((g.lag or 0 for g in groups), reverse=True)  # all unknown: by lag


async def test_down_broker_rows_are_stale_in_every_pane() -> None:
    live_app = MqtuiApp(static_backend())  # type: ignore[arg-type]
    live_app.animation_level = "none"
    async with live_app.run_test(size=(140, 36)) as pilot:
        c = Console(live_app, pilot, [])
        await c.press("1")
        live_dest = await c.wait_rows("#dest-table", lambda r: len(r) > 3, "destinations")
        await c.press("2")
        live_lag = await c.wait_rows("#lag-table", lambda r: len(r) == 6, "six groups")

    app = MqtuiApp(kafka_down())  # type: ignore[arg-type]
    app.animation_level = "none"
    async with app.run_test(size=(140, 36)) as pilot:
        c = Console(app, pilot, [])
        await c.press("1")
        dest = await c.wait_rows("#dest-table", lambda r: len(r) > 3, "destinations")
        orders = next(r for r in dest if r[0] == "orders-kafka" and r[1] == "orders")
        assert orders[DEST.index("depth")] == "8,200"  # the last depth stays, dimmed
        assert orders[DEST.index("rate_in")] == "-" and orders[DEST.index("rate_out")] == "-"
        assert NOTE in c.text("#dest-info")
        # the connected brokers' rows are drawn as before
        assert [r for r in dest if r[0] != "orders-kafka"] == [r for r in live_dest if r[0] != "orders-kafka"]

        await c.press("2")
        rows = await c.wait_rows("#lag-table", lambda r: len(r) == 6, "six groups")
        info = c.text("#lag-info")
        assert NOTE in info
        assert "growing" not in info and "stalled" not in info  # only orders-kafka's groups grew or stalled
        for row in rows:
            if row[0] == "orders-kafka":
                assert row[LAG.index("eta")] == "-", row
                assert row[LAG.index("rate")] == "-", row
                assert row[LAG.index("consume")] == "-", row
                assert "growing" not in " ".join(row) and "/s" not in " ".join(row)
        assert [r for r in rows if r[0] != "orders-kafka"] == [r for r in live_lag if r[0] != "orders-kafka"]
        table = app.screen.query_one("#lag-table", DataTable)
        muted = colour(app.theme_variables, "muted")
        for i, row in enumerate(rows):
            styles = {cell.style for cell in table.get_row_at(i)}
            assert (styles == {muted}) is (row[0] == "orders-kafka"), row  # dimmed: the stale rows only
        # the stale groups no longer rank first as stalled or growing: the live ones lead
        assert rows[0][0] == "cache-redis"

        await c.press("4")
        queues = await c.wait_rows("#dlq-table", lambda r: len(r) == 2, "two DLQs")
        assert {q[0] for q in queues} == {"orders-kafka", "cache-redis"}
        assert NOTE in c.text("#dlq-info")
