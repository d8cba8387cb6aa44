"""The console on an incident snapshot: the same panes, rows, filters and drill-ins as the console the
snapshot was taken from, readonly, with no broker; and the `S` key writing such a snapshot."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from textual.message import Message as TextualMessage
from textual.notifications import Notify

from mqtui.model import StartPosition
from mqtui.services.incident_reader import read_document
from mqtui.ui.app import MqtuiApp
from tests.console.fixtures import LETTERS, MESSAGES, NOW, static_backend
from tests.console.offline_fixtures import fixed_snapshot_file, offline_console
from tests.console.pilot import Console


async def lag_rows(c: Console) -> list[list[str]]:
    await c.press("2")
    return await c.wait_rows("#lag-table", lambda rows: len(rows) == 6, "six lag rows")


async def test_offline_console_shows_the_recorded_rows_readonly(tmp_path: Path) -> None:
    path = fixed_snapshot_file(tmp_path / "incident.json", alert=False)  # an alert flags rows: not live here
    live = MqtuiApp(static_backend())
    async with live.run_test(size=(120, 36)) as pilot:
        expected = await lag_rows(Console(live, pilot, []))
        await pilot.press("1")
        destinations = Console(live, pilot, []).rows("#dest-table")
    async with offline_console(path) as c:
        assert c.text("#offline") == "offline snapshot of prod taken at 2024-05-01 12:00:00 UTC"
        assert c.app.query_one("#profile-bar").has_class("-readonly")
        assert await c.wait_rows("#dest-table", bool, "destinations") == destinations
        assert await lag_rows(c) == expected  # lag, time lag, trend and state as they were at 12:00:00
        await c.press("slash")
        await c.type("billing")
        await c.press("enter")
        assert [row[1] for row in c.rows("#lag-table")] == ["billing"]
        await c.press("enter")  # the group's drill-in answers from the document
        await c.wait_screen("GroupScreen")
        await c.wait(lambda: c.app.screen.query("#summary"), "the recorded group")
        assert ["members", "billing-1, billing-2"] in c.rows("#summary")
        since = NOW - timedelta(seconds=45)  # the chart's window: the points after it, the gap kept
        assert [p.lag for p in await c.app.backend.lag_series("orders-kafka", "orders", "billing", since)] == [
            None, 4400, 4500
        ]  # fmt: skip
        await c.press("escape")
        await c.press("n")  # publish: a write, refused as in any readonly profile
        await c.wait_note("readonly: publish refused")
        assert type(c.app.screen).__name__ == "ConsoleScreen"


async def test_recorded_tail_and_dead_letters_are_in_their_panes(tmp_path: Path) -> None:
    async with offline_console(fixed_snapshot_file(tmp_path / "incident.json")) as c:
        await c.press("3")
        tail = c.app.query_one("#tail")
        await c.wait(lambda: len(tail.messages) == len(MESSAGES), "every recorded message")  # type: ignore[attr-defined]
        assert [m.value for m in tail.buffer] == [m.value for m in MESSAGES]  # type: ignore[attr-defined]
        assert "recorded in the snapshot: 39 messages" in c.text("#tail-info")
        await c.press("4")
        entries = await c.wait_rows("#entries-table", lambda rows: len(rows) == len(LETTERS), "recorded entries")
        assert [row[1] for row in entries] == ["0:17", "0:18", "0:19"]  # after the selection mark
        await c.press("r")  # replay: refused, and nothing could have been sent anywhere
        await c.wait_note("readonly")
        await c.press("S")  # the file it came from is that snapshot already
        await c.wait_note("nothing new to write: this is the offline snapshot of prod taken at")
        await c.press("1", "t")  # a tail of anything: only the recorded one exists
        await c.wait_screen("TailStartScreen")


async def test_alerts_recorded_are_open_offline(tmp_path: Path) -> None:
    async with offline_console(fixed_snapshot_file(tmp_path / "incident.json")) as c:
        await c.wait(lambda: "1 alert" in c.text("#alert-badge"), "the recorded alert in the header")
        await c.press("2")
        rows = await c.wait_rows("#lag-table", lambda rows: len(rows) == 6, "six lag rows")
        assert [row[1] for row in rows if row[0].startswith("!")] == ["analytics"]


async def test_s_writes_what_is_shown_and_it_reopens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = MqtuiApp(static_backend())
    notes: list[str] = []

    def hook(message: TextualMessage) -> None:
        if isinstance(message, Notify):
            notes.append(str(message.notification.message))

    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        c = Console(app, pilot, notes)
        c.screen.start_tail("orders-kafka", "orders", StartPosition("beginning"))
        await c.wait(lambda: len(c.screen.tail_pane.buffer) == len(MESSAGES), "the fixed tail")
        await c.press("S")
        note = await c.wait_note("snapshot written to ")
    written = tmp_path / "mqtui-snapshot-prod-20240501-120000Z.json"
    assert note == f"snapshot written to {written}"
    incident = read_document(written)
    assert incident.tail is not None and incident.tail.messages == tuple(MESSAGES)
    assert incident.snapshots == tuple(static_backend().snapshots().values())
    assert incident.profile.brokers[0].settings["url"] == "127.0.0.1:1"


async def test_a_profile_name_with_markup_is_shown_as_text(tmp_path: Path) -> None:
    path = fixed_snapshot_file(tmp_path / "incident.json")
    document = json.loads(path.read_text())
    document["profile"]["name"] = "[b red]ops[/] [@click=app.quit]"
    path.write_text(json.dumps(document))
    async with offline_console(path) as c:
        assert c.text("#offline").startswith("offline snapshot of [b red]ops[/] [@click=app.quit] taken at")
        assert c.text("#profile") == "profile [b red]ops[/] [@click=app.quit]"
