"""An incident snapshot written from the console on a real Redis reopens offline: the same rows, the
recorded tail and DLQ entries, a working drill-in, writes refused; no broker needed."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from mqtui.model import StartPosition
from tests.console.offline_fixtures import offline_console
from tests.console.pilot import console
from tests.console.test_console_redis import redis_profile


async def test_snapshot_from_a_live_console_reopens_offline(
    tmp_path: Path, redis_db: tuple[str, redis.Redis], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, client = redis_db
    for i in range(6):
        client.xadd("events", {"n": str(i).encode()})
    client.xgroup_create("events", "workers", id="0")
    client.rpush("work:dlq", b'{"id": "a"}', b"\xff\xfe not utf-8")
    monkeypatch.chdir(tmp_path)
    config = redis_profile(tmp_path, url, poll_interval=60.0)  # one poll: the rows cannot move meanwhile
    async with console(config, "ops") as c:
        await c.press("2")
        live_lag = await c.wait_rows("#lag-table", lambda r: any(row[1] == "workers" for row in r), "workers")
        c.screen.start_tail("r", "events", StartPosition("beginning"))
        await c.wait(lambda: len(c.screen.tail_pane.buffer) == 6, "six stream entries in the tail")
        await c.press("4")
        await c.pick("#dlq-table", 1, "work:dlq", "the DLQ")
        await c.press("enter")
        await c.wait_rows("#entries-table", lambda r: len(r) == 2, "two entries")
        await c.press("S")
        note = await c.wait_note("snapshot written to ")
    [path] = tmp_path.glob("mqtui-snapshot-ops-*.json")
    assert note == f"snapshot written to {path}"

    async with offline_console(path) as c:
        assert c.text("#offline").startswith("offline snapshot of ops taken at ")
        await c.press("2")
        lag = await c.wait_rows("#lag-table", lambda r: len(r) == len(live_lag), "the recorded lag rows")
        assert [row[:4] for row in lag] == [row[:4] for row in live_lag]  # broker, group, destination, lag
        await c.pick("#lag-table", 1, "workers", "the workers group")
        await c.press("enter")
        await c.wait_screen("GroupScreen")
        await c.wait(lambda: c.app.screen.query("#summary"), "the recorded group")
        await c.press("escape")
        await c.press("3")
        tail = c.screen.tail_pane
        await c.wait(lambda: len(tail.messages) == 6, "the recorded tail")
        ids = [entry_id.decode() for entry_id, _fields in client.xrange("events")]
        assert [str(m.position) for m in tail.buffer] == ids  # the entries the live tail showed, in order
        await c.press("4")
        entries = await c.wait_rows("#entries-table", lambda r: len(r) == 2, "the recorded entries")
        assert len(entries) == 2
        letters = c.screen.dead_letters_pane.listing.entries
        assert sorted(letter.message.value for letter in letters) == [b'{"id": "a"}', b"\xff\xfe not utf-8"]
        await c.press("r")
        await c.wait_note("readonly")
    assert client.llen("work:dlq") == 2 and client.llen("work") == 0  # nothing was sent anywhere
