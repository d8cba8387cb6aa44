"""Search and selection by expression from the console against real brokers: on Redis a planted order
found in a time range with the exact coverage line, a search stopped mid-way that says what it did not
search, and a requeue of only the dead letters an expression selects (checked on the broker); on
RabbitMQ a queue searched by a peek only after a confirmation, and refused in a readonly profile."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pika
import redis
from textual.widgets import DataTable, Input, Label

from mqtui.demo.localbrokers import LocalRabbitMQ
from mqtui.ui.panes.tail import TailPane
from mqtui.ui.screens.search import SearchScreen
from tests.console.conftest import profile_file
from tests.console.pilot import Console, console
from tests.helpers import write_config

T0 = int(datetime(2026, 12, 6, 10, 0, tzinfo=UTC).timestamp() * 1000)


def redis_profile(tmp_path: Path, url: str) -> Path:
    return profile_file(
        tmp_path, [{"name": "r", "kind": "redis", "url": url, "timeout": 3.0}], filters={"vip": "key:vip"}
    )


async def open_search(c: Console, destination: str) -> SearchScreen:
    await c.pick("#dest-table", 1, destination, f"the {destination} row")
    await c.press("f")
    await c.wait_screen("SearchScreen")
    assert isinstance(c.app.screen, SearchScreen)
    return c.app.screen


async def start_search(c: Console, screen: SearchScreen, where: str, **fields: str) -> None:
    for name, value in {"where": where, **fields}.items():
        screen.query_one(f"#search-{name}", Input).value = value
    screen.query_one("#search-where", Input).focus()
    await c.press("enter")


async def coverage(c: Console, screen: SearchScreen) -> str:
    await c.wait(lambda: not screen.running, "the search done")
    return screen.coverage


async def test_a_search_from_the_console_finds_the_planted_order_in_its_time_range(
    tmp_path: Path, redis_db: tuple[str, redis.Redis]
) -> None:
    url, client = redis_db
    for second in range(-2, 20):
        order = 4711 if second in (-1, 3, 15) else second  # one before the range, one in it, one at its end
        fields = {"data": json.dumps({"order_id": order}), "key": "vip" if second == 4 else "k"}
        client.xadd("orders", fields, id=f"{T0 + second * 60_000}-0")  # type: ignore[arg-type]
    async with console(redis_profile(tmp_path, url), "ops") as c:
        screen = await open_search(c, "orders")
        await start_search(c, screen, ".value.order_id == 4711", **{"from": "2026-12-06T10:00:00Z",
                                                                     "to": "2026-12-06T10:15:00Z"})  # fmt: skip
        assert (
            await coverage(c, screen) == "scanned 15 of 15 messages in orders 2026-12-06 10:00:00..10:15:00, 1 matched"
        )
        rows = c.rows_of(screen.query_one("#search-results", DataTable))
        assert [row[1] for row in rows] == [f"{T0 + 3 * 60_000}-0"]

        await start_search(c, screen, "@vip", **{"from": "beginning", "to": "end"})  # the profile's saved filter
        assert await coverage(c, screen) == "scanned 22 of 22 messages in orders (everything it held), 1 matched"
        assert [m.key for m in screen.matches] == [b"vip"]

        screen.query_one("#search-results", DataTable).focus()
        await c.press("enter")
        await c.wait_screen("MessageScreen")
        await c.press("escape")
        await c.wait_screen("SearchScreen")

        await c.press("escape", "t")  # the saved filter works in the tail pane's filter too
        await c.wait_screen("TailStartScreen")
        c.app.screen.query_one("#start", Input).value = "beginning"
        await c.press("enter")
        pane = c.app.query_one("#tail", TailPane)
        await c.wait(lambda: len(pane.messages) == 22, "the whole stream tailed")
        await c.press("slash")
        c.app.query_one("#tail-filter", Input).value = "@vip"
        await c.settle()
        assert [m.key for m in pane.messages.messages] == [b"vip"]
        assert "filter: @vip" in c.text("#tail-info")


async def test_a_search_stopped_mid_way_says_how_much_it_did_not_search(
    tmp_path: Path, redis_db: tuple[str, redis.Redis]
) -> None:
    url, client = redis_db
    total = 40_000
    with client.pipeline(transaction=False) as pipe:
        for n in range(total):
            pipe.xadd("big", {"data": json.dumps({"n": n})}, id=f"{n + 1}-0")
        pipe.execute()
    async with console(redis_profile(tmp_path, url), "ops") as c:
        screen = await open_search(c, "big")
        # jq's own work per message (no Python fast path): pages of 1,000 take long enough to stop between.
        screen.query_one("#search-where", Input).value = "([range(100)] | length) < 0 or .value.n < 0"
        screen.action_run()  # not a key press: the pilot would wait for the screen to be idle, i.e. the end
        state = screen.query_one("#search-state", Label)
        await c.wait(lambda: str(state.content).startswith("scanning: "), "the first page judged")
        await c.pilot.press("ctrl+x")
        line = await coverage(c, screen)
        found = re.fullmatch(
            r"scanned ([\d,]+) of 40,000 messages in big \(everything it held\), 0 matched; cancelled \(([\d,]+) not searched\)",
            line,
        )
        assert found, line
        scanned, left = (int(group.replace(",", "")) for group in found.groups())
        assert 0 < scanned < total and scanned + left == total


async def test_only_the_dead_letters_an_expression_selects_are_requeued(
    tmp_path: Path, redis_db: tuple[str, redis.Redis]
) -> None:
    url, client = redis_db
    letters = [{"id": f"m{i}", "error": "timeout" if i in (1, 3) else "bad input"} for i in range(5)]
    client.rpush("mail:dlq", *[json.dumps(letter).encode() for letter in letters])
    async with console(redis_profile(tmp_path, url), "ops") as c:
        await c.open_only_dlq(5, "five entries")
        await c.press("w")
        await c.wait_screen("WhereScreen")
        c.app.screen.query_one("#where", Input).value = '.value.error | test("time")'
        await c.settle()
        assert c.text("#where-state") == "2 of 5 dead letters read match"
        assert sorted(row[0] for row in c.rows("#where-preview")) == ["m1", "m3"]
        assert client.llen("mail") == 0  # choosing reads nothing and moves nothing
        await c.press("enter")
        await c.wait_screen("ConsoleScreen")
        rows = c.rows("#entries-table")
        assert sorted(row[1] for row in rows if row[0] == "✓") == ["m1", "m3"]
        assert '2 selected where .value.error | test("time")' in c.text("#entries-info")

        await c.press("r")
        await c.wait(lambda: "2 of 2" in c.text("#preview"), "the preview of the two")
        await c.press("y")
        await c.wait(lambda: c.text("#summary").startswith("sent"), "summary")
        assert c.text("#summary") == "sent 2, failed 0, skipped 0"
        assert sorted(json.loads(v)["id"] for v in client.lrange("mail", 0, -1)) == ["m1", "m3"]
        assert sorted(json.loads(v)["id"] for v in client.lrange("mail:dlq", 0, -1)) == ["m0", "m2", "m4"]


async def test_a_rabbitmq_queue_is_searched_only_after_a_confirmation_and_never_when_readonly(
    tmp_path: Path, rabbitmq_server: LocalRabbitMQ
) -> None:
    queue = f"search-{uuid.uuid4().hex[:8]}"
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_server.url))
    channel = connection.channel()
    channel.queue_declare(queue, durable=True)
    for order in (1, 4711, 3):
        channel.basic_publish("", queue, json.dumps({"order_id": order}).encode())
    broker = {**rabbitmq_server.broker_config(), "name": "rabbit", "timeout": 5.0}
    profiles = {"rabbit": {"poll_interval": 0.5, "brokers": [broker]},
                "watch": {"poll_interval": 0.5, "readonly": True, "brokers": [broker]}}  # fmt: skip
    config = write_config(tmp_path / "c.toml", profiles)
    try:
        async with console(config, "rabbit") as c:
            screen = await open_search(c, queue)
            await start_search(c, screen, ".value.order_id == 4711")
            await c.wait_screen("ConfirmScreen", "the question before a peek")
            assert "marks every message redelivered" in c.text("#body")
            await c.press("y")
            await c.wait_screen("SearchScreen")
            line = await coverage(c, screen)
            assert line.startswith(f"scanned 3 of 3 messages in {queue}") and line.endswith("1 matched"), line
            assert channel.queue_declare(queue, passive=True).method.message_count == 3  # all still there
        async with console(config, "watch") as c:
            screen = await open_search(c, queue)
            await start_search(c, screen, ".value.order_id == 4711")
            line = await coverage(c, screen)
            assert (
                line
                == "profile 'watch' is readonly: search refused: reading a queue by get + requeue marks every message redelivered"
            )
            assert not screen.matches
    finally:
        connection.close()
