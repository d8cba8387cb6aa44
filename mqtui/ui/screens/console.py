"""The console screen: profile bar, broker tree, the four panes in tabs, the status line and the footer.

It shows one backend's snapshots (the app hands it the backend, and a new one after a profile switch),
switches panes, hands each pane what it draws from (`Pane.snapshots`, `Pane.policy`), and answers
the panes' messages (`mqtui.ui.messages`) with details or a workflow (`mqtui.ui.workflows`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.dom import DOMNode
from textual.signal import Signal
from textual.timer import Timer
from textual.widgets import Footer, TabbedContent, TabPane, Tree
from textual.worker import Worker, WorkerState

from mqtui.model import Capability
from mqtui.services.backend import ConsoleBackend
from mqtui.services.snapshot import BrokerSnapshot
from mqtui.ui.alertviews import AlertViews
from mqtui.ui.cells import error_text
from mqtui.ui.collector import IdleCollector
from mqtui.ui.detailviews import NO_SERVER_VIEW, DetailViews
from mqtui.ui.incident import IncidentViews
from mqtui.ui.keys import Command, action_name, bindings
from mqtui.ui.messages import (
    DeadLettersRequested,
    DeleteRequested,
    DetailsRequested,
    DuplicateRequested,
    GroupOpened,
    MessageOpened,
    MoveRequested,
    PeekRequested,
    PurgeRequested,
    ReplayRequested,
    RequestReplyRequested,
    ResetRequested,
    SearchRequested,
    SnapshotArrived,
    TailRequested,
    WhereRequested,
)
from mqtui.ui.panes.base import Pane, publish_refusal
from mqtui.ui.panes.destinations import DestinationsPane
from mqtui.ui.panes.dlq import DeadLettersPane
from mqtui.ui.panes.filtered import FilteredTablePane
from mqtui.ui.panes.lag import LagPane
from mqtui.ui.panes.tail import TailPane
from mqtui.ui.screens.publish import PublishDraft
from mqtui.ui.searchviews import SearchViews
from mqtui.ui.widgets.bars import ProfileBar, StatusBar
from mqtui.ui.widgets.brokertree import BrokerTree, TreeTarget

PANES: list[tuple[str, str, type[Pane]]] = [
    ("destinations", "1 Destinations", DestinationsPane),
    ("lag", "2 Lag", LagPane),
    ("tail", "3 Tail", TailPane),
    ("dlq", "4 Dead letters", DeadLettersPane),
]

PALETTE = Command(
    "app.palette", "ctrl+p", "command_palette", "Palette", "Every command, searchable", show=False, priority=True
)
"""Bound on the app itself (so Textual adds no palette key of its own), listed with the others; a priority
binding, as Textual's own, so that it also opens over a dialog (a modal screen hides the app's other keys)."""

GLOBAL_COMMANDS: list[Command] = [
    Command("app.quit", "q", "app.quit", "Quit", "Quit mqtui"),
    Command("app.keys", "question_mark", "app.keys", "Keys", "Show every key and its binding id"),
    PALETTE,
    Command("app.publish", "n", "publish", "Publish", "Publish test messages", writes=Capability.PUBLISH),
    Command("app.profiles", "P", "app.profiles", "Profiles", "Switch to another profile without restarting"),
    Command("app.sidebar", "b", "sidebar", "Brokers", "Show or hide the broker tree", show=False),
    Command("app.refresh", "ctrl+r", "app.refresh", "Refresh", "Poll every broker now", show=False),
    Command("app.alerts", "exclamation_mark", "alerts", "Alerts", "Open and recently closed alerts", show=False),
    Command("app.snapshot", "S", "snapshot", "Snapshot", "Write what is shown to a snapshot file", show=False),
    Command("app.theme", "T", "app.toggle_theme", "Theme", "Switch between the dark and light theme", show=False),
    Command(
        "app.server",
        "i",
        "server",
        "Server info",
        "The NATS or RabbitMQ server: identity, connections, load",
        show=False,
    ),
    *(
        Command(f"view.{pane_id}", title[0], f"pane('{pane_id}')", title[2:], f"Show the {title[2:]} pane", show=False)
        for pane_id, title, _cls in PANES
    ),
]
"""Keys that work whichever pane is shown: the console screen binds them (those of the app with an
"app." action), so the footer lists them after the pane's own, in this order."""

SIDEBAR_MIN_WIDTH = 150


class ConsoleScreen(AlertViews, IncidentViews, SearchViews, DetailViews):
    """The console of one profile; `opened` brings the backend of the next profile switched to."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (SIDEBAR_MIN_WIDTH, "-wide")]  # noqa: RUF012 - typed by Textual
    KEY_COMMANDS: ClassVar[list[Command]] = [command for command in GLOBAL_COMMANDS if command is not PALETTE]
    BINDINGS: ClassVar[list[BindingType]] = bindings(KEY_COMMANDS)
    REDRAW_DELAY = 0.15
    """New snapshots are drawn in batches, at most this long after the first of a batch arrived."""
    KEY_GAP = 0.08
    """A poll's rows built meanwhile are drawn once this long has passed since the last key: drawing
    10,000 changed rows takes the UI thread a frame of its own, which a key would wait for."""

    def __init__(
        self,
        backend: ConsoleBackend,
        opened: Signal[ConsoleBackend],
        *,
        tail_capacity: int = 10_000,
        collector: IdleCollector | None = None,
    ) -> None:
        super().__init__()
        self.backend = backend
        self.collector = collector
        """Told when snapshots arrive, so a full garbage collection does not land on their drawing."""
        self.tail_capacity = tail_capacity
        self.snapshots: dict[str, BrokerSnapshot] = {}
        self.broker_filter: str | None = None
        self.sidebar_choice: bool | None = None
        self._opened = opened
        self._redraw_timer: Timer | None = None
        self._panes: dict[str, Pane] = {}

    # -- layout ------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield ProfileBar(id="profile-bar")
        with Horizontal(id="main"):
            with Vertical(id="sidebar"):
                yield BrokerTree(id="tree")
            with TabbedContent(id="tabs", initial="tab-destinations"):
                for pane_id, title, pane_class in PANES:
                    with TabPane(title, id=f"tab-{pane_id}"):
                        if pane_class is TailPane:
                            yield TailPane(id=pane_id, capacity=self.tail_capacity)
                        else:
                            yield pane_class(id=pane_id)
        yield StatusBar(id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._panes = {pane_id: self.query_one(f"#{pane_id}", Pane) for pane_id, _title, _cls in PANES}
        self._fit_sidebar()
        self._show_backend(self.backend, first=True)
        self._opened.subscribe(self, self._show_backend)
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._restyle())
        self.set_interval(1.0, self._tick)
        current = self.current_pane
        if current is not None:
            current.active = True
        self.panes["destinations"].focus_main()

    @property
    def panes(self) -> dict[str, Pane]:
        """The four panes by id ("destinations", "lag", "tail", "dlq")."""
        return self._panes

    @property
    def current_pane(self) -> Pane | None:
        """The pane whose tab is shown."""
        active = self.query_one("#tabs", TabbedContent).active
        return self.panes.get(active.removeprefix("tab-"))

    @property
    def broker_tree(self) -> BrokerTree:
        return self.query_one(BrokerTree)

    def _show_backend(self, backend: ConsoleBackend, *, first: bool = False) -> None:
        """Show `backend`'s profile and start it (at start, and after a profile switch)."""
        self.backend = backend
        self.snapshots = {name: BrokerSnapshot(name=name, kind=kind) for name, kind in backend.brokers()}
        self.broker_filter = None
        if not first:
            self.tail_pane.stop_stream()
        self.query_one(ProfileBar).show_profile(
            backend.profile_name,
            production=backend.production,
            readonly=backend.readonly,
            brokers=len(self.snapshots),
            offline=backend.offline_note,
        )
        self.broker_tree.set_brokers(backend.brokers(), servers=backend.server_view_brokers())
        for pane in self.panes.values():
            pane.policy = backend.policy
            pane.clock = backend.now
            if isinstance(pane, FilteredTablePane):
                pane.key_gap = self._key_gap
                pane.key_hold = backend.key_hold
        self.tail_pane.saved_filters = backend.profile.filters
        listener = self._listener(backend)
        self.listen_to_alerts(backend)
        if first:
            # Paint first, then start polling: creating the adapters imports four client libraries,
            # which would otherwise compete with the first frame for the interpreter.
            self.call_after_refresh(backend.start, listener)
        else:
            backend.start(listener)
        self._show_recorded_views(backend)
        self._redraw_everything()

    def _listener(self, backend: ConsoleBackend) -> Callable[[BrokerSnapshot], None]:
        """A callback for the backend's thread, bound to this console's own loop.

        Not `post_message` from the backend's thread: that finds the app through a context variable,
        which the backend's tasks inherited from whichever console started them.
        """
        loop = asyncio.get_running_loop()

        def deliver(snapshot: BrokerSnapshot) -> None:
            with contextlib.suppress(RuntimeError):  # the console has closed: nobody to tell
                loop.call_soon_threadsafe(self.post_message, SnapshotArrived(backend, snapshot))

        return deliver

    # -- snapshots ---------------------------------------------------------------------------------
    @on(SnapshotArrived)
    def _snapshot_arrived(self, message: SnapshotArrived) -> None:
        if message.backend is not self.backend:
            return  # a late snapshot from the profile just left
        self.snapshots[message.snapshot.name] = message.snapshot
        if self.collector is not None:
            self.collector.busy()
        if self._redraw_timer is None:
            self._redraw_timer = self.set_timer(self.REDRAW_DELAY, self._redraw_panes)

    @property
    def drawn(self) -> bool:
        """Whether every snapshot received so far is drawn (none waits for the next batch's redraw)."""
        return self._redraw_timer is None

    def _key_gap(self) -> float:
        """Seconds until the keys being pressed leave a gap to draw a poll in (0: none pressed just now)."""
        if self.collector is None:
            return 0.0
        return max(0.0, self.KEY_GAP - self.collector.since_input())

    def _redraw_panes(self) -> None:
        self._redraw_timer = None
        self._draw_tree()
        self._show_status()
        drawn = dict(self.snapshots)  # the panes keep the batch drawn, not the dict snapshots arrive in
        for pane in self.panes.values():
            pane.snapshots = drawn

    def _redraw_everything(self) -> None:
        """Every pane and the tree from the snapshots, the broker filter applied (the current pane now)."""
        self._draw_tree()
        self._show_status()
        drawn = dict(self.snapshots)
        for pane in self.panes.values():
            pane.broker_filter = self.broker_filter
            pane.snapshots = drawn

    def _restyle(self) -> None:
        """After a theme change: every cell drawn again, as only colours differ."""

        def restyle() -> None:
            self._draw_tree()
            self._show_status()
            for pane in self.panes.values():
                pane.restyle()

        self.call_after_refresh(restyle)

    def _draw_tree(self) -> None:
        now = self.backend.now()
        tree = self.broker_tree
        for snapshot in self.snapshots.values():
            tree.show(snapshot, now)

    def _show_status(self) -> None:
        self.query_one(StatusBar).show_state(list(self.snapshots.values()), self.backend.now(), self.backend.notices)

    def _tick(self) -> None:
        """Once a second: ages and retry countdowns move on even when no poll arrives (not while keys are
        pressed: the tree's labels cost a frame of their own)."""
        if self._key_gap() > 0:
            return
        self._draw_tree()
        self._show_status()

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        current = self.current_pane
        for pane in self.panes.values():
            if pane is not current:
                pane.active = False
        if current is not None:
            current.active = True
            current.focus_main()
        self.refresh_bindings()

    # -- the broker tree ---------------------------------------------------------------------------
    @on(Tree.NodeSelected, "#tree")
    def _tree_selected(self, event: Tree.NodeSelected[TreeTarget]) -> None:
        target = event.node.data
        if target is None:
            return
        if target.server:
            self.action_server(target.broker)
        elif target.destination is None:
            self.broker_filter = None if self.broker_filter == target.broker else target.broker
            self.notify(f"showing {target.broker} only" if self.broker_filter else "showing every broker", timeout=2)
            self._redraw_everything()
        else:
            self.show_destination(target.broker, target.destination)

    # -- keys and the palette ----------------------------------------------------------------------
    def refusal(self, action: str) -> str | None:
        """Why a key of this screen cannot be used now (shown when it is pressed), or None."""
        if action == "publish":
            return publish_refusal(self.policy, self.snapshots.values())
        if action == "server" and not self.server_brokers():
            return NO_SERVER_VIEW
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("publish", "server"):
            return None if self.refusal(action) else True
        return True

    async def run_command(self, pane_id: str | None, command: Command) -> None:
        """Run a command chosen in the palette: a pane's on its pane, shown first, unless it is refused."""
        target: DOMNode = self
        if pane_id is not None:
            pane = self.panes[pane_id]
            self.show_pane(pane_id)
            await self._wait_shown(pane)
            target = pane
        refusal = getattr(target, "refusal", None)
        reason = refusal(action_name(command.action)) if callable(refusal) else None
        if reason:
            self.notify(reason, severity="warning")
            return
        await self.app.run_action(command.action, target)

    async def _wait_shown(self, pane: Pane) -> None:
        """Until a pane just switched to has drawn its rows: its refusal and action read the selected one."""
        for _ in range(50):
            await asyncio.sleep(0.01)
            if not pane.stale:
                return

    def action_pane(self, pane_id: str) -> None:
        if self.app.screen is not self:  # a key that reached the console from under a dialog
            return
        self.show_pane(pane_id)

    def show_pane(self, pane_id: str) -> None:
        """Switch to a pane, also while a dialog is closing (a workflow's last dialog may still be).

        The pane shown takes the focus at once: left with the pane being hidden, Textual would hand it
        to a neighbour there, whose tab would then be shown again.
        """
        tabs = self.query_one("#tabs", TabbedContent)
        if tabs.active != f"tab-{pane_id}":
            tabs.active = f"tab-{pane_id}"
            self.set_focus(self.panes[pane_id].main_widget())
        else:
            self.panes[pane_id].focus_main()

    def action_sidebar(self) -> None:
        sidebar = self.query_one("#sidebar")
        self.sidebar_choice = not sidebar.display
        sidebar.display = self.sidebar_choice

    def on_resize(self) -> None:
        self._fit_sidebar()

    def _fit_sidebar(self) -> None:
        """Below 150 columns the tables need the room: the tree shows only when asked for (b)."""
        if self.sidebar_choice is None:
            self.query_one("#sidebar").display = self.app.size.width >= SIDEBAR_MIN_WIDTH

    def action_publish(self) -> None:
        pane = self.current_pane
        draft = PublishDraft()
        if isinstance(pane, DestinationsPane) and (selected := pane.selected()) is not None:
            draft = PublishDraft(selected.broker, selected.name)
        elif isinstance(pane, TailPane) and pane.stream is not None:
            draft = PublishDraft(pane.stream.broker, pane.stream.destination)
        self.publish(draft)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A workflow that failed where it did not expect to says so, instead of stopping in silence."""
        if event.state is WorkerState.ERROR and isinstance(event.worker.error, Exception):
            self.notify(error_text(event.worker.error), severity="error")

    # -- what the panes ask for --------------------------------------------------------------------
    @on(DetailsRequested)
    def _details(self, event: DetailsRequested) -> None:
        self.show_destination(event.broker, event.destination)

    @on(GroupOpened)
    def _group(self, event: GroupOpened) -> None:
        self.show_group(event.group)

    @on(TailRequested)
    def _tail(self, event: TailRequested) -> None:
        self.choose_tail(event.broker, event.destination)

    @on(SearchRequested)
    def _search(self, event: SearchRequested) -> None:
        self.search_destination(event.broker, event.destination)

    @on(WhereRequested)
    def _where(self, event: WhereRequested) -> None:
        self.select_letters_where(event.dlq)

    @on(PeekRequested)
    def _peek(self, event: PeekRequested) -> None:
        self.peek(event.destination)

    @on(PurgeRequested)
    def _purge(self, event: PurgeRequested) -> None:
        self.purge(event.destination)

    @on(RequestReplyRequested)
    def _request(self, event: RequestReplyRequested) -> None:
        self.request_reply(event.broker, event.subject)

    @on(ResetRequested)
    def _reset(self, event: ResetRequested) -> None:
        self.reset_offsets(event.group)

    @on(DeadLettersRequested)
    def _read(self, event: DeadLettersRequested) -> None:
        self.read_dead_letters(event.dlq)

    @on(ReplayRequested)
    def _replay(self, event: ReplayRequested) -> None:
        self.replay(event.dlq, event.ids, event.verb)

    @on(DeleteRequested)
    def _delete(self, event: DeleteRequested) -> None:
        self.delete(event.dlq, event.ids)

    @on(MoveRequested)
    def _move(self, event: MoveRequested) -> None:
        self.move(event.dlq)

    @on(MessageOpened)
    def _message(self, event: MessageOpened) -> None:
        self.show_message(event.message, letter=event.letter)

    @on(DuplicateRequested)
    def _duplicate(self, event: DuplicateRequested) -> None:
        self.publish_copy(event.message)
