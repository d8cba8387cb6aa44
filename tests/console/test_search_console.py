"""The Tail pane's filter as an expression, on fixed data: jq narrows the buffer, a bad expression is
one line under the field (with its column) and leaves what is shown as it was, words still work, and a
large buffer is filtered in batches with the count of what was judged."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from mqtui.model import Message, StartPosition
from mqtui.ui.panes.tail import FILTER_BATCH, TailPane
from tests.console.fixtures import MESSAGES, message
from tests.console.pilot import console_screen
from tests.console.test_snapshots import start_fixed_tail
from tests.console.test_workflows import fixed
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
