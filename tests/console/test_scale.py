"""Rows built off the UI thread stay consistent: a poll landing during a pane switch or a filter keystroke
leaves the Destinations table showing exactly the newest snapshot's rows, none lost, none twice.

The tables build their rows in a worker thread from `FilteredTablePane.OFF_THREAD_FROM` records; here
the threshold is lowered so a few hundred rows take that road and the test stays quick.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from textual.coordinate import Coordinate

from mqtui.config import Config
from mqtui.model import Destination, DestinationKind
from mqtui.services.backend import SnapshotListener
from mqtui.services.session import Session
from mqtui.services.snapshot import BrokerSnapshot
from mqtui.ui.app import MqtuiApp
from mqtui.ui.cells import number
from mqtui.ui.panes.destinations import SORTS, DestinationsPane, filter_destinations
from mqtui.ui.panes.filtered import FilteredTablePane
from mqtui.ui.screens.console import ConsoleScreen
from mqtui.ui.widgets.table import SyncTable
from tests.console.fixtures import NOW, FixedBackend, FixedData, fake_adapters, profile, snapshots
from tests.support import until

ROWS = 400


class PolledBackend(FixedBackend):
    """Fixed snapshots at start, then whatever the test hands over, as a poller would from its thread."""

    listener: SnapshotListener | None = None

    def start(self, listener: SnapshotListener) -> None:
        self.listener = listener
        super().start(listener)

    def poll(self, snapshot: BrokerSnapshot) -> None:
        assert self.listener is not None
        self.data.snapshots = [snapshot if s.name == snapshot.name else s for s in self.data.snapshots]
        self.listener(snapshot)


def kafka(poll: int, skip: int = -1) -> BrokerSnapshot:
    """The Kafka broker with ROWS topics whose depths move every poll (so their order does), and topic
    `skip` gone and a new one per poll come."""
    base = snapshots()[0]
    topics = [
        Destination("orders-kafka", f"t{i:03d}", DestinationKind.TOPIC, depth=(i * 37 + poll * 101) % 997)
        for i in range(ROWS)
        if i != skip
    ]
    topics.append(Destination("orders-kafka", f"new{poll}", DestinationKind.TOPIC, depth=5))
    return replace(base, destinations=tuple(topics))


def shown(app: MqtuiApp) -> list[tuple[str, str]]:
    """(row key, depth) of every row of the Destinations table, top to bottom (the key holds the name as
    the broker gave it; the Name cell shows it made safe)."""
    table = app.screen.query_one("#dest-table", SyncTable)
    rows = []
    for index in range(table.row_count):
        key = table.coordinate_to_cell_key(Coordinate(index, 0)).row_key.value or ""
        cells = table.get_row_at(index)
        rows.append((key, cells[3].plain))
    return rows


def expected(
    backend: FixedBackend, text: str = "", *, order: int = 1, data: list[BrokerSnapshot] | None = None
) -> list[tuple[str, str]]:
    """The rows the table should show: of `data` (the backend's newest snapshots if None), filtered by
    `text`, in SORTS[`order`] (1, by depth, is the pane's first)."""
    given = backend.data.snapshots if data is None else data
    everything = [d for s in given for d in s.destinations if not d.internal]
    _label, key, _descending = SORTS[order]
    rows = sorted(filter_destinations(everything, text), key=key)
    return [(repr((d.broker, d.name, d.kind)), number(d.depth).plain) for d in rows]


async def settled(app: MqtuiApp, pane: FilteredTablePane, want: Any) -> list[tuple[str, str]]:
    screen = app.screen
    assert isinstance(screen, ConsoleScreen)

    def probe() -> list[tuple[str, str]]:
        if not screen.drawn or pane.building or pane.stale:
            return []
        rows = shown(app)
        return rows if rows == want() else []

    return await until(probe, what="the table showing the newest snapshot's rows", timeout=20)


def polled_console() -> tuple[MqtuiApp, PolledBackend]:
    """The console on Kafka's first poll and the other fixed brokers, polled when the test says."""
    data = FixedData(snapshots=[kafka(0), *snapshots()[1:]], now=NOW)
    prof = profile()
    session = Session("prod", prof, Config(profiles={"prod": prof}), Path("fixed.toml"), adapters=fake_adapters(data))
    backend = PolledBackend(session, data)
    return MqtuiApp(backend), backend


def hold_builder(pane: FilteredTablePane) -> threading.Event:
    """The pane's builder thread held before each build until the event returned is set."""
    held = threading.Event()
    build = pane.build

    def held_build(view: Any) -> Any:
        if threading.current_thread() is not threading.main_thread():
            held.wait(10)
        return build(view)

    pane.build = held_build  # type: ignore[method-assign]
    return held


async def drawn_then_held(
    app: MqtuiApp, backend: PolledBackend
) -> tuple[DestinationsPane, list[BrokerSnapshot], threading.Event]:
    """Destinations drawn through its builder thread, the snapshots drawn, and the builder then held
    (`hold_builder`)."""
    pane = app.screen.query_one(DestinationsPane)
    pane.off_thread_from = 0
    await settled(app, pane, lambda: expected(backend))
    return pane, list(backend.data.snapshots), hold_builder(pane)


async def test_a_key_while_a_poll_is_built_is_answered_from_the_poll_drawn_then_the_newest_drawn() -> None:
    app, backend = polled_console()
    async with app.run_test(size=(120, 36)) as pilot:
        pane, drawn, held = await drawn_then_held(app, backend)
        backend.poll(kafka(1))
        await until(lambda: pane.building, what="the newer poll's rows being built")
        await pilot.press("s")
        assert pane.sort_index == 2 and pane.answers_keys and pane.building
        assert shown(app) == expected(backend, order=2, data=drawn)  # at once, from the poll drawn
        held.set()
        rows = await settled(app, pane, lambda: expected(backend, order=2))
        assert rows != expected(backend, order=2, data=drawn)  # the newer poll, in the key's order


async def test_a_pane_shown_again_shows_the_rows_it_drew_at_once_then_the_newest() -> None:
    app, backend = polled_console()
    async with app.run_test(size=(120, 36)) as pilot:
        pane, drawn, held = await drawn_then_held(app, backend)
        await pilot.press("2")
        backend.poll(kafka(1))  # lands while Destinations is hidden
        screen = app.screen
        assert isinstance(screen, ConsoleScreen)
        await until(lambda: bool(screen.drawn and pane.stale), what="the hidden pane told of the poll")
        await pilot.press("1")
        assert pane.active and not pane.stale and pane.building
        assert shown(app) == expected(backend, data=drawn)  # at once, the rows it drew
        held.set()
        await settled(app, pane, lambda: expected(backend))


async def test_the_rows_of_filters_typed_before_are_made_ahead_for_each_poll() -> None:
    app, backend = polled_console()
    async with app.run_test(size=(120, 36)) as pilot:
        pane = app.screen.query_one(DestinationsPane)
        pane.off_thread_from = 0
        await settled(app, pane, lambda: expected(backend))
        await pilot.press("slash", "t", "0", "backspace", "backspace")  # "t0" typed, then cleared
        await settled(app, pane, lambda: expected(backend))
        made: list[tuple[str, bool]] = []
        """(filter, made on the UI thread) of each row set made of the newer poll."""
        made_when_drawn: list[tuple[str, bool]] = []
        rows, apply = pane._rows, pane._apply

        def watched(view: Any, *args: Any) -> Any:
            if view.snapshots[0] is newer:
                made.append((view.filter_text, threading.current_thread() is threading.main_thread()))
            return rows(view, *args)

        def watched_apply(request: Any, *args: Any) -> None:
            if request.view.snapshots[0] is newer:
                made_when_drawn.extend(made)
            apply(request, *args)

        pane._rows = watched  # type: ignore[method-assign]
        pane._apply = watched_apply  # type: ignore[method-assign]
        newer = kafka(1)
        backend.poll(newer)
        await settled(app, pane, lambda: expected(backend))
        assert ("t0", False) in made_when_drawn  # made in the builder thread before the poll was drawn
        await pilot.press("t", "0")
        await settled(app, pane, lambda: expected(backend, "t0"))
        assert [filter_text for filter_text, here in made if here] == []  # both keystrokes answered from them


async def test_a_poll_during_a_pane_switch_or_a_filter_keystroke_leaves_the_table_consistent() -> None:
    app, backend = polled_console()
    async with app.run_test(size=(120, 36)) as pilot:
        pane = app.screen.query_one(DestinationsPane)
        pane.off_thread_from = 0  # every redraw through the worker thread
        await settled(app, pane, lambda: expected(backend))

        await pilot.press("2")  # away to Lag; a poll lands while Destinations is hidden
        backend.poll(kafka(1, skip=7))
        await pilot.press("1")  # back, while that poll is still on its way
        rows = await settled(app, pane, lambda: expected(backend))
        assert len(rows) == len(set(rows)) == ROWS - 1 + 1 + 4  # t007 gone, new1 come, and Redis's four
        assert repr(("orders-kafka", "t007", DestinationKind.TOPIC)) not in {key for key, _depth in rows}

        await pilot.press("slash", "t", "0")
        backend.poll(kafka(2, skip=9))  # lands between two keystrokes
        await pilot.press("1")
        rows = await settled(app, pane, lambda: expected(backend, "t01"))
        assert len(rows) == len({key for key, _depth in rows}) == 10  # t010 … t019, each once
