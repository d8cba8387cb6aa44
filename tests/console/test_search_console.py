"""The Tail pane's filter as an expression, on fixed data: jq narrows the buffer, a bad expression is
one line under the field (with its column) and leaves what is shown as it was, words still work, and a
large buffer is filtered in batches with the count of what was judged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Label, ProgressBar

from mqtui.model import Message, StartPosition
from mqtui.ui.panes.dlq import DeadLettersPane
from mqtui.ui.panes.tail import FILTER_BATCH, TailPane
from mqtui.ui.screens.common import PromptScreen
from mqtui.ui.screens.search import SearchScreen
from mqtui.ui.screens.where import WhereScreen
from tests.console.fixtures import MESSAGES, message
from tests.console.pilot import console_screen
from tests.console.test_snapshots import settle, start_fixed_tail
from tests.console.test_workflows import fixed, requests
from tests.support import until


def tail_pane(pilot: Pilot[Any]) -> TailPane:
    return pilot.app.query_one("#tail", TailPane)


async def type_filter(pilot: Pilot[Any], text: str) -> None:
    field = pilot.app.query_one("#tail-filter")
    field.value = text
    await pilot.pause(0)


async def test_a_jq_filter_narrows_the_tail_and_a_bad_one_says_where_it_is_wrong() -> None:
    async with fixed() as (app, pilot, _posted, _notes):
        await start_fixed_tail(pilot)
        pane = tail_pane(pilot)
        assert len(pane.messages) == len(MESSAGES)
        await pilot.press("slash")
        await type_filter(pilot, '.value.status == "paid" and .value.order < 8')
        assert [m.position for m in pane.messages.messages] == [5, 6, 7]
        assert not app.query_one("#tail-filter-error").display

        await type_filter(pilot, ".value.order ==")  # half typed: said, and the three stay shown
        error = app.query_one("#tail-filter-error")
        assert error.display
        assert str(error.content).startswith("bad expression '.value.order ==': syntax error")
        assert "column" in str(error.content)
        assert [m.position for m in pane.messages.messages] == [5, 6, 7]

        await type_filter(pilot, "key:order-1 paid")  # the shortcuts as before
        assert not error.display
        assert len(pane.messages) == 35
        await type_filter(pilot, "@big")  # no saved filters in this profile: one line naming that
        assert str(error.content) == "no saved filter @big (saved filters: none in this profile)"
        await pilot.press("escape")
        assert len(pane.messages) == len(MESSAGES)


async def test_a_filter_over_a_large_buffer_runs_in_batches_and_keeps_order() -> None:
    total = FILTER_BATCH * 5 + 17
    big: list[Message] = [message(i, b'{"order": %d}' % i) for i in range(total)]
    async with fixed() as (app, pilot, _posted, _notes):
        app.backend.data.messages = {("orders-kafka", "orders"): big}
        console_screen(app).start_tail("orders-kafka", "orders", StartPosition("beginning"))
        pane = tail_pane(pilot)
        await until(lambda: len(pane.buffer) == total, what="the big buffer")
        await pilot.press("slash")
        await type_filter(pilot, ".value.order % 7 == 0")
        await until(lambda: not pane._refiltering, what="the filter done")
        assert [m.position for m in pane.messages.messages] == list(range(0, total, 7))
        assert "filtering" not in str(app.query_one("#tail-info").content)


async def open_search(pilot: Pilot[Any], destination: str = "orders") -> SearchScreen:
    table = pilot.app.query_one("#dest-table", DataTable)
    names = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
    table.move_cursor(row=names.index(destination))
    await pilot.press("f")
    await until(lambda: isinstance(pilot.app.screen, SearchScreen), what="the search dialog")
    assert isinstance(pilot.app.screen, SearchScreen)
    return pilot.app.screen


async def search_for(pilot: Pilot[Any], screen: SearchScreen, where: str, **fields: str) -> str:
    screen.query_one("#search-where", Input).value = where
    for name, value in fields.items():
        screen.query_one(f"#search-{name}", Input).value = value
    screen.query_one("#search-where", Input).focus()
    await pilot.press("enter")
    await until(lambda: not screen.running, what="the search done")
    return str(screen.query_one("#search-state", Label).content)


async def test_the_empty_dialog_says_where_once_and_shows_no_progress_until_a_search() -> None:
    """The placeholder repeated the field's label ("where where: ...") and the bar animated "--%" before
    anything had been asked; a refused search still shows none."""
    async with fixed() as (_app, pilot, _posted, _notes):
        screen = await open_search(pilot)
        field = screen.query_one("#search-where", Input)
        assert field.value == "" and not str(field.placeholder).lower().startswith("where")
        bar = screen.query_one("#search-progress", ProgressBar)
        assert not bar.display
        await pilot.press("enter")  # nothing typed: refused in one line, still no bar
        assert str(screen.query_one("#search-state", Label).content).startswith("where: give an expression")
        assert not bar.display
        await search_for(pilot, screen, "paid")
        assert bar.display and (bar.progress, bar.total) == (39, 39)


async def test_search_dialog_finds_opens_and_exports_matches_with_the_coverage_line(tmp_path: Path) -> None:
    async with fixed() as (app, pilot, _posted, notes):
        screen = await open_search(pilot)
        state = await search_for(pilot, screen, '.value.status == "paid" and .value.order < 8')
        covered = "scanned 39 of 39 messages in orders (everything it held) across 3 partitions, 3 matched"
        assert state.startswith(covered + "; 3 messages could not be evaluated (Cannot index string")  # text values
        table = screen.query_one("#search-results", DataTable)
        assert [str(table.get_row_at(i)[1]) for i in range(table.row_count)] == ["5", "6", "7"]

        state = await search_for(pilot, screen, ".value.order ==")  # a bad one: said, with where, nothing read
        assert state.startswith("bad expression '.value.order ==': syntax error") and "column" in state
        state = await search_for(pilot, screen, "paid", limit="2")
        assert state == (
            "scanned 6 of 39 messages in orders (everything it held) across 3 partitions, 2 matched; "
            "stopped at the limit of 2 matches (33 not searched)"
        )
        assert len(screen.matches) == 2
        bar = screen.query_one("#search-progress", ProgressBar)
        assert (bar.progress, bar.total) == (6, 39)  # the bar ends where the coverage line does, not at 0%

        table.focus()
        await pilot.press("enter")  # the first match, in full
        await until(lambda: type(app.screen).__name__ == "MessageScreen", what="the message view")
        await pilot.press("escape")
        await until(lambda: app.screen is screen, what="back to the search")

        export = tmp_path / "matches.jsonl"
        await pilot.press("ctrl+e")
        await until(lambda: isinstance(app.screen, PromptScreen), what="the export prompt")
        app.screen.query_one("#prompt", Input).value = str(export)
        await pilot.press("enter")
        await until(lambda: any("exported 2 matches" in n for n in notes), what="exported")
        lines = [json.loads(line) for line in export.read_text().splitlines()]
        assert [line["position"] for line in lines] == [m.position for m in screen.matches]

        state = await search_for(pilot, screen, "paid", **{"from": "20", "to": "10"})  # swapped: refused
        assert state == "the range ends before it starts (from 20, to 10): nothing would be searched"


async def test_dead_letters_chosen_by_an_expression_are_the_only_ones_replayed() -> None:
    async with fixed() as (app, pilot, _posted, _notes):
        await pilot.press("4", "down", "enter")  # orders.DLQ: three letters
        await settle(pilot)
        await until(lambda: len(app.query_one("#dlq", DeadLettersPane).listing.entries) == 3, what="entries")
        await pilot.press("w")
        await until(lambda: isinstance(app.screen, WhereScreen), what="the where dialog")
        where = app.screen
        where.query_one("#where", Input).value = '.reason | test("TIMEOUT"; "i")'
        await pilot.pause(0)
        assert str(where.query_one("#where-state", Label).content) == "1 of 3 dead letters read match"
        preview = where.query_one("#where-preview", DataTable)
        assert [str(preview.get_row_at(i)[0]) for i in range(preview.row_count)] == ["0:17"]
        await pilot.press("enter")
        await until(lambda: not isinstance(app.screen, WhereScreen), what="closed")
        pane = app.query_one("#dlq", DeadLettersPane)
        assert pane.marked == {"0:17"}
        assert '1 selected where .reason | test("TIMEOUT"; "i")' in str(app.query_one("#entries-info", Label).content)

        await pilot.press("r")
        await until(lambda: type(app.screen).__name__ == "ReplayScreen", what="the replay preview")
        await until(lambda: "1 of 1" in str(app.screen.query_one("#preview", Label).content), what="preview")
        await pilot.press("y")
        await until(lambda: any(r[0] == "replay" for r in requests(app)), what="the replay sent")
        assert [r for r in requests(app) if r[0] == "replay"] == [
            ("replay", ("orders-kafka", "orders.DLQ", None, ("0:17",)))
        ]
