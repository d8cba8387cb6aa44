"""A readonly profile refuses every write action from its key, from the command palette and from the CLI.

One test per action, against a real Redis holding a queue, a dead letter and a consumer group: the
key and the palette command each say why (a notification naming the profile) and open no dialog, the
CLI exits 3 with one line, and afterwards the broker holds exactly what it held before. The refusal
comes before any capability check, so Redis stands in for every kind (its own lack of offset reset or
request is never reached). Peek is the exception: a Redis peek (LRANGE) only reads, so a readonly profile
allows it, and the refusal is shown with RabbitMQ, whose peek (get + requeue) marks messages redelivered.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pika
import pytest
import redis

from mqtui.demo.localbrokers import LocalRabbitMQ, LocalRedis
from tests.console.conftest import profile_file
from tests.console.pilot import Console, console
from tests.trust.support import cli

#: Database 7 of the shared Redis belongs to these tests.
READONLY_DB = 7


@dataclass(frozen=True)
class Action:
    refusal: str
    """What the notification says after "profile 'p' is readonly: "."""
    pane: str
    """The pane key to press first."""
    keys: tuple[str, ...]
    """From the pane, the keys that select a target and ask for the action."""
    palette: str
    """What to type in the palette to find the command."""
    cli: tuple[str, ...]


ACTIONS = {
    "publish": Action("publish refused", "1", ("n",), "mqtui: publish", ("publish", "r", "q", "--value", "x", "--yes")),
    "replay": Action("replay refused", "4", ("r",), "dead letters: replay",
                     ("dlq", "replay", "r", "q:dlq", "--yes")),
    "delete dead letters": Action("delete refused", "4", ("enter", "space", "d"), "dead letters: delete",
                                  ("dlq", "delete", "r", "q:dlq", "--id", "0", "--yes")),
    "purge": Action("purge refused", "1", ("x",), "destinations: purge", ("purge", "r", "q", "--yes")),
    "offset reset": Action("reset offsets refused", "2", ("o",), "lag: reset offsets",
                           ("reset-offsets", "r", "events@g", "--to", "earliest", "--yes")),
    "request": Action("request refused", "1", ("r",), "destinations: request", ("request", "r", "svc", "--yes")),
    "move": Action("move all refused", "4", ("M",), "dead letters: move all",
                   ("dlq", "move", "r", "q:dlq", "--to", "q", "--yes")),
    "duplicate": Action("duplicate refused", "4", ("enter", "D"), "dead letters: duplicate",
                        ("publish", "r", "q", "--value", "copy", "--yes")),
}  # fmt: skip


@pytest.fixture
def readonly_redis(redis_server: LocalRedis) -> Iterator[tuple[str, redis.Redis]]:
    url = f"redis://127.0.0.1:{redis_server.port}/{READONLY_DB}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.rpush("q", b"1")
    client.rpush("q:dlq", b'{"id": "d1"}')
    client.xadd("events", {"data": b"e1"})
    client.xadd("events", {"data": b"e2"})
    client.xgroup_create("events", "g", id="0")
    yield url, client
    client.flushdb()
    client.close()


def state(client: redis.Redis) -> tuple[object, ...]:
    """Everything a write action could change."""
    group = client.xinfo_groups("events")[0]
    return (client.lrange("q", 0, -1), client.lrange("q:dlq", 0, -1), client.xlen("events"),
            group["last-delivered-id"], group["pending"], sorted(client.keys()))  # fmt: skip


async def refused_by_note(c: Console, before: int, expected: str) -> None:
    """A notification after the first `before` says exactly why, and no dialog opened."""
    await c.wait(lambda: len(c.notes) > before, f"the refusal {expected!r}")
    assert c.notes[before:] == [expected]
    await c.pilot.pause(0.2)
    assert type(c.app.screen).__name__ == "ConsoleScreen"


@pytest.mark.parametrize("name", list(ACTIONS))
async def test_readonly_refuses_from_key_palette_and_cli(
    tmp_path: Path, readonly_redis: tuple[str, redis.Redis], name: str
) -> None:
    action = ACTIONS[name]
    url, client = readonly_redis
    config = profile_file(tmp_path, [{"name": "r", "kind": "redis", "url": url}], name="p", readonly=True)
    before = state(client)
    expected = f"profile 'p' is readonly: {action.refusal}"
    async with console(config, "p") as c:
        await c.wait_rows("#dest-table", lambda r: len(r) == 3, "q, q:dlq and events")
        await c.press(action.pane)
        if action.pane == "4":
            await c.wait_rows("#dlq-table", lambda r: len(r) == 1, "the DLQ")
        if action.pane == "2":
            await c.wait_rows("#lag-table", lambda r: len(r) >= 1, "a backlog row")
        for key in action.keys[:-1]:
            await c.press(key)
        if "enter" in action.keys:
            await c.wait_rows("#entries-table", lambda r: len(r) == 1, "the dead letter")
        notes = len(c.notes)
        await c.press(action.keys[-1])
        await refused_by_note(c, notes, expected)

        await c.press("ctrl+p")
        await c.wait_screen("CommandPalette")
        await c.type(action.palette)
        await c.pilot.pause(0.5)
        notes = len(c.notes)
        await c.press("enter")
        await refused_by_note(c, notes, expected)

    result = cli(config, *action.cli)
    assert result.code == 3, result
    assert result.err.splitlines() == [f"mqtui: error: profile 'p' is readonly: {cli_refusal(action)}"]
    assert state(client) == before


def cli_refusal(action: Action) -> str:
    verb = {"replay": "dlq replay", "delete": "dlq delete", "move": "dlq move", "reset-offsets": "offset reset"}
    command = action.cli[0] if action.cli[0] != "dlq" else action.cli[1]
    return f"{verb.get(command, command)} refused"


async def test_readonly_allows_a_redis_peek_which_only_reads(
    tmp_path: Path, readonly_redis: tuple[str, redis.Redis]
) -> None:
    url, client = readonly_redis
    client.lpush("q", b"2", b"3")  # LPUSH/BRPOP: the oldest is at the right end
    config = profile_file(tmp_path, [{"name": "r", "kind": "redis", "url": url}], name="p", readonly=True)
    before = state(client)
    async with console(config, "p") as c:
        await c.pick("#dest-table", 1, "q", "the list q")
        await c.press("p")
        pane = c.screen.panes["tail"]
        await c.wait(lambda: len(pane.messages) == 3, "three peeked messages")  # type: ignore[attr-defined]
        assert [m.value for m in pane.messages.messages] == [b"1", b"2", b"3"]  # type: ignore[attr-defined]
        assert "peeked 3" in c.text("#tail-info")
        assert not any("readonly" in note for note in c.notes)

    result = cli(config, "peek", "r", "q")
    assert result.code == 0, result
    assert [line.split()[-1] for line in result.out.splitlines()[-3:]] == ["1", "2", "3"]
    assert state(client) == before


async def test_readonly_refuses_a_rabbitmq_peek_from_key_palette_and_cli(
    tmp_path: Path, rabbitmq_server: LocalRabbitMQ
) -> None:
    queue = f"readonly-peek-{tmp_path.name[-12:]}"
    url = f"amqp://guest:guest@127.0.0.1:{rabbitmq_server.port}/%2F"
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.queue_declare(queue)
    channel.basic_publish("", queue, b"waiting")
    broker = {"name": "rb", "kind": "rabbitmq", "url": url, "management_url": rabbitmq_server.management_url}
    config = profile_file(tmp_path, [broker], name="p", readonly=True)
    expected = "profile 'p' is readonly: peek refused"
    try:
        async with console(config, "p") as c:
            await c.pick("#dest-table", 1, queue, "the queue")
            notes = len(c.notes)
            await c.press("p")
            await refused_by_note(c, notes, expected)

            await c.press("ctrl+p")
            await c.wait_screen("CommandPalette")
            await c.type("destinations: peek")
            await c.pilot.pause(0.5)
            notes = len(c.notes)
            await c.press("enter")
            await refused_by_note(c, notes, expected)

        result = cli(config, "peek", "rb", queue, "--yes")
        assert result.code == 3, result
        assert result.err.splitlines() == [f"mqtui: error: {expected}"]
        ok, _properties, body = channel.basic_get(queue, auto_ack=True)
        assert body == b"waiting" and not ok.redelivered  # never taken, so never marked redelivered
    finally:
        channel.queue_delete(queue)
        connection.close()
