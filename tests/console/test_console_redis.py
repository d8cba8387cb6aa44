"""The console end to end against a real Redis: every pane, replay, publish, outage and recovery."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import redis

from mqtui.demo.localbrokers import LocalRedis
from mqtui.model import StartPosition
from tests.console.conftest import profile_file
from tests.console.pilot import console


def redis_profile(tmp_path: Path, url: str, **options: object) -> Path:
    return profile_file(tmp_path, [{"name": "r", "kind": "redis", "url": url, "timeout": 2.0}], **options)


async def test_destinations_lag_and_details_show_exact_numbers(
    tmp_path: Path, redis_db: tuple[str, redis.Redis]
) -> None:
    url, client = redis_db
    client.rpush("orders", *[f"o{i}" for i in range(5)])
    client.rpush("orders:dlq", b"x", b"y")
    for i in range(10):
        client.xadd("events", {"data": str(i).encode()})
    client.xgroup_create("events", "workers", id="0")
    async with console(redis_profile(tmp_path, url), "ops") as c:
        rows = await c.wait_rows("#dest-table", lambda r: len(r) == 3, "three destinations")
        by_name = {row[1]: row for row in rows}
        assert by_name["orders"][2:4] == ["list", "5"]
        assert by_name["events"][2:4] == ["stream", "10"]
        assert by_name["orders:dlq"][3] == "2" and by_name["orders:dlq"][-1] == "DLQ"
        assert c.text("#dest-info").startswith("3 of 3 · sorted by depth ↓")
        assert [row[1] for row in rows] == ["events", "orders", "orders:dlq"]
        await c.press(*["s"] * 5)  # in-flight, consumers, in rate, out rate, then kind
        assert c.text("#dest-info").startswith("3 of 3 · sorted by kind ↑")
        assert [row[1] for row in c.rows("#dest-table")] == ["orders", "orders:dlq", "events"]  # lists, then streams
        await c.press("s")
        assert c.text("#dest-info").startswith("3 of 3 · sorted by name ↑")
        assert [row[1] for row in c.rows("#dest-table")] == ["events", "orders", "orders:dlq"]
        await c.press("s")  # and round to depth again

        await c.press("slash")
        await c.type("orders")
        assert [row[1] for row in c.rows("#dest-table")] == ["orders", "orders:dlq"]
        await c.press("escape")
        assert len(c.rows("#dest-table")) == 3

        await c.press("2")
        lag = await c.wait_rows("#lag-table", lambda r: any(row[1] == "workers" for row in r), "workers group")
        workers = next(row for row in lag if row[1] == "workers")
        assert (workers[2], workers[3]) == ("events", "10")
        assert len(lag) > 1
        await c.press("slash")
        await c.type("work")
        await c.press("enter")  # the filter stays, the table has the keys again
        assert [row[1] for row in c.rows("#lag-table")] == ["workers"]
        assert "filter: work" in c.text("#lag-info")
        await c.press("escape")
        assert len(c.rows("#lag-table")) == len(lag)

        await c.press("1")
        table = c.app.query_one("#dest-table")
        table.move_cursor(row=[row[1] for row in c.rows("#dest-table")].index("events"))  # type: ignore[attr-defined]
        await c.press("enter")
        await c.wait_screen("DetailScreen")
        await c.wait(lambda: c.app.screen.query("DataTable"), "detail tables")
        summary = c.rows("#summary")
        assert ["length", "10"] in summary or any(row[1] == "10" for row in summary)
        await c.press("escape")
        assert type(c.app.screen).__name__ == "ConsoleScreen"


async def test_requeue_from_the_dead_letter_pane_lands_every_message(
    tmp_path: Path, redis_db: tuple[str, redis.Redis]
) -> None:
    url, client = redis_db
    client.rpush("work:dlq", b'{"id": "a", "n": 1}', b'{"id": "b", "n": 2}', b'{"id": "c", "n": 3}')
    async with console(redis_profile(tmp_path, url), "ops") as c:
        await c.press("4")
        queues = await c.wait_rows("#dlq-table", lambda r: len(r) == 1, "the DLQ")
        assert queues[0][1:4] == ["work:dlq", "work", "3"]
        await c.press("enter")
        entries = await c.wait_rows("#entries-table", lambda r: len(r) == 3, "three entries")
        assert [row[1] for row in entries] == ["c", "b", "a"]  # oldest first: the right end of an LPUSH queue

        await c.press("space")  # select "c" only, then undo: the replay takes everything
        assert "1 selected" in c.text("#entries-info")
        await c.press("up", "space")
        assert "0 selected" in c.text("#entries-info")

        await c.press("r")
        await c.wait_screen("ReplayScreen")
        await c.wait(lambda: "3 of 3" in c.text("#preview"), "preview")
        assert c.text("#preview") == "requeue 3 of 3 dead letter(s): 3 to work"
        assert client.llen("work") == 0  # nothing moves before the confirmation
        await c.press("y")
        await c.wait(lambda: c.text("#summary").startswith("sent"), "summary")
        assert c.text("#summary") == "sent 3, failed 0, skipped 0"
        assert client.llen("work") == 3 and client.llen("work:dlq") == 0
        assert "confirm" not in {b.binding.action for b in c.app.screen.active_bindings.values()}  # sent once
        await c.press("y")
        assert client.llen("work") == 3
        assert sorted(json.loads(v)["n"] for v in client.lrange("work", 0, -1)) == [1, 2, 3]
        await c.press("escape")
        await c.wait_rows("#entries-table", lambda r: r == [], "entries reloaded empty")


async def test_requeue_of_selected_entries_moves_only_those(tmp_path: Path, redis_db: tuple[str, redis.Redis]) -> None:
    url, client = redis_db
    client.rpush("mail:dlq", *[json.dumps({"id": f"m{i}"}).encode() for i in range(4)])
    async with console(redis_profile(tmp_path, url), "ops") as c:
        await c.open_only_dlq(4, "four entries")
        await c.press("space", "down", "space")  # the first (the cursor moves down itself), then the third
        rows = c.rows("#entries-table")
        assert [row[0] for row in rows] == ["✓", " ", "✓", " "]
        chosen = sorted(row[1] for row in rows if row[0] == "✓")
        assert chosen == ["m1", "m3"]  # shown oldest first: the right end of the list
        await c.press("r")
        await c.wait(lambda: "2 of 2" in c.text("#preview"), "preview of two")
        await c.press("y")
        await c.wait(lambda: c.text("#summary").startswith("sent"), "summary")
        assert sorted(json.loads(v)["id"] for v in client.lrange("mail", 0, -1)) == chosen
        assert client.llen("mail:dlq") == 2


async def test_publish_form_sends_templated_messages(tmp_path: Path, redis_db: tuple[str, redis.Redis]) -> None:
    url, client = redis_db
    async with console(redis_profile(tmp_path, url), "ops") as c:
        await c.wait(lambda: c.screen.snapshots["r"].capabilities, "capabilities")
        await c.press("n")
        await c.wait_screen("PublishScreen")
        await c.type("inbox")
        c.app.screen.query_one("#body").text = '{"n": {{seq}}, "id": "{{uuid}}"'  # type: ignore[attr-defined]
        count = c.app.screen.query_one("#count")
        count.value = "3"  # type: ignore[attr-defined]
        await c.pilot.pause()
        assert c.text("#json-state").startswith("not valid JSON")
        assert c.app.screen.query_one("#require-json").value is True  # type: ignore[attr-defined]
        await c.press("ctrl+s")
        assert "Require valid JSON" in c.text("#result")  # refused: the closing brace is missing
        assert client.llen("inbox") == 0
        c.app.screen.query_one("#body").text = '{"n": {{seq}}, "id": "{{uuid}}"}'  # type: ignore[attr-defined]
        await c.pilot.pause()
        assert c.text("#json-state") == "valid JSON"  # checked as the first message will carry it
        await c.press("ctrl+s")
        await c.wait_note("sent 3 message(s) to r / inbox")
        sent = [json.loads(value) for value in client.lrange("inbox", 0, -1)]
        assert sorted(message["n"] for message in sent) == [1, 2, 3]
        assert len({message["id"] for message in sent}) == 3


async def test_tail_pane_pauses_filters_exports_and_shows_details(
    tmp_path: Path, redis_db: tuple[str, redis.Redis]
) -> None:
    url, client = redis_db
    for i in range(40):
        client.xadd("events", {"data": json.dumps({"n": i}).encode(), "key": f"k{i % 4}".encode(), "trace": b"t-1"})
    async with console(redis_profile(tmp_path, url), "ops") as c:
        await c.wait_rows("#dest-table", lambda r: len(r) == 1, "the stream")
        await c.press("t")
        await c.wait_screen("TailStartScreen")
        start = c.app.screen.query_one("#start")
        start.value = "beginning"  # type: ignore[attr-defined]
        await c.press("enter")
        pane = c.app.query_one("#tail")
        await c.wait(lambda: len(pane.messages) == 40, "40 messages shown")  # type: ignore[attr-defined]
        assert "received 40 · shown 40" in c.text("#tail-info")

        await c.press("space")
        await c.wait(lambda: "paused" in c.text("#tail-info"), "paused")
        client.xadd("events", {"data": b'{"n": 40}'})
        await c.pilot.pause(0.5)
        assert len(pane.messages) == 40  # type: ignore[attr-defined]
        await c.press("space")
        await c.wait(lambda: len(pane.messages) == 41, "the 41st after resuming")  # type: ignore[attr-defined]

        await c.press("slash")
        await c.type("key:k1")
        await c.press("enter")
        assert len(pane.messages) == 10  # type: ignore[attr-defined]
        assert "shown 10" in c.text("#tail-info")

        await c.press("c")
        assert c.app.clipboard == '{"n": 37}'  # the newest shown message's value, as it is
        assert c.notes[-1] == "copied 9 bytes as text"

        await c.press("enter")
        await c.wait_screen("MessageScreen")
        headers = c.rows("#headers")
        assert ["trace", "t-1"] in headers
        await c.press("escape")

        export = tmp_path / "tail.jsonl"
        await c.press("e")
        await c.wait_screen("PromptScreen")
        # The whole buffer, and the prompt says so while a filter narrows the view.
        assert str(c.app.screen.dialog_title) == (  # type: ignore[attr-defined]
            "Export the buffer: 41 messages to JSON Lines (the filter shows 10; it does not apply)"
        )
        c.app.screen.query_one("#prompt").value = str(export)  # type: ignore[attr-defined]
        await c.press("enter")
        await c.wait_note("exported 41 messages")
        lines = [json.loads(line) for line in export.read_text().splitlines()]
        assert [json.loads(line["value"])["n"] for line in lines] == list(range(41))
        assert lines[1]["key"] == "k1" and lines[0]["broker"] == "r"


async def test_broker_killed_mid_session_shows_unreachable_then_recovers(tmp_path: Path) -> None:
    broker = LocalRedis(tmp_path / "redis", name="flaky").start()
    try:
        redis.Redis(port=broker.port).rpush("jobs", b"1", b"2")
        config = profile_file(tmp_path, [{"name": "flaky", "kind": "redis", "url": broker.url, "timeout": 1.0}])
        async with console(config, "ops") as c:
            await c.wait(lambda: c.text("#status").startswith("1/1 brokers up"), "connected")
            broker.kill()
            await c.wait(lambda: c.text("#status").startswith("0/1 brokers up"), "unreachable", timeout=15)
            status = c.text("#status")
            assert "flaky" in status
            tree = c.app.query_one("#tree")
            assert "down" in str(tree.root.children[0].label)  # type: ignore[attr-defined]
            await c.press("2", "3", "1")  # the rest of the console keeps answering
            assert c.rows("#dest-table")[0][1] == "jobs"  # last known data stays
            broker.start()
            await c.press("ctrl+r")  # skip the backoff
            await c.wait(lambda: c.text("#status").startswith("1/1 brokers up"), "recovered", timeout=15)
            await c.wait_rows("#dest-table", lambda r: r == [], "fresh (empty) data after the restart")
    finally:
        broker.stop()


async def test_readonly_profile_refuses_every_write_key_and_palette_command(
    tmp_path: Path, redis_db: tuple[str, redis.Redis]
) -> None:
    url, client = redis_db
    client.rpush("q", b"1")
    client.rpush("q:dlq", b'{"id": "d1"}')
    config = redis_profile(tmp_path, url, readonly=True, production=True)
    async with console(config, "ops") as c:
        assert "READ-ONLY" in [str(label.content) for label in c.app.query("#profile-bar Label") if label.display]
        assert c.app.query_one("#profile-bar").has_class("-production")
        await c.wait_rows("#dest-table", lambda r: len(r) == 2, "destinations")

        await c.press("n")
        await c.wait_note("profile 'ops' is readonly: publish refused")
        await c.press("x")
        await c.wait_note("profile 'ops' is readonly: purge refused")
        await c.press("4")
        await c.wait_rows("#dlq-table", lambda r: len(r) == 1, "the DLQ")
        await c.press("r")
        await c.wait_note("profile 'ops' is readonly: replay refused")
        await c.press("enter")
        await c.wait_rows("#entries-table", lambda r: len(r) == 1, "the entry")
        await c.press("space", "d")
        await c.wait_note("profile 'ops' is readonly: delete refused")
        await c.press("D")
        await c.wait_note("profile 'ops' is readonly: duplicate refused")
        await c.press("2")
        await c.wait_rows("#lag-table", lambda r: len(r) >= 1, "a backlog row")
        await c.press("o")
        await c.wait_note("profile 'ops' is readonly: reset offsets refused")
        assert type(c.app.screen).__name__ == "ConsoleScreen"  # no dialog opened for any of them

        await c.press("3", "t")  # reading is allowed: tail, then try to duplicate from the tail and the detail
        await c.wait_screen("TailStartScreen")
        c.app.screen.query_one("#destination").value = "q"  # type: ignore[attr-defined]
        c.app.screen.query_one("#start").value = "beginning"  # type: ignore[attr-defined]
        await c.press("enter")
        pane = c.app.query_one("#tail")
        await c.wait(lambda: len(pane.messages) == 1, "the tailed message")  # type: ignore[attr-defined]
        notes = len(c.notes)
        await c.press("d")
        await c.wait(lambda: len(c.notes) > notes, "a refusal")
        assert c.notes[-1] == "profile 'ops' is readonly: duplicate refused"
        await c.press("enter")
        await c.wait_screen("MessageScreen")
        notes = len(c.notes)
        await c.press("d")
        await c.wait(lambda: len(c.notes) > notes, "a refusal in the detail")
        assert c.notes[-1] == "profile 'ops' is readonly: publish refused"
        await c.press("escape")

        await c.press("ctrl+p")
        await c.type("purge")
        await c.pilot.pause(0.5)
        await c.press("enter")
        await c.wait_note("profile 'ops' is readonly: purge refused")
        assert client.llen("q") == 1 and client.llen("q:dlq") == 1


async def test_enter_on_a_lists_backlog_shows_the_list_not_a_group_error(
    tmp_path: Path, redis_db: tuple[str, redis.Redis]
) -> None:
    url, client = redis_db
    client.rpush("emails", b"first", b"second", b"third")
    async with console(redis_profile(tmp_path, url), "ops") as c:
        await c.press("2")
        await c.pick("#lag-table", 2, "emails", "the list's backlog")
        assert c.rows("#lag-table")[c.app.query_one("#lag-table").cursor_row][1] == "(list)"  # type: ignore[attr-defined]
        await c.press("enter")
        await c.wait_screen("GroupScreen")
        await c.wait(lambda: c.app.screen.query("#summary"), "the list's details")
        assert "backlog (list) of emails on r" in str(c.app.screen.dialog_title)  # type: ignore[attr-defined]
        assert ["length", "3"] in c.rows("#summary")
        sections = [str(label.content) for label in c.app.screen.query(".section-title")]
        # The backlog row (lag 3), then the list as read now: its summary under a heading of its own.
        assert sections == ["Partitions of emails at the last poll", "emails now", "Next to be consumed"]
        backlog, entries = (c.rows_of(table) for table in c.app.screen.query("DataTable.section"))
        assert backlog[0][3] == "3" and [row[1] for row in entries] == ["third", "second", "first"]
        assert not c.app.screen.query_one("#state").display  # loaded, no "cannot describe" error


async def test_a_small_tail_buffer_counts_what_fell_out_of_view(
    tmp_path: Path, redis_db: tuple[str, redis.Redis]
) -> None:
    url, client = redis_db
    for i in range(12):
        client.xadd("events", {"data": str(i).encode()})
    async with console(redis_profile(tmp_path, url), "ops", tail_capacity=5) as c:
        await c.wait_rows("#dest-table", lambda r: len(r) == 1, "the stream")
        c.screen.start_tail("r", "events", StartPosition.parse("beginning"))
        pane = c.app.query_one("#tail")
        await c.wait(lambda: "received 12" in c.text("#tail-info"), "every message received")
        await c.wait(lambda: "dropped from view 7" in c.text("#tail-info"), "the drop count")
        assert "shown 5" in c.text("#tail-info")
        assert [m.value for m in pane.messages.messages] == [b"7", b"8", b"9", b"10", b"11"]  # type: ignore[attr-defined]
        await c.press("e")
        await c.wait_screen("PromptScreen")
        assert "7 older messages were dropped from the buffer" in c.text("PromptScreen .muted")


async def test_select_all_replays_every_entry_and_says_how_many(
    tmp_path: Path, redis_db: tuple[str, redis.Redis]
) -> None:
    url, client = redis_db
    client.rpush("jobs:dlq", *[json.dumps({"id": f"j{i}"}).encode() for i in range(4)])
    async with console(redis_profile(tmp_path, url), "ops") as c:
        await c.open_only_dlq(4, "four entries")
        await c.press("a")
        assert [row[0] for row in c.rows("#entries-table")] == ["✓"] * 4
        assert "4 selected · r: requeue the selected" in c.text("#entries-info")
        await c.press("a")  # again: none
        assert "0 selected" in c.text("#entries-info")
        await c.press("a", "r")
        await c.wait_screen("ReplayScreen")
        assert str(c.app.screen.dialog_title) == "Requeue 4 selected from r / jobs:dlq"  # type: ignore[attr-defined]
        await c.wait(lambda: "4 of 4" in c.text("#preview"), "the preview")
        assert c.text("#preview") == "requeue 4 of 4 dead letter(s): 4 to jobs"
        await c.press("y")
        await c.wait(lambda: c.text("#summary").startswith("sent"), "summary")
        assert c.text("#summary") == "sent 4, failed 0, skipped 0"
        assert sorted(json.loads(v)["id"] for v in client.lrange("jobs", 0, -1)) == ["j0", "j1", "j2", "j3"]


async def test_delete_of_selected_dead_letters_removes_only_those(
    tmp_path: Path, redis_db: tuple[str, redis.Redis]
) -> None:
    url, client = redis_db
    client.rpush("mail:dlq", *[json.dumps({"id": f"m{i}"}).encode() for i in range(4)])
    async with console(redis_profile(tmp_path, url), "ops") as c:
        await c.open_only_dlq(4, "four entries")
        await c.press("space", "space")  # the first two shown (the oldest: m0, m1)
        chosen = sorted(row[1] for row in c.rows("#entries-table") if row[0] == "✓")
        await c.press("d")
        await c.wait_screen("ConfirmScreen")
        assert client.llen("mail:dlq") == 4  # nothing before the confirmation
        await c.press("y")
        await c.wait_note("deleted 2 of 2 dead letter(s) from mail:dlq")
        left = sorted(json.loads(v)["id"] for v in client.lrange("mail:dlq", 0, -1))
        assert len(chosen) == 2 and left == sorted({"m0", "m1", "m2", "m3"} - set(chosen))
        await c.wait_rows("#entries-table", lambda r: sorted(row[1] for row in r) == left, "the entries reloaded")
        assert client.llen("mail") == 0  # deleted, not requeued


async def test_duplicate_from_the_message_detail_prefills_the_form_and_arrives(
    tmp_path: Path, redis_db: tuple[str, redis.Redis]
) -> None:
    url, client = redis_db
    client.xadd("events", {"data": b'{"order": 7}', "key": b"k7", "trace": b"t-7"})
    async with console(redis_profile(tmp_path, url), "ops") as c:
        await c.wait(lambda: c.screen.snapshots["r"].capabilities, "capabilities")
        c.screen.start_tail("r", "events", StartPosition.parse("beginning"))
        pane = c.app.query_one("#tail")
        await c.wait(lambda: len(pane.messages) == 1, "the message")  # type: ignore[attr-defined]
        await c.press("enter")
        await c.wait_screen("MessageScreen")
        await c.press("d")
        await c.wait_screen("PublishScreen")
        form = c.app.screen
        assert form.query_one("#destination").value == "events"  # type: ignore[attr-defined]
        assert form.query_one("#key").value == "k7"  # type: ignore[attr-defined]
        assert form.query_one("#headers").text == "trace=t-7"  # type: ignore[attr-defined]
        assert form.query_one("#body").text == '{"order": 7}'  # type: ignore[attr-defined]
        await c.press("ctrl+s")
        await c.wait_note("sent 1 message(s) to r / events")
        entries = client.xrange("events")
        assert len(entries) == 2
        assert entries[1][1] == {b"data": b'{"order": 7}', b"key": b"k7", b"trace": b"t-7"}


async def test_the_backend_loop_steps_aside_while_a_key_is_answered_then_polls_on(
    tmp_path: Path, redis_db: tuple[str, redis.Redis]
) -> None:
    url, client = redis_db
    client.rpush("orders", b"a")
    async with console(redis_profile(tmp_path, url), "ops") as c:
        await c.wait_rows("#dest-table", lambda r: any(row[1] == "orders" for row in r), "orders")
        backend = c.app.backend
        hold = backend.key_hold
        stepped: list[str] = []
        step_aside = hold.step_aside

        def watched() -> None:
            stepped.append(threading.current_thread().name)
            step_aside()

        hold.step_aside = watched  # type: ignore[method-assign]
        await c.press("s")
        await c.wait(lambda: "mqtui-backend" in stepped, "the backend's loop stepping aside for the key")
        await c.wait(lambda: not hold.held, "the key answered, the hold ended")
        client.rpush("orders", b"b", b"c")  # polling goes on after the key
        await c.wait_rows("#dest-table", lambda r: any(row[1:4] == ["orders", "list", "3"] for row in r), "depth 3")
