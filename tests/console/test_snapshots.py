"""How each pane looks, in the dark and the light theme, with fixed data (pytest-textual-snapshot).

The data is fixed (tests/console/fixtures.py) and so is the clock, so a difference is a change in
the console's look. Update after a deliberate change with `pytest tests/console --snapshot-update`
and look at the report before committing the new pictures.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from textual.pilot import Pilot

from mqtui.model import StartPosition
from mqtui.ui.app import MqtuiApp
from tests.console.fixtures import MESSAGES, SCAN_NOTICE, FixedBackend, static_backend
from tests.console.pilot import console_screen

SIZE = (120, 36)
THEMES = ["mqtui-dark", "mqtui-light"]


def fixed_app(**options: object) -> MqtuiApp:
    app = MqtuiApp(static_backend(**options))  # type: ignore[arg-type]
    app.animation_level = "none"  # the tab underline would glide for 0.3 s after each pane switch
    return app


async def settle(pilot: Pilot) -> None:  # type: ignore[type-arg]
    """Until the fixed snapshots are drawn and every widget is idle (no fixed sleep: the data is fixed)."""
    app = pilot.app
    assert isinstance(app, MqtuiApp) and isinstance(app.backend, FixedBackend)
    delivered = app.backend.data.snapshots
    screen = console_screen(app)
    for _ in range(200):
        if all(screen.snapshots.get(s.name) is s for s in delivered) and screen.drawn:
            break
        await pilot.pause(0.02)
    await pilot.pause()


async def start_fixed_tail(pilot: Pilot) -> None:  # type: ignore[type-arg]
    """Tail the fixed messages and wait until all of them are shown (no timing in the picture)."""
    console_screen(pilot.app).start_tail("orders-kafka", "orders", StartPosition("beginning"))
    pane = pilot.app.query_one("#tail")
    for _ in range(200):
        if len(pane.messages) == len(MESSAGES):  # type: ignore[attr-defined]
            break
        await pilot.pause(0.05)
    await pilot.pause()


def show(*keys: str, tail: bool = False, after: tuple[str, ...] = ()) -> Callable[[Pilot], Awaitable[None]]:  # type: ignore[type-arg]
    async def run(pilot: Pilot) -> None:  # type: ignore[type-arg]
        await settle(pilot)
        if tail:
            await start_fixed_tail(pilot)
            await pilot.press("up", "up")  # off the newest message: the list stops following
        await pilot.press(*keys)
        await settle(pilot)
        await pilot.press(*after)
        await settle(pilot)

    return run


PANES = {
    "destinations": show(),
    "lag": show("2"),
    "tail": show(tail=True),
    "dead_letters": show("4", "down", "enter"),
}


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("pane", list(PANES))
def test_pane(snap_compare, pane: str, theme: str) -> None:  # type: ignore[no-untyped-def]
    app = fixed_app(theme=theme, notices=())
    assert snap_compare(app, terminal_size=SIZE, run_before=PANES[pane])


def test_production_readonly_header_and_narrow_terminal(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = fixed_app(readonly=True, production=True)
    assert snap_compare(app, terminal_size=(100, 30), run_before=show())


def test_replay_preview(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = fixed_app()
    assert snap_compare(app, terminal_size=SIZE, run_before=show("4", "down", "enter", after=("r",)))


def test_message_detail_with_hostile_headers(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = fixed_app(theme="mqtui-light")

    async def run(pilot: Pilot) -> None:  # type: ignore[type-arg]
        await settle(pilot)
        await start_fixed_tail(pilot)
        await pilot.press("home", "down", "down", "enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


def test_wide_terminal_shows_the_broker_tree(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = fixed_app()
    assert snap_compare(app, terminal_size=(160, 40), run_before=show("2"))


def test_a_broker_notice_on_the_status_line(snap_compare) -> None:  # type: ignore[no-untyped-def]
    """A Redis scan that has not gone round the keyspace yet: said after the broker that is down."""
    app = fixed_app(broker_notices=(SCAN_NOTICE,))
    assert snap_compare(app, terminal_size=(200, 40), run_before=show("2"))


def test_search_dialog_with_results(snap_compare) -> None:  # type: ignore[no-untyped-def]
    """The search dialog after a search of the fixed messages: binary, hostile and right-to-left values
    among the matches, drawn as text; the coverage line under the progress bar."""
    from mqtui.ui.screens.search import SearchScreen

    app = fixed_app()

    async def run(pilot: Pilot) -> None:  # type: ignore[type-arg]
        await settle(pilot)
        await pilot.press("1", "f")  # Orders, the deepest destination, is the first row
        for _ in range(200):
            if isinstance(pilot.app.screen, SearchScreen):
                break
            await pilot.pause(0.02)
        screen = pilot.app.screen
        assert isinstance(screen, SearchScreen)
        screen.query_one("#search-where").value = ".position < 12"  # type: ignore[attr-defined]
        await pilot.press("enter")
        for _ in range(200):
            if screen.coverage:
                break
            await pilot.pause(0.02)
        screen.query_one("#search-results").focus()
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)
