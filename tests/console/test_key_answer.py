"""Polling and the garbage collector step aside from a key until its answer is on screen, not only until
the key reached the app, and never for long."""

from __future__ import annotations

import asyncio
import gc

from textual import events
from textual.widgets import TabbedContent

from mqtui.ui.app import KEY_ANSWERED_BY
from mqtui.ui.panes.destinations import DestinationsPane
from mqtui.ui.panes.lag import LagPane
from tests.console.test_scale import polled_console
from tests.support import until


async def test_the_holds_end_once_the_pane_a_key_switched_to_is_painted() -> None:
    app, backend = polled_console()
    ends: list[tuple[str, bool]] = []
    """(which hold, whether a frame with the Lag pane shown had been painted)."""
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        tabs = screen.query_one("#tabs", TabbedContent)
        await pilot.pause()
        answered, resume, refresh = backend.key_answered, app.collector.resume, screen._compositor_refresh
        painted: list[bool] = []

        def frame() -> None:
            shown = tabs.active == "tab-lag" and not screen.query_one(LagPane).stale
            refresh()
            painted.append(shown)

        def key_answered() -> None:
            ends.append(("backend", any(painted)))
            answered()

        def resumed() -> None:
            if app.collector.paused_at is not None:
                ends.append(("collector", any(painted)))
            resume()

        screen._compositor_refresh = frame  # type: ignore[method-assign]
        backend.key_answered = key_answered  # type: ignore[method-assign]
        app.collector.resume = resumed  # type: ignore[method-assign]
        frames = screen._update_timer
        go_on = frames.resume
        frames.resume = lambda: None  # type: ignore[method-assign]  # the frame comes late (a slow layout)
        await pilot.press("2")
        assert backend.key_hold.held or ends  # held from the key on
        await asyncio.sleep(KEY_ANSWERED_BY)  # no message left waiting, and the frame not yet painted
        frames.resume = go_on  # type: ignore[method-assign]
        go_on()
        await until(lambda: len(ends) == 2, what="both holds ended")
        assert sorted(ends) == [("backend", True), ("collector", True)]
        assert not backend.key_hold.held and gc.isenabled()


async def test_a_key_whose_answer_never_settles_holds_nothing_for_long() -> None:
    app, backend = polled_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        app._messages_waiting = lambda: True  # type: ignore[method-assign]  # a clock ticking every frame
        await pilot.press("2")
        await until(lambda: not backend.key_hold.held and gc.isenabled(), what="both holds ended", timeout=5)


async def test_letters_typed_in_one_burst_with_slash_go_into_the_filter_not_to_the_pane_commands() -> None:
    app, _backend = polled_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        screen = app.screen
        for key, character in (("slash", "/"), ("o", "o"), ("r", "r"), ("d", "d")):  # as a paste arrives
            app.post_message(events.Key(key, character))
        pane = screen.query_one(DestinationsPane)
        await until(lambda: pane.filter_text == "ord", what="the filter holding every letter typed")
        await pilot.pause()
        assert app.screen is screen  # `r` opened no request dialog
        assert pane.filter_field.has_focus
        await pilot.press("x", "slash")
        assert pane.filter_text == "ordx/"  # in the field, `/` is a character
        await pilot.press("enter", "slash", "escape")  # the field closed: letters are commands again
        assert not pane.has_class("-filtering") and not pane._filter_opening
