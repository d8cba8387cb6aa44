"""A job framework's queue in the Destinations pane (fixed data): the Kind cell names the framework and
the last cell holds the counts its own dashboard shows beside depth, while a plain list's row is unchanged."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from textual.widgets import DataTable

from mqtui.jobcounts import DELAYED, FAILED, RETRYING
from mqtui.model import Destination, DestinationKind
from mqtui.services.snapshot import BrokerSnapshot, BrokerStatus
from mqtui.ui.app import MqtuiApp
from mqtui.ui.panes.destinations import DestinationsPane, filter_destinations
from tests.console.fixtures import NOW, REDIS_CAPS, FixedData, fixed_backend, profile
from tests.console.pilot import Console
from tests.support import until

ROWS = (
    Destination("cache-redis", "bull:emails", DestinationKind.LIST, depth=4, in_flight=1, consumers=2,
                extra={"convention": "bullmq", "delayed": "3", "failed": "5", DELAYED: "3", FAILED: "5"}),
    Destination("cache-redis", "sidekiq:default", DestinationKind.LIST, depth=0, in_flight=0, consumers=1,
                extra={"convention": "sidekiq", DELAYED: "0", RETRYING: "1", FAILED: "2"}),
    Destination("cache-redis", "celery", DestinationKind.LIST, depth=7, extra={"convention": "celery"}),
    Destination("cache-redis", "plain-list", DestinationKind.LIST, depth=9),
)  # fmt: skip


def _app() -> MqtuiApp:
    redis = BrokerSnapshot(
        name="cache-redis", kind="redis", status=BrokerStatus.CONNECTED, capabilities=REDIS_CAPS,
        destinations=ROWS, polled_at=NOW - timedelta(seconds=1),
    )  # fmt: skip
    app = MqtuiApp(fixed_backend(profile(), FixedData(snapshots=[redis], now=NOW)))  # type: ignore[arg-type]
    app.animation_level = "none"
    return app


async def test_a_framework_queue_shows_its_framework_and_counts_and_a_plain_list_does_not() -> None:
    app = _app()
    async with app.run_test(size=(140, 36)):
        table: DataTable[Any] = app.screen.query_one(DestinationsPane).query_one(DataTable)

        def rows() -> dict[str, list[str]] | None:
            found = {row[1]: row for row in Console.rows_of(table)}
            return found if "plain-list" in found and "bull:emails" in found else None

        shown = await until(rows, what="the Redis rows in the Destinations pane")
        assert shown["bull:emails"][2] == "bullmq"
        assert shown["bull:emails"][-1] == "delayed 3 · failed 5"
        assert shown["sidekiq:default"][2] == "sidekiq"
        assert shown["sidekiq:default"][-1] == "delayed 0 · retrying 1 · failed 2"
        assert shown["celery"][2] == "celery" and shown["celery"][-1] == ""  # no counts it could not know
        assert shown["plain-list"][2] == "list" and shown["plain-list"][-1] == ""


def test_the_filter_finds_a_framework_s_queues_by_the_framework_it_names() -> None:
    assert [d.name for d in filter_destinations(list(ROWS), "bullmq")] == ["bull:emails"]
    assert [d.name for d in filter_destinations(list(ROWS), "redis list")] == [d.name for d in ROWS]
