"""The Retries table of the Dead letters pane, against fixed snapshots and the frozen clock: due now and
later per schedule, the next due time counted down, "+" for a capped count, a down broker's rows dimmed,
and no table at all where no broker reports a retry schedule."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import redis
from textual.widgets import DataTable

from mqtui.model import RetrySchedule
from mqtui.services.snapshot import BrokerStatus
from mqtui.ui.app import MqtuiApp
from mqtui.ui.cells import colour
from mqtui.ui.panes.retries import RETRY_COLUMNS, until
from tests.console.conftest import profile_file
from tests.console.fixtures import NOW, static_backend
from tests.console.pilot import Console, console

COLUMNS = [key for _title, key in RETRY_COLUMNS]
KAFKA = (
    RetrySchedule("orders-kafka", "orders-retry-0", "spring retry topic", "orders", due_now=4, due_later=12,
                  next_due_at=NOW + timedelta(minutes=4, seconds=10), overdue_since=NOW - timedelta(seconds=95)),
    RetrySchedule("orders-kafka", "payments.retry", "retry envelope", "payments", due_now=0, due_later=10_000,
                  next_due_at=NOW + timedelta(seconds=30), at_least=True),
)  # fmt: skip
REDIS = (
    RetrySchedule("cache-redis", "rq:scheduled:emails", "rq scheduled", "emails", due_now=0, due_later=0),
    RetrySchedule("cache-redis", "mail.delay", "ttl + dead-letter", "mail", due_now=None, due_later=None,
                  unknown_reason="messages expire one by one"),
)  # fmt: skip


def with_retries(*, kafka_down: bool = False):  # type: ignore[no-untyped-def]
    backend = static_backend()
    planted = {"orders-kafka": KAFKA, "cache-redis": REDIS}
    down = {"status": BrokerStatus.UNREACHABLE, "polled_at": NOW - timedelta(seconds=37)}
    backend.data.snapshots = [
        replace(s, retries=planted.get(s.name, ()), **(down if kafka_down and s.name == "orders-kafka" else {}))
        for s in backend.data.snapshots
    ]
    return backend


async def test_the_retries_table_counts_due_and_not_due_beside_the_dlqs() -> None:
    app = MqtuiApp(with_retries())  # type: ignore[arg-type]
    app.animation_level = "none"
    async with app.run_test(size=(160, 40)) as pilot:
        c = Console(app, pilot, [])
        await c.press("4")
        rows = await c.wait_rows("#retry-table", lambda r: len(r) == 4, "four retry schedules")
        by_name = {r[COLUMNS.index("name")]: dict(zip(COLUMNS, r, strict=True)) for r in rows}
        assert rows[0][COLUMNS.index("name")] == "orders-retry-0"  # retries due now come first
        spring = by_name["orders-retry-0"]
        assert (spring["due_now"], spring["due_later"], spring["next_due"], spring["overdue"]) == (
            "4", "12", "in 4m 10s", "1m 35s")  # fmt: skip
        capped = by_name["payments.retry"]
        assert (capped["due_now"], capped["due_later"], capped["next_due"]) == ("0+", "10,000+", "in 30s")
        assert (by_name["rq:scheduled:emails"]["due_later"], by_name["rq:scheduled:emails"]["next_due"]) == ("0", "-")
        unknown = by_name["mail.delay"]
        assert (unknown["due_now"], unknown["next_due"]) == ("-", "unknown")
        assert unknown["note"].startswith("messages expire")  # the why, cut to the room left
        assert c.text("#retry-info") == "Retries: 4 schedules · 4+ due now · 10,012+ due later"
        assert len(await c.wait_rows("#dlq-table", lambda r: len(r) == 2, "two DLQs")) == 2


async def test_a_down_brokers_retries_are_dimmed_and_none_means_no_table() -> None:
    app = MqtuiApp(with_retries(kafka_down=True))  # type: ignore[arg-type]
    app.animation_level = "none"
    async with app.run_test(size=(160, 40)) as pilot:
        c = Console(app, pilot, [])
        await c.press("4")
        rows = await c.wait_rows("#retry-table", lambda r: len(r) == 4, "four retry schedules")
        table = app.screen.query_one("#retry-table", DataTable)
        muted = colour(app.theme_variables, "muted")
        for i, row in enumerate(rows):
            styles = {cell.style for cell in table.get_row_at(i)}
            assert (styles == {muted}) is (row[0] == "orders-kafka"), row
    plain_app = MqtuiApp(static_backend())  # type: ignore[arg-type]
    plain_app.animation_level = "none"
    async with plain_app.run_test(size=(160, 40)) as pilot:
        c = Console(plain_app, pilot, [])
        await c.press("4")
        await c.wait_rows("#dlq-table", lambda r: len(r) == 2, "two DLQs")
        assert not plain_app.screen.query_one("#retry-table").display
        assert not plain_app.screen.query_one("#retry-info").display


async def test_a_real_redis_schedule_reaches_the_pane(tmp_path: Path, redis_db: tuple[str, redis.Redis]) -> None:
    url, client = redis_db
    now = time.time()
    client.zadd("rq:scheduled:emails", {"due": now - 30, "later-1": now + 600, "later-2": now + 1200})
    client.rpush("emails:dlq", b"x")
    profile = profile_file(tmp_path, [{"name": "r", "kind": "redis", "url": url, "timeout": 2.0}])
    async with console(profile, "ops") as c:
        await c.press("4")
        [row] = await c.wait_rows("#retry-table", lambda r: len(r) == 1, "the RQ schedule")
        cells = dict(zip(COLUMNS, row, strict=True))
        assert (cells["name"], cells["origin"], cells["due_now"], cells["due_later"]) == (
            "rq:scheduled:emails", "emails", "1", "2")  # fmt: skip
        assert cells["next_due"].startswith(("in 9m", "in 10m"))
        assert c.text("#retry-info") == "Retries: 1 schedule · 1 due now · 2 due later"


def test_a_due_time_the_last_poll_saw_ahead_reads_now_once_it_has_come() -> None:
    assert until(NOW + timedelta(seconds=61), NOW) == "in 1m 1s"
    assert until(NOW + timedelta(milliseconds=400), NOW) == "now"
    assert until(NOW - timedelta(seconds=3), NOW) == "now"
