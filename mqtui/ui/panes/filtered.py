"""A pane whose table is narrowed by words typed into a filter field that `/` opens, and whose rows are
built off the UI thread once there are many.

Building 10,000 rows of cells, sorting, filtering and finding what changed since the last poll takes
a few frames, so from `OFF_THREAD_FROM` records on a pane does it for a poll in a worker thread: the
UI thread only reads what the rows depend on (`view`, immutable) and applies the result
(`SyncTable.apply`), in a gap between keys. After a key the rows are built at once on the UI thread
(`draw_now`), from rows already made where they can be: the key's answer is the next frame, not a
place in the worker's queue. Results are applied in the order they were asked for and one older than
what is shown is dropped, so a filter keystroke or a sort during a poll never shows an older state over
a newer one. Small tables are built in place: a thread hop would cost a frame for nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any, ClassVar

from textual import events, on, work
from textual.reactive import var
from textual.widgets import Input, Label

from mqtui.services.alerts import AlertBoard
from mqtui.services.keyhold import KeyHold
from mqtui.services.snapshot import BrokerSnapshot
from mqtui.ui.cells import plain
from mqtui.ui.panes.base import Pane
from mqtui.ui.widgets.rowcells import Cells
from mqtui.ui.widgets.table import SyncTable
from mqtui.ui.widgets.tablediff import Change, Layout, Row, RowSet, diff

Rows = list[Row]
log = logging.getLogger("mqtui.ui.panes")


@dataclass(frozen=True)
class TableView:
    """What a pane's rows are built from, read on the UI thread (`FilteredTablePane.view`): immutable,
    so a worker may build from it. Panes add what only their rows depend on."""

    snapshots: tuple[BrokerSnapshot, ...]
    filter_text: str
    sort_index: int
    variables: dict[str, str]
    alerts: AlertBoard
    now: datetime


@dataclass(frozen=True)
class _Request:
    """Rows asked for: what they are built from, and the room the table had."""

    view: Any
    layout: Layout
    rebuild: bool
    asked: int


class RowMemo:
    """What a pane made of one poll's records, by record (`id`): each row, and the words a filter looks
    in. A sort or a filter keystroke then orders and picks rows already made, at 10,000 rows a look-up
    each, instead of working each row out again. Kept while the records are the very same objects
    (`records`, compared by identity) and the look (`look`, by value) is the same."""

    def __init__(self, records: tuple[object, ...], look: object) -> None:
        self.records = records
        self.look = look
        self.rows: dict[int, Row] = {}
        self.words: dict[int, str] = {}
        self.orders: dict[int, list[Any]] = {}
        """The records in each sort order asked for."""
        self.shown: dict[tuple[int, str], tuple[RowSet, Any]] = {}
        """The rows shown for each (sort order, filter) asked for, and what the pane says of them."""
        self.natural: dict[str, tuple[int, ...]] = {}
        """Each column's widest text, by filter (a sort does not change them)."""
        self.look_made: Any = None
        """What the pane makes the rows with (styles, stale brokers…), made once per memo."""

    def holds(self, records: tuple[object, ...], look: object) -> bool:
        mine = self.records
        return (
            len(mine) == len(records)
            and all(a is b for a, b in zip(mine, records, strict=True))
            and (self.look == look)
        )


class _Superseded(Exception):
    """A key drew newer rows at once than those being built in the builder thread."""


#: A pane shown again this soon after it last drew shows those rows at once, the newest built meanwhile.
SHOWN_AGAIN_WITHIN = 5.0
#: Row memos kept (`row_memo`): the poll drawn and the one being built.
MEMOS_KEPT = 2
#: The longest a poll's rows, built, wait for a gap in the keys being pressed to be drawn.
HELD_LONGEST = 1.0

#: Filters shown before the current one whose rows are prepared for each poll (`earlier_filters`).
RECENT_FILTERS = 2

#: The class a subclass gives its filter field; the field is hidden until `/` is pressed.
FILTER_CLASS = "pane-filter"


class FilteredTablePane(Pane):
    """Destinations and Lag filter the same way: typing redraws at once, enter keeps the filter and
    returns to the table, escape clears it. Subclasses compose an `Input` with class `pane-filter`,
    read `filter_text` in `redraw`, and name their table in `table`."""

    DEFAULT_CSS = """
    FilteredTablePane .pane-filter { display: none; }
    FilteredTablePane.-filtering .pane-filter { display: block; }
    """

    sort_index: var[int] = var(0, init=False)
    """Which of the pane's sort orders the rows are in (a pane may start on another)."""
    filter_text: var[str] = var("", init=False)
    """The words typed into the filter field; the table shows only the rows holding every one."""

    OFF_THREAD_FROM: ClassVar[int] = 1_000
    """From this many records (`records(view)`) the rows are built in a worker thread."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.off_thread_from = self.OFF_THREAD_FROM
        self._asked = 0
        self._applied = 0
        self._cells: dict[Hashable, tuple[tuple[Any, ...], Cells]] = {}
        self._lock = threading.Lock()
        self._pending: _Request | None = None
        self._memos: list[RowMemo] = []
        self._drawn: Any = None
        """The view the rows shown were built from."""
        self._drawn_at = 0.0
        self._ui_thread = threading.get_ident()
        self._building = 0
        """The request the builder thread is building."""
        self._builder = False
        self._ahead: Any = None
        """A view drawn whose likely next keys the builder thread prepares (`next_views`)."""
        self.key_hold = KeyHold()
        """Held while the console answers a key or a click (the backend's, set by the console): the
        builder thread steps aside meanwhile (`give_way`)."""
        self._filter_opening = False
        """`/` pressed, and the filter field not yet focused (`on_key`)."""
        self._recent_filters: list[str] = []
        """The filters shown before this one, latest first (`earlier_filters`)."""
        self.key_gap: Callable[[], float] = lambda: 0.0
        """How long until the keys being pressed leave a gap (0: none pressed just now), set by the
        console: a poll's rows built meanwhile are drawn in that gap (`_apply`)."""

    def watch_filter_text(self, before: str, _now: str) -> None:
        if before not in self._recent_filters:
            self._recent_filters = [before, *self._recent_filters][:RECENT_FILTERS]
        self.draw_now()

    def watch_sort_index(self) -> None:
        self.draw_now()

    def draw_now(self, *, shown_again: bool = False) -> None:
        """Draw on the UI thread, whatever the size: after a key (a sort, a filter keystroke, the pane
        shown), whose answer a worker would only delay, queued behind a poll's rows being built. A
        worker building a poll's rows meanwhile waits (`give_way`): the two would only share the
        interpreter's lock, and the key take twice as long.

        While a poll's rows are being built, or when the pane is shown again within
        `SHOWN_AGAIN_WITHIN` of drawing, the key is answered from the poll drawn last, whose rows are
        made already (10,000 rows made afresh would hold the key some 30 ms), and the newer poll is
        then built in the key's order and filter in the builder thread and drawn after it."""
        recent = shown_again and time.monotonic() - self._drawn_at < SHOWN_AGAIN_WITHIN
        answer = self._answer_from_drawn() if self.building or recent else None
        if answer is not None:
            self._draw(rebuild=False, at_once=True, view=answer)
            self._draw(rebuild=False, at_once=False)
        else:
            self._draw(rebuild=False, at_once=True)
        self.stale = False
        self._prepare_after_key()

    def _answer_from_drawn(self) -> Any:
        """The view drawn last in the order and filter asked for now, where it differs from what is asked
        for only in its data (not in the broker shown, the theme or the alerts); else None."""
        drawn = self._drawn
        if drawn is None or self.records(drawn) < self.off_thread_from:
            return None
        answer = self.keys_on(drawn)
        if replace(self.view(), snapshots=drawn.snapshots, now=drawn.now) != answer:
            return None
        return answer

    def shown(self) -> None:
        if self.stale:
            self.draw_now(shown_again=True)

    @property
    def table(self) -> SyncTable:
        raise NotImplementedError

    @property
    def info_label(self) -> Label:
        """The line above the table saying what it holds."""
        raise NotImplementedError

    # -- building rows -----------------------------------------------------------------------------
    def view_fields(self) -> dict[str, Any]:
        """The `TableView` fields every pane's view holds, as they are now."""
        return {
            "snapshots": tuple(self.visible_snapshots()), "filter_text": self.filter_text,
            "sort_index": self.sort_index, "variables": dict(self.app.theme_variables), "alerts": self.alerts,
            "now": self.clock(),
        }  # fmt: skip

    def view(self) -> Any:
        """Everything the rows depend on, read on the UI thread: immutable, so a worker may build from it."""
        raise NotImplementedError

    def records(self, view: Any) -> int:
        """How many records the rows would be built from (what decides where they are built)."""
        raise NotImplementedError

    def build(self, view: Any) -> tuple[Rows, str, tuple[int, ...] | None]:
        """The table's rows, the info line, and each column's widest text where the pane works it out
        without the texts (None: the table measures them), from `view` alone: runs in a worker thread
        for big tables."""
        raise NotImplementedError

    def cells(self, key: Hashable, signature: tuple[Any, ...], make: Callable[..., Cells]) -> Cells:
        """A row's cells, `make(*signature)`: the very object of last time when its record and look
        (`signature`, compared by value) are as they were, which the table then takes as it was
        (`tablediff.diff`)."""
        self.give_way()
        kept = self._cells.get(key)
        if kept is not None and kept[0] == signature:
            return kept[1]
        cells = make(*signature)
        self._cells[key] = (signature, cells)
        return cells

    def give_way(self) -> None:
        """Called by `build` now and then. In the builder thread: wait while a key is answered on the UI
        thread (the two would only share the interpreter's lock, and the key take twice as long), and
        stop building rows older than what a key has drawn since (they would be dropped)."""
        if threading.get_ident() == self._ui_thread:
            return
        self.key_hold.step_aside()
        if self._applied > self._building:
            raise _Superseded

    def keys_on(self, view: Any) -> Any:
        """`view` in the order and filter the keys asked for since."""
        return replace(view, sort_index=self.sort_index, filter_text=self.filter_text)

    @property
    def answers_keys(self) -> bool:
        """Whether the rows shown are in the order and filter asked for (a newer poll may be on its way)."""
        drawn = self._drawn
        return drawn is not None and (drawn.sort_index, drawn.filter_text) == (self.sort_index, self.filter_text)

    def row_memo(self, records: tuple[object, ...], look: object) -> RowMemo:
        """The rows made of these very records in this look, or a new, empty memo (`RowMemo`). Two are
        kept: a key answered from the poll drawn while the next one is built uses both."""
        with self._lock:
            for memo in self._memos:
                if memo.holds(records, look):
                    return memo
            memo = RowMemo(records, look)
            self._memos = [memo, *self._memos[: MEMOS_KEPT - 1]]
            return memo

    def forget_cells_but(self, records: int) -> None:
        """Memory stays bounded: once the kept cells outnumber the records by far, start afresh."""
        if len(self._cells) > 2 * records + 100:
            self._cells = {}

    def restyle(self) -> None:
        self._cells = {}  # the colours are in the cells
        super().restyle()

    @property
    def building(self) -> bool:
        """Whether rows asked for are still being built: the table shows the ones before."""
        return self._applied != self._asked

    def redraw(self, *, rebuild: bool = False) -> None:
        self._draw(rebuild=rebuild, at_once=False)

    def _draw(self, *, rebuild: bool, at_once: bool, view: Any = None) -> None:
        view = self.view() if view is None else view
        self._asked += 1
        if at_once or self.records(view) < self.off_thread_from:
            rows, info, natural = self.build(view)  # cells made by the pane: no `SyncTable.as_cells` pass
            table = self.table
            table.apply(diff(table.shown, rows, table.layout_now(), rebuild=rebuild, natural=natural), rows)
            self._show(self._asked, info, view)
            return
        with self._lock:
            earlier = self._pending
            rebuild = rebuild or (earlier is not None and earlier.rebuild)  # not lost by being superseded
            self._pending = _Request(view, self.table.layout_now(), rebuild, self._asked)
            idle, self._builder = not self._builder, True
        if idle:
            self._build_elsewhere()

    # One builder at a time, and it takes no arguments: Textual keeps a worker's arguments with the
    # worker (and a cancelled one in a cycle with its traceback), so 10,000 rows each time waited for the
    # cycle collector. The builder takes the newest request until none is left; one superseded while
    # being built is still applied (it is newer than what is shown), so polls that come faster than a
    # busy machine builds never starve the table.
    @work(thread=True, group="pane-rows", exit_on_error=False, description="rows")
    def _build_elsewhere(self) -> None:
        while True:
            with self._lock:
                request, self._pending = self._pending, None
                ahead, self._ahead = (self._ahead, None) if request is None else (None, self._ahead)
                if request is None and ahead is None:
                    self._builder = False
                    return
            if request is None:
                self._prepare(ahead)
                continue
            self._building = request.asked
            try:
                self.give_way()  # a key being answered first: its frame is painted with the whole lock
                rows, info, natural = self.build(request.view)
                self.give_way()
                change = diff(self.table.shown, rows, request.layout, rebuild=request.rebuild, natural=natural)
            except _Superseded:
                continue
            except Exception:  # a bug, not bad data: logged, and the table keeps what it shows
                log.exception("building the %s rows failed", self.TITLE)
                continue
            self._prepare(request.view)
            self.app.call_from_thread(self._apply, request, change, rows, info)

    def next_views(self, view: Any) -> tuple[Any, ...]:
        """Views the keys likely pressed next would ask for (the next sort order of a pane whose sort key
        cycles, `earlier_filters`), prepared in the builder thread before a poll's rows are handed over
        and after each key (`_prepare`) by a pane whose `build` keeps what it made."""
        return ()

    def earlier_filters(self, view: Any) -> tuple[Any, ...]:
        """`view` with each filter shown before its own (a backspace, a filter cleared and typed again)."""
        return tuple(replace(view, filter_text=text) for text in self._recent_filters if text != view.filter_text)

    def _prepare(self, view: Any) -> None:
        """In the builder thread: the rows of `next_views(view)` made and kept, so the key that asks for
        one is answered from them. Stops as soon as a key draws (`give_way`). A poll's are made before
        its rows are handed over: a key pressed as they are drawn finds them, and one pressed sooner is
        answered from the poll drawn before (`draw_now`)."""
        self._building = max(self._building, self._applied)
        for ahead in self.next_views(view):
            try:
                self.give_way()
                rows, _info, _natural = self.build(ahead)
                if isinstance(rows, RowSet):
                    rows.parts()
            except _Superseded:
                return
            except Exception:
                log.exception("preparing the %s rows failed", self.TITLE)
                return

    def _prepare_after_key(self) -> None:
        """After a key drew at once: the builder thread prepares what the next key may ask for."""
        drawn = self._drawn
        if drawn is None or self.records(drawn) < self.off_thread_from or not self.next_views(drawn):
            return
        with self._lock:
            self._ahead = drawn
            idle, self._builder = not self._builder, True
        if idle:
            self._build_elsewhere()

    def _apply(self, request: _Request, change: Change, rows: Rows, info: str, held: float = 0.0) -> None:
        if request.asked <= self._applied or not self.is_mounted:
            return  # something newer is shown already
        gap = self.key_gap()
        if gap > 0 and held < HELD_LONGEST:
            self.set_timer(gap, partial(self._apply, request, change, rows, info, held + gap))
            return
        self.table.apply(change, rows)
        self._show(request.asked, info, request.view)

    def _show(self, asked: int, info: str, view: Any) -> None:
        self._applied = asked
        self._drawn = view
        self._drawn_at = time.monotonic()
        label = self.info_label
        if str(label.content) != info:
            label.update(plain(info, None), layout=False)  # one line, as wide as the pane: no new layout
        self.update_bindings()

    @property
    def filter_field(self) -> Input:
        return self.query_one(f".{FILTER_CLASS}", Input)

    def action_filter(self) -> None:
        """`/` is a priority key, answered as it arrives rather than once it has climbed from the table
        to the app: the letters right behind it then find `_filter_opening` set (`on_key`). In the
        field itself it is a character like any other."""
        field = self.filter_field
        if field.has_focus:
            field.insert_text_at_cursor("/")
            return
        self.add_class("-filtering")
        field.value = self.filter_text
        field.focus()
        self._filter_opening = True

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if event.widget is self.filter_field:
            self._filter_opening = False

    def on_key(self, event: events.Key) -> None:
        """Letters typed in a burst with `/` (fast, or pasted) reach the table before the filter field has
        the focus, and climb to the pane: they go into the field, not to the pane's one-letter commands.
        (A letter typed into the focused field stops there, so one that climbs while it has the focus was
        on its way before.)"""
        opening = self._filter_opening or self.filter_field.has_focus
        if opening and event.is_printable and event.character:
            event.stop()
            event.prevent_default()
            self.filter_field.insert_text_at_cursor(event.character)

    @on(Input.Changed, f".{FILTER_CLASS}")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()

    @on(Input.Submitted, f".{FILTER_CLASS}")
    def _filter_done(self) -> None:
        if not self.filter_text:
            self.remove_class("-filtering")
        self.table.focus()

    def key_escape(self) -> None:
        if self.has_class("-filtering"):
            self.filter_text = ""
            self.filter_field.value = ""
            self.remove_class("-filtering")
            self.table.focus()
