"""Dialogs and cells with fixed data: a dialog's own footer, its keys remapped from the config, what `c`
copies, the command palette over every dialog, and the oldest dead letter's age."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from rich.text import Text
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.screen import Screen

from mqtui.model import DeadLetterQueue, DestinationKind, Detail, Message, ReplayItem
from mqtui.safetext import hexdump
from mqtui.ui.app import MqtuiApp
from mqtui.ui.panes.dlq import oldest_cell
from mqtui.ui.screens.common import ConfirmScreen, DetailScreen, KeysScreen, ProfilesScreen, PromptScreen
from mqtui.ui.screens.message import MessageScreen
from mqtui.ui.screens.publish import PublishDraft, PublishScreen
from mqtui.ui.screens.replay import ReplayScreen
from mqtui.ui.screens.request import RequestScreen
from mqtui.ui.screens.reset import ResetOffsetsScreen
from mqtui.ui.screens.tailstart import TailStartScreen
from tests.console.fixtures import MESSAGES, NOW, static_backend
from tests.console.pilot import console_screen
from tests.console.test_snapshots import settle, start_fixed_tail


@asynccontextmanager
async def fixed_console(**options: Any) -> Iterator[tuple[MqtuiApp, Pilot[Any], list[str]]]:  # type: ignore[misc]
    app = MqtuiApp(static_backend(**options))
    app.animation_level = "none"
    notes: list[str] = []

    def hook(message: object) -> None:
        if isinstance(message, Notify):
            notes.append(message.notification.message)

    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await settle(pilot)
        yield app, pilot, notes


def footer(app: MqtuiApp) -> list[tuple[str, str]]:
    """(key, label) of each key the footer of the screen on top shows."""
    return [(key.key_display or key.key, key.description) for key in app.screen.query("FooterKey")]  # type: ignore[attr-defined]


async def open_message(app: MqtuiApp, pilot: Pilot[Any], index: int) -> None:
    """The tail of the fixed messages, with the cursor on MESSAGES[index]."""
    await start_fixed_tail(pilot)
    pane = app.query_one("#tail")
    pane.messages.action_first()  # type: ignore[attr-defined]
    pane.messages.action_cursor(index)  # type: ignore[attr-defined]
    await pilot.pause()
    assert pane.selected() is MESSAGES[index]  # type: ignore[attr-defined]


async def test_a_dialog_shows_its_own_keys_not_the_panes() -> None:
    async with fixed_console() as (app, pilot, _notes):
        await pilot.press("2")
        await settle(pilot)
        assert ("o", "Reset offsets") in footer(app)
        await pilot.press("enter")  # the group dialog
        await settle(pilot)
        assert type(app.screen).__name__ == "GroupScreen"
        assert footer(app) == [("esc", "Close"), ("t", "Range")]  # not the Lag pane's "o Reset offsets"
        await pilot.press("o")
        assert type(app.screen).__name__ == "GroupScreen"
        await pilot.press("escape")
        await pilot.press("4", "down", "enter")
        await settle(pilot)
        await pilot.press("r")  # the replay preview
        await settle(pilot)
        assert footer(app) == [("esc", "Cancel"), ("y", "Confirm")]


async def test_dialog_keys_are_remapped_from_the_config_and_listed_by_the_key_list() -> None:
    keys = {"message.copy": "C", "confirm.yes": "Y"}
    async with fixed_console(keys=keys) as (app, pilot, notes):
        assert not any("unknown binding ids" in note for note in notes)
        await open_message(app, pilot, 0)
        await pilot.press("enter")
        await settle(pilot)
        assert ("C", "Copy") in footer(app) and ("c", "Copy") not in footer(app)
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == ""
        await pilot.press("C")
        await pilot.pause()
        assert app.clipboard == MESSAGES[0].value.decode()
        await pilot.press("escape")

        await pilot.press("question_mark")
        await settle(pilot)
        table = app.screen.query_one("DataTable")
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]  # type: ignore[attr-defined]
        titles = [row[1] for row in rows if not row[0] and not row[2]]
        assert titles[:5] == ["Everywhere", "Destinations", "Lag", "Tail", "Dead letters"]
        assert {"Message", "Confirmation", "Publish form", "Replay preview", "Any dialog"} <= set(titles)
        by_id = {row[2]: row[0] for row in rows if row[2]}
        assert by_id["message.copy"] == "C" and by_id["confirm.yes"] == "Y" and by_id["publish.send"] == "^s"
        message_rows = rows[rows.index(["", "Message", ""]) + 1 :][:5]
        assert [row[2] for row in message_rows] == [
            "message.close",
            "message.view",
            "message.raw",
            "message.copy",
            "message.duplicate",
        ]


async def test_copy_takes_the_value_as_text_base64_or_the_chosen_hex_dump() -> None:
    async with fixed_console() as (app, pilot, notes):
        await open_message(app, pilot, 0)  # JSON
        await pilot.press("c")
        await pilot.pause()
        value = MESSAGES[0].value
        assert app.clipboard == value.decode()  # as sent, not re-indented by the JSON view
        assert notes[-1] == f"copied {len(value)} bytes as text"

        await open_message(app, pilot, 1)  # binary, with an ESC
        await pilot.press("c")
        await pilot.pause()
        assert base64.b64decode(app.clipboard) == MESSAGES[1].value
        assert notes[-1] == f"copied {len(MESSAGES[1].value)} bytes as base64 (not UTF-8)"

        await open_message(app, pilot, 2)  # UTF-8 with ESC and BEL: pasted into a terminal, they would act
        await pilot.press("c")
        await pilot.pause()
        assert base64.b64decode(app.clipboard) == MESSAGES[2].value
        assert notes[-1].endswith("as base64 (it holds control characters)")

        await pilot.press("enter")  # the detail of that message, switched to hex view: the dump
        await settle(pilot)
        await pilot.press("v", "v", "v")
        assert str(app.screen.query_one("#body-title").content) == "Body · hex"  # type: ignore[attr-defined]
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == hexdump(MESSAGES[2].value)
        assert notes[-1] == f"copied the hex dump of {len(MESSAGES[2].value)} bytes"
        await pilot.press("escape")

        big = "é" * 200_000  # 400,000 bytes: past the 256 KB the view draws
        message = Message("orders-kafka", "orders", 0, 99, None, None, big.encode())
        console_screen(app).show_message(message)
        await settle(pilot)
        assert "more bytes" in str(app.screen.query_one("#body").content)  # type: ignore[attr-defined]
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == big
        assert notes[-1] == "copied 400,000 bytes as text"


async def never(*_args: object) -> Any:
    raise AssertionError("a dialog that is only opened and closed sent something")


async def empty_plan(_ids: object) -> list[ReplayItem]:
    return []


EVERY_DIALOG: dict[str, Callable[[], Screen[Any]]] = {
    "ConfirmScreen": lambda: ConfirmScreen("Purge", Text("Remove every message?"), expect="orders"),
    "PromptScreen": lambda: PromptScreen("Export the buffer", value="out.jsonl"),
    "DetailScreen": lambda: DetailScreen("orders", detail=Detail("orders-kafka", "orders")),
    "MessageScreen": lambda: MessageScreen(MESSAGES[0]),
    "PublishScreen": lambda: PublishScreen(
        ["orders-kafka"], {"orders-kafka": ["orders"]}, PublishDraft(), send=never, refusal=lambda _broker: None
    ),
    "RequestScreen": lambda: RequestScreen(["events-nats"], {}, None, "", send=never),
    "ReplayScreen": lambda: ReplayScreen(
        "orders-kafka", "orders.DLQ", None, verb="replay", plan=empty_plan, replay=never
    ),
    "ResetOffsetsScreen": lambda: ResetOffsetsScreen("orders-kafka", "billing", "orders", reset=never),
    "TailStartScreen": lambda: TailStartScreen(["orders-kafka"], {"orders-kafka": ["orders"]}, None, ""),
    "KeysScreen": lambda: KeysScreen([("Everywhere", [("q", "Quit mqtui", "app.quit")])]),
    "ProfilesScreen": lambda: ProfilesScreen(["prod"], "prod"),
}


@pytest.mark.parametrize("name", list(EVERY_DIALOG))
async def test_the_palette_opens_and_closes_over_every_dialog(name: str) -> None:
    """A dialog's list of keys once shadowed Textual's palette providers: the palette raised over any dialog."""
    async with fixed_console() as (app, pilot, _notes):
        app.push_screen(EVERY_DIALOG[name]())
        await pilot.pause()
        assert type(app.screen).__name__ == name
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert type(app.screen).__name__ == "CommandPalette"
        await pilot.press("q", "u")  # searches every provider of the screen under it
        await pilot.pause(0.2)
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == name


def test_the_oldest_dead_letter_is_an_age_unknown_or_a_dash_never_blank() -> None:
    now = NOW
    dlq = DeadLetterQueue("b", "q.dlq", DestinationKind.QUEUE, "q", 3, oldest=now - timedelta(minutes=5))
    assert oldest_cell(dlq, now).plain == "5m"
    assert oldest_cell(replace(dlq, oldest=None), now).plain == "unknown"
    assert oldest_cell(replace(dlq, oldest=None, count=None), now).plain == "unknown"
    assert oldest_cell(replace(dlq, oldest=None, count=0), now).plain == "-"
