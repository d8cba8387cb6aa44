"""Stale is never shown as live, for a partly failed poll too: when one read of a poll fails while the
others answer (the broker counts as up), the rows of that part are kept from the earlier poll, and the
snapshot says so (`BrokerSnapshot.kept`); the panes dim them like a down broker's rows, with the reason
on the info line, and the lag history gets a gap instead of a repeat."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis
from textual.widgets import DataTable

from mqtui.brokers.base import BrokerAdapter
from mqtui.brokers.redis.adapter import RedisAdapter
from mqtui.config import BrokerConfig, RedisConfig
from mqtui.config.alerts import AlertRule
from mqtui.model import BacklogRow
from mqtui.services.alerts import AlertBook
from mqtui.services.incident import build_document, write_document
from mqtui.services.incident_reader import read_document
from mqtui.services.poller import BrokerPoller
from mqtui.services.snapshot import PART_DESTINATIONS, PART_LAG, BrokerSnapshot, BrokerStatus, KeptPart, LagState
from mqtui.ui.app import MqtuiApp
from mqtui.ui.cells import colour
from mqtui.ui.panes.destinations import COLUMNS as DEST_COLUMNS
from mqtui.ui.panes.lag import COLUMNS as LAG_COLUMNS
from tests.console.fixtures import NOW, FixedBackend, static_backend
from tests.console.pilot import Console

DEST = [key for _title, key in DEST_COLUMNS]
LAG = [key for _title, key in LAG_COLUMNS]
NOTE = "orders-kafka: lag as of 11:59:23 (lag read failed: no answer within 5s)"


class Clock:
    """Wall clock and monotonic clock, moved together by the test."""

    def __init__(self) -> None:
        self.wall = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
        self.mono = 100.0


class StalledLag(RedisAdapter):
    """The real Redis adapter, whose lag read stops answering while `stalled` is set (as a Kafka lag read
    of thousands of partitions can): the broker and every other read stay real."""

    stalled = False

    async def backlog(self, *, group: str | None = None) -> list[BacklogRow]:
        if self.stalled:
            await asyncio.sleep(30)  # the poller's per-read timeout ends this first
        return await super().backlog(group=group)


async def test_failed_lag_read_keeps_rows_marked_stale(redis_db: tuple[str, redis.Redis]) -> None:
    url, client = redis_db
    client.xadd("orders", {"n": "1"})
    client.xgroup_create("orders", "billing", id="0")
    client.xadd("orders", {"n": "2"})
    adapters: list[StalledLag] = []

    def factory(config: BrokerConfig) -> BrokerAdapter:
        assert isinstance(config, RedisConfig)
        adapters.append(StalledLag(config))
        return adapters[-1]

    clock = Clock()
    poller = BrokerPoller(
        RedisConfig(name="r", url=url, timeout=0.2), interval=0.1, listener=lambda s: None,
        adapter_factory=factory, wall_clock=lambda: clock.wall, clock=lambda: clock.mono,
    )  # fmt: skip

    async def poll() -> BrokerSnapshot:
        clock.wall += timedelta(seconds=5)
        clock.mono += 5
        await poller.poll_once()
        return poller.latest

    book = AlertBook([AlertRule(lag_over=0)])
    first = await poll()
    assert first.status is BrokerStatus.CONNECTED and first.kept == ()
    assert [(g.group, g.lag) for g in first.lag if g.destination == "orders"] == [("billing", 2)]
    assert [a.event for a in book.observe(first, clock.wall)] == ["opened"]

    adapters[-1].stalled = True
    client.xadd("orders", {"n": "3"})
    second = await poll()
    assert second.status is BrokerStatus.DEGRADED
    kept = second.kept_part(PART_LAG)
    assert kept == KeptPart(PART_LAG, first.polled_at, "no answer within 0.2s")  # as of the poll that read it
    assert second.stale(PART_LAG) and not second.stale(PART_DESTINATIONS)
    assert {d.name: d.depth for d in second.destinations}["orders"] == 3  # the rest is this poll's
    assert [g.lag for g in second.lag if g.destination == "orders"] == [2]  # kept, not re-read
    assert all(g.trend.state is LagState.UNKNOWN for g in second.lag)  # a gap in the history, no trend
    assert len(adapters) == 1  # the broker answered: the adapter (and its caches) stays open
    assert book.observe(second, clock.wall) == []  # kept rows open and close nothing

    third = await poll()
    assert third.kept_part(PART_LAG) == kept  # still as of the first poll

    adapters[-1].stalled = False
    fresh = await poll()
    assert fresh.status is BrokerStatus.CONNECTED and fresh.kept == ()
    assert [g.lag for g in fresh.lag if g.destination == "orders"] == [3]
    await poller.close()


def kafka_lag_kept() -> FixedBackend:
    """orders-kafka answered its listing but not its lag read: its lag rows are from 37 s ago."""
    backend = static_backend()
    kept = (KeptPart(PART_LAG, NOW - timedelta(seconds=37), "no answer within 5s"),)
    backend.data.snapshots = [
        replace(s, status=BrokerStatus.DEGRADED, error="orders-kafka: backlog: no answer within 5s", kept=kept)
        if s.name == "orders-kafka" else s
        for s in backend.data.snapshots
    ]  # fmt: skip
    return backend


async def test_kept_lag_rows_are_dimmed_with_their_reason() -> None:
    app = MqtuiApp(kafka_lag_kept())
    app.animation_level = "none"
    async with app.run_test(size=(140, 36)) as pilot:
        c = Console(app, pilot, [])
        await c.press("1")
        dest = await c.wait_rows("#dest-table", lambda r: len(r) > 3, "destinations")
        orders = next(r for r in dest if r[0] == "orders-kafka" and r[1] == "orders")
        assert orders[DEST.index("rate_in")] == "52.5/s"  # its listing is this poll's: drawn live
        assert "lag read failed" not in c.text("#dest-info")

        await c.press("2")
        rows = await c.wait_rows("#lag-table", lambda r: len(r) == 6, "six groups")
        info = c.text("#lag-info")
        assert NOTE in info
        assert "growing" not in info and "stalled" not in info  # only orders-kafka's groups grew or stalled
        table = app.screen.query_one("#lag-table", DataTable)
        muted = colour(app.theme_variables, "muted")
        for i, row in enumerate(rows):
            if row[0] == "orders-kafka":
                assert row[LAG.index("eta")] == "-" and row[LAG.index("rate")] == "-", row
                assert row[LAG.index("consume")] == "-", row
            styles = {cell.style for cell in table.get_row_at(i)}
            assert (styles == {muted}) is (row[0] == "orders-kafka"), row
        assert rows[0][0] == "cache-redis"  # the kept groups rank as unknown, never first as growing


def test_kept_parts_survive_an_incident_snapshot(tmp_path: Path) -> None:
    """Reopened offline, the kept lag rows are still stale: the document carries `kept`."""
    backend = kafka_lag_kept()
    snapshots = list(backend.snapshots().values())
    document = build_document("p", backend.profile, snapshots, NOW)
    incident = read_document(write_document(document, tmp_path / "kept.json"))
    kafka = next(s for s in incident.snapshots if s.name == "orders-kafka")
    assert kafka.kept == (KeptPart(PART_LAG, NOW - timedelta(seconds=37), "no answer within 5s"),)
    assert kafka.stale(PART_LAG)
