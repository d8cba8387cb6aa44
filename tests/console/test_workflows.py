"""Workflows on fixed data: a key makes its pane post a typed message, the console screen's workflow asks
its dialogs in turn, and the write reaches the (fake) broker through the gateway, once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot

from mqtui.ui.app import MqtuiApp
from mqtui.ui.messages import DeadLettersRequested, PurgeRequested, ReplayRequested
from tests.console.fixtures import FixedBackend, static_backend
from tests.console.pilot import console_screen
from tests.console.test_snapshots import settle
from tests.support import until


@asynccontextmanager
async def fixed(**options: Any) -> AsyncIterator[tuple[MqtuiApp, Pilot[Any], list[Message], list[str]]]:
    """The console on fixed data, with every message posted and every notification shown."""
    app = MqtuiApp(static_backend(**options))
    app.animation_level = "none"
    posted: list[Message] = []
    notes: list[str] = []

    def hook(message: Message) -> None:
        posted.append(message)
        if isinstance(message, Notify):
            notes.append(message.notification.message)

    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await settle(pilot)
        yield app, pilot, posted, notes


def sent(posted: list[Message], kind: type[Message]) -> list[Any]:
    """The messages of one kind that were posted, each once (the hook sees a message at every hop it bubbles)."""
    return list({id(m): m for m in posted if isinstance(m, kind)}.values())


def requests(app: MqtuiApp) -> list[tuple[str, tuple[object, ...]]]:
    assert isinstance(app.backend, FixedBackend)
    return app.backend.requests


async def until_screen(pilot: Pilot[Any], name: str) -> None:
    await until(lambda: type(pilot.app.screen).__name__ == name, what=f"{name} on top")


async def test_replay_reads_the_dlq_previews_confirms_sends_once_and_reads_it_again() -> None:
    async with fixed() as (app, pilot, posted, notes):
        await pilot.press("4", "down", "enter")  # orders.DLQ, below the Redis DLQ with more in it
        await settle(pilot)
        [read] = sent(posted, DeadLettersRequested)
        assert (read.dlq.broker, read.dlq.name) == ("orders-kafka", "orders.DLQ")
        await pilot.press("r")
        await until_screen(pilot, "ReplayScreen")
        [replay] = sent(posted, ReplayRequested)
        assert replay.ids is None and replay.verb == "replay"  # nothing selected: the whole DLQ
        await pilot.pause(0.2)
        await pilot.press("y")
        await pilot.pause(0.2)
        assert [r for r in requests(app) if r[0] == "replay"] == [
            ("replay", ("orders-kafka", "orders.DLQ", None, ("0:17", "0:18")))  # what the preview showed
        ]
        await pilot.press("escape")
        await until_screen(pilot, "ConsoleScreen")
        await settle(pilot)
        rereads = sent(posted, DeadLettersRequested)
        assert len(rereads) == 2  # read again after the replay: reading this DLQ costs nothing
        assert not [note for note in notes if "error" in note.lower()]


async def test_purge_in_production_takes_the_typed_name_then_purges_once() -> None:
    async with fixed(production=True) as (app, pilot, posted, notes):
        table = console_screen(app).query_one("#dest-table")
        names = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]  # type: ignore[attr-defined]
        table.move_cursor(row=names.index("queue:emails"))  # type: ignore[attr-defined]
        await pilot.press("x")
        await until_screen(pilot, "ConfirmScreen")
        [purge] = sent(posted, PurgeRequested)
        assert (purge.destination.broker, purge.destination.name) == ("cache-redis", "queue:emails")
        await pilot.press(*"queue", "enter")  # not the whole name: nothing happens
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmScreen" and requests(app) == []
        await pilot.press("colon", *"emails", "enter")
        await until_screen(pilot, "ConsoleScreen")
        await pilot.pause(0.2)
        assert requests(app) == [("purge", ("cache-redis", "queue:emails"))]
        assert notes[-1] == "purged 0 message(s) from queue:emails"
