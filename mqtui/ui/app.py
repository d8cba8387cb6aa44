"""The console: a broker tree, four panes, a header that says which profile, a status line.

The app never touches a broker: it receives a `ConsoleBackend`, draws the snapshots the backend
posts from its own thread, and awaits the backend for details and actions. Every write action goes
through one of the `ask_*` methods, which refuse in a readonly profile (saying why), preview what
will happen, and ask for confirmation.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Callable, Collection, Iterable
from typing import ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Horizontal, Vertical
from textual.message import Message as TextualMessage
from textual.widgets import Footer, TabbedContent, TabPane, Tree

from mqtui.errors import MqtuiError
from mqtui.model import (
    Capability,
    DeadLetter,
    DeadLetterQueue,
    Destination,
    DestinationKind,
    Message,
    StartPosition,
)
from mqtui.safetext import safe_line
from mqtui.services.backend import ConsoleBackend
from mqtui.services.snapshot import BrokerSnapshot, GroupLag
from mqtui.services.tailer import TailStream
from mqtui.ui import themes
from mqtui.ui.cells import error_text, plain
from mqtui.ui.keys import Command, action_name, bindings
from mqtui.ui.panes.base import CAPABILITY_VERBS, Pane
from mqtui.ui.panes.destinations import DestinationsPane
from mqtui.ui.panes.dlq import DeadLettersPane
from mqtui.ui.panes.lag import LagPane, partition_section, pseudo_group
from mqtui.ui.panes.tail import TailPane
from mqtui.ui.screens.common import ConfirmScreen, DetailScreen, Dialog, KeysScreen, ProfilesScreen, PromptScreen
from mqtui.ui.screens.message import MessageScreen
from mqtui.ui.screens.publish import PublishDraft, PublishScreen
from mqtui.ui.screens.replay import ReplayScreen
from mqtui.ui.screens.request import RequestScreen
from mqtui.ui.screens.reset import ResetOffsetsScreen
from mqtui.ui.screens.tailstart import TailStartScreen
from mqtui.ui.widgets.bars import ProfileBar, StatusBar
from mqtui.ui.widgets.brokertree import BrokerTree, TreeTarget
from mqtui.ui.widgets.completion import CompletingInput

PANES: list[tuple[str, str, type[Pane]]] = [
    ("destinations", "1 Destinations", DestinationsPane),
    ("lag", "2 Lag", LagPane),
    ("tail", "3 Tail", TailPane),
    ("dlq", "4 Dead letters", DeadLettersPane),
]

GLOBAL_COMMANDS: list[Command] = [
    Command("app.quit", "q", "quit", "Quit", "Quit mqtui"),
    Command("app.keys", "question_mark", "keys", "Keys", "Show every key and its binding id"),
    Command("app.palette", "ctrl+p", "command_palette", "Palette", "Every command, searchable", show=False),
    Command("app.publish", "n", "publish", "Publish", "Publish test messages", writes=Capability.PUBLISH),
    Command("app.profiles", "P", "profiles", "Profiles", "Switch to another profile without restarting"),
    Command("app.sidebar", "b", "sidebar", "Brokers", "Show or hide the broker tree", show=False),
    Command("app.refresh", "ctrl+r", "refresh", "Refresh", "Poll every broker now", show=False),
    Command("app.theme", "T", "toggle_theme", "Theme", "Switch between the dark and light theme", show=False),
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


#: Dialogs and dialog widgets whose keys `?` lists and `[keys]` remaps (their ids are unique).
DIALOGS: list[type[Dialog] | type[CompletingInput]] = [
    Dialog, ConfirmScreen, DetailScreen, MessageScreen, PublishScreen, RequestScreen, ReplayScreen, ResetOffsetsScreen,
    CompletingInput,
]  # fmt: skip


def dialog_commands() -> list[tuple[str, Command]]:
    """(where, command) for every dialog key: remappable and listed by `?`, but not in the palette."""
    return [(owner.KEYS_TITLE, command) for owner in DIALOGS for command in owner.__dict__.get("COMMANDS", ())]


SIDEBAR_MIN_WIDTH = 150


def tune_garbage_collector() -> None:
    """Keep collector pauses out of the frames of a fast tail.

    A tail at 20,000 msg/s allocates messages faster than the default thresholds like: the frequent
    collections then end in full ones that walk every live object (tens of thousands of buffered
    messages and the whole widget tree), stalling the UI for 100-400 ms. Objects alive after the first
    frame (modules, widgets) are frozen out of collection, and young collections run less often.
    """
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, 20_000), max(middle, 20), max(old, 50))


class SnapshotArrived(TextualMessage):
    """Posted from the backend's thread with each new broker snapshot."""

    def __init__(self, backend: ConsoleBackend, snapshot: BrokerSnapshot) -> None:
        super().__init__()
        self.backend = backend
        self.snapshot = snapshot


class MqtuiCommands(Provider):
    """The command palette: every command of the app and of every pane, with its key."""

    def _entries(self) -> Iterable[tuple[str, str, Callable[[], object]]]:
        app = self.app
        assert isinstance(app, MqtuiApp)
        for owner, command in app.all_commands():
            scope = "mqtui" if owner is None else owner.TITLE
            key = app.key_for(command)
            help_text = f"{command.help} · key {key}"
            if command.writes is not None and app.backend.readonly:
                help_text += " · refused: readonly profile"
            yield f"{scope}: {command.label}", help_text, app.palette_runner(owner, command)

    async def discover(self) -> Hits:
        for title, help_text, callback in self._entries():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._entries():
            score = max(matcher.match(title), matcher.match(help_text) * 0.8)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)


class MqtuiApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "mqtui"
    HORIZONTAL_BREAKPOINTS: ClassVar = [(0, "-narrow"), (SIDEBAR_MIN_WIDTH, "-wide")]
    COMMANDS: ClassVar = App.COMMANDS | {MqtuiCommands}
    BINDINGS: ClassVar[list[BindingType]] = bindings(GLOBAL_COMMANDS)
    REDRAW_DELAY = 0.15

    def __init__(self, backend: ConsoleBackend, *, tail_capacity: int = 10_000) -> None:
        super().__init__()
        self.backend = backend
        self.tail_capacity = tail_capacity
        self.snapshots: dict[str, BrokerSnapshot] = {}
        self.broker_filter: str | None = None
        self.sidebar_choice: bool | None = None
        self._redraw_pending = False
        self._keymap_applied: dict[str, str] = {}
        for theme in themes.load_themes():
            self.register_theme(theme)

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

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(themes.VARIABLE_DEFAULTS)

    def on_mount(self) -> None:
        main = self.screen  # queries below go to the main screen even while a dialog is on top
        self._main = main
        self._panes = {pane_id: main.query_one(f"#{pane_id}", Pane) for pane_id, _title, _cls in PANES}
        self._tree = main.query_one(BrokerTree)
        self._status = main.query_one(StatusBar)
        self._tabs = main.query_one("#tabs", TabbedContent)
        self._fit_sidebar()
        self._apply_theme(self.backend.theme)
        self._apply_keymap(self.backend.keys)
        self._use_backend(self.backend, first=True)
        self.set_interval(1.0, self._tick)
        self.panes["destinations"].focus_main()
        self.call_after_refresh(tune_garbage_collector)

    def _apply_theme(self, name: str) -> None:
        if name in self.available_themes:
            self.theme = name
        else:
            self.theme = themes.DARK
            self.notify(f"unknown theme {name!r}: using {themes.DARK}", severity="warning")

    def _apply_keymap(self, keymap: dict[str, str]) -> None:
        known = {command.id for _owner, command in self.all_commands()}
        known |= {command.id for _where, command in dialog_commands()}
        unknown = sorted(set(keymap) - known)
        if unknown:
            self.notify(f"[keys] has unknown binding ids: {', '.join(unknown)} (see ? for the ids)", severity="warning")
        self._keymap_applied = {k: v for k, v in keymap.items() if k in known}
        self.set_keymap(self._keymap_applied)

    def _use_backend(self, backend: ConsoleBackend, *, first: bool = False) -> None:
        """Show `backend`'s profile and start it (at start, and after a profile switch)."""
        self.backend = backend
        self.snapshots = {name: BrokerSnapshot(name=name, kind=kind) for name, kind in backend.brokers()}
        self.broker_filter = None
        if not first:
            self.panes["tail"].stop_stream()  # type: ignore[attr-defined]
            if backend.profile.theme:
                self._apply_theme(backend.theme)
        self._main.query_one(ProfileBar).show_profile(
            backend.profile_name,
            production=backend.production,
            readonly=backend.readonly,
            brokers=len(self.snapshots),
        )
        self._tree.set_brokers(backend.brokers(), servers=backend.server_view_brokers())
        for notice in backend.notices:
            self.notify(notice, severity="warning", timeout=10)
        listener = self._listener(backend)
        if first:
            # Paint first, then start polling: creating the adapters imports four client libraries,
            # which would otherwise compete with the first frame for the interpreter.
            self.call_after_refresh(backend.start, listener)
        else:
            backend.start(listener)
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

    @property
    def panes(self) -> dict[str, Pane]:
        return self._panes

    @property
    def current_pane(self) -> Pane | None:
        if not hasattr(self, "_main"):
            return None
        active = self._tabs.active
        return self._panes.get(active.removeprefix("tab-"))

    def visible_snapshots(self) -> list[BrokerSnapshot]:
        return [s for name, s in self.snapshots.items() if self.broker_filter in (None, name)]

    # -- snapshots ---------------------------------------------------------------------------------
    def on_snapshot_arrived(self, message: SnapshotArrived) -> None:
        if message.backend is not self.backend:
            return  # a late snapshot from the profile we just left
        self.snapshots[message.snapshot.name] = message.snapshot
        self._tree.show(message.snapshot, self.backend.now())
        if not self._redraw_pending:
            self._redraw_pending = True
            self.set_timer(self.REDRAW_DELAY, self._redraw_panes)

    def _redraw_panes(self) -> None:
        self._redraw_pending = False
        self._show_status()
        for pane in self.panes.values():
            pane.snapshots_changed()

    def _redraw_everything(self, *, rebuild: bool = False) -> None:
        now = self.backend.now()
        tree = self._tree
        for snapshot in self.snapshots.values():
            tree.show(snapshot, now)
        self._show_status()
        for pane in self.panes.values():
            pane.stale = True
        current = self.current_pane
        if current is not None:
            current.redraw(rebuild=rebuild)
            current.stale = False

    def _show_status(self) -> None:
        self._status.show_state(list(self.snapshots.values()), self.backend.now(), self.backend.notices)

    def _tick(self) -> None:
        """Once a second: ages and retry countdowns move on even when no poll arrives."""
        now = self.backend.now()
        tree = self._tree
        for snapshot in self.snapshots.values():
            tree.show(snapshot, now)
        self._show_status()

    @on(TabbedContent.TabActivated)
    def _tab_changed(self, event: TabbedContent.TabActivated) -> None:
        pane = self.current_pane
        if pane is not None:
            pane.shown()
            pane.focus_main()
        self.refresh_bindings()

    def watch_theme(self) -> None:
        if self.is_mounted:
            self.call_after_refresh(self._redraw_everything, rebuild=True)

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

    # -- commands ----------------------------------------------------------------------------------
    def all_commands(self) -> list[tuple[Pane | None, Command]]:
        result: list[tuple[Pane | None, Command]] = [(None, c) for c in GLOBAL_COMMANDS]
        if hasattr(self, "_panes"):
            for pane in self.panes.values():
                result += [(pane, c) for c in pane.COMMANDS]
        else:
            result += [(None, c) for _id, _title, cls in PANES for c in cls.COMMANDS]
        return result

    def key_for(self, command: Command) -> str:
        key = self._keymap_applied.get(command.id, command.key)
        return self.get_key_display_for(key)

    def get_key_display_for(self, key: str) -> str:
        first = key.split(",")[0].strip()
        try:
            from textual.binding import Binding

            return self.get_key_display(Binding(first, ""))
        except Exception:
            return first

    def palette_runner(self, owner: Pane | None, command: Command) -> Callable[[], object]:
        async def run() -> None:
            if owner is not None:
                self.action_pane(owner.id or "")
                await self._wait_shown(owner)
            target = owner if owner is not None else self
            refusal = self._refusal_of(target, action_name(command.action))
            if refusal:
                self.notify(refusal, severity="warning")
                return
            await self.run_action(command.action, target)

        return run

    async def _wait_shown(self, pane: Pane) -> None:
        """Until a pane just switched to has drawn its rows: its refusal and action read the selected one
        (a palette command run before that found no row, and did nothing without a word)."""
        for _ in range(50):
            await asyncio.sleep(0.01)
            if not pane.stale:
                return

    @staticmethod
    def _refusal_of(node: object, action: str) -> str | None:
        refusal = getattr(node, "refusal", None)
        return refusal(action) if callable(refusal) else None

    def refusal(self, action: str) -> str | None:
        if action == "publish":
            return self.backend.refusal("publish") or self._no_publisher()
        if action == "server" and not self.backend.server_view_brokers():
            return "no broker of this profile has a server view (NATS and RabbitMQ have)"
        return None

    def request_refusal(self) -> str | None:
        """Why request/reply cannot be used in this profile, or None."""
        readonly = self.backend.refusal("request")
        if readonly:
            return readonly
        if any(s.can(Capability.REQUEST) for s in self.snapshots.values()):
            return None
        if all(not s.capabilities for s in self.snapshots.values()):
            return None  # not known yet: the form says more when it sends
        return "no broker of this profile can do request/reply (NATS can)"

    def _no_publisher(self) -> str | None:
        if any(s.can(Capability.PUBLISH) for s in self.snapshots.values()):
            return None
        if all(not s.capabilities for s in self.snapshots.values()):
            return None  # not known yet: the form says more when it sends
        return "no broker of this profile can publish"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("publish", "server"):
            return None if self.refusal(action) else True
        return True

    def on_key(self, event: events.Key) -> None:
        """A key whose command is refused (greyed in the footer) says why instead of doing nothing."""
        active = self.screen.active_bindings.get(event.key)
        if active is None or active.enabled:
            return
        reason = self._refusal_of(active.node, action_name(active.binding.action))
        if reason:
            event.stop()
            self.notify(reason, severity="warning")

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: str = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:  # type: ignore[override]
        """Every notification is plain text: messages quote broker names, payloads and errors."""
        super().notify(plain(message, 500).plain, title=title, severity=severity, timeout=timeout, markup=False)  # type: ignore[arg-type]

    # -- global actions ----------------------------------------------------------------------------
    def action_pane(self, pane_id: str) -> None:
        if self.screen is not self._main:  # a key that reached the app from under a dialog
            return
        self.show_pane(pane_id)

    def show_pane(self, pane_id: str) -> None:
        """Switch to a pane, also while a dialog is closing: a dialog's result callback can run before
        the dialog is gone, and the tail it just started was left behind Destinations (2 of 4 tries)."""
        tabs = self._tabs
        if tabs.active != f"tab-{pane_id}":
            tabs.active = f"tab-{pane_id}"
        else:
            pane = self.current_pane
            if pane is not None:
                pane.focus_main()

    def action_keys(self) -> None:
        groups: dict[str, list[tuple[str, str, str]]] = {}
        commands = [("Everywhere" if owner is None else owner.TITLE, c) for owner, c in self.all_commands()]
        for where, command in [*commands, *dialog_commands()]:
            groups.setdefault(where, []).append((self.key_for(command), command.help, command.id))
        self.push_screen(KeysScreen(list(groups.items())))

    def action_refresh(self) -> None:
        self.backend.refresh()
        self.notify("polling every broker now", timeout=2)

    def action_sidebar(self) -> None:
        sidebar = self._main.query_one("#sidebar")
        self.sidebar_choice = not sidebar.display
        sidebar.display = self.sidebar_choice

    def on_resize(self) -> None:
        self._fit_sidebar()

    def _fit_sidebar(self) -> None:
        """Below 150 columns the tables need the room: the tree shows only when asked for (b)."""
        if self.sidebar_choice is None and hasattr(self, "_main"):
            self._main.query_one("#sidebar").display = self.size.width >= SIDEBAR_MIN_WIDTH

    def action_toggle_theme(self) -> None:
        self.theme = themes.LIGHT if self.theme == themes.DARK else themes.DARK

    def action_profiles(self) -> None:
        def chosen(name: object) -> None:
            if isinstance(name, str) and name != self.backend.profile_name:
                self.notify(f"opening profile {name}…", timeout=3)
                self.switch_profile(name)

        self.push_screen(ProfilesScreen(self.backend.profile_names(), self.backend.profile_name), chosen)

    @work(thread=True, exclusive=True, group="profile", exit_on_error=False)
    def switch_profile(self, name: str) -> None:
        """Open the new profile first (the demo may start brokers), then swap, then stop the old one."""
        old = self.backend
        try:
            new = old.open_profile(name)
        except MqtuiError as exc:
            self.call_from_thread(self.notify, error_text(exc), severity="error")
            return
        self.call_from_thread(self._use_backend, new)
        old.stop()

    def action_publish(self) -> None:
        pane = self.current_pane
        draft = PublishDraft()
        if isinstance(pane, DestinationsPane) and pane.selected() is not None:
            selected = pane.selected()
            draft = PublishDraft(selected.broker, selected.name)  # type: ignore[union-attr]
        elif isinstance(pane, TailPane) and pane.stream is not None:
            draft = PublishDraft(pane.stream.broker, pane.stream.destination)
        self.open_publish(draft)

    # -- what panes ask for ------------------------------------------------------------------------
    def prompt(self, title: str, *, value: str = "", hint: str = "") -> PromptScreen:
        return PromptScreen(title, value=value, hint=hint)

    def destination_names(self) -> dict[str, list[str]]:
        return {name: sorted(d.name for d in s.destinations) for name, s in self.snapshots.items()}

    def publish_refusal(self, broker: str) -> str | None:
        readonly = self.backend.refusal("publish")
        if readonly:
            return readonly
        snapshot = self.snapshots.get(broker)
        if snapshot is not None and snapshot.capabilities and not snapshot.can(Capability.PUBLISH):
            return f"{broker} ({snapshot.kind}) cannot {CAPABILITY_VERBS[Capability.PUBLISH]}"
        return None

    def show_destination(self, broker: str, destination: str) -> None:
        title = Text.assemble(plain(broker, 40), " / ", plain(destination, 100))
        self.push_screen(DetailScreen(title, lambda: self.backend.describe(broker, destination)))

    def action_server(self, broker: str | None = None) -> None:
        """The server view of `broker`, else of the selected row's or the tree's broker, else the first one."""
        candidates = self.backend.server_view_brokers()
        if not candidates:
            self.notify(self.refusal("server") or "", severity="warning")
            return
        if broker is None:
            pane = self.current_pane
            target = pane.target_broker() if pane is not None else None
            preferred = [target.name if target is not None else None, self.broker_filter]
            broker = next((name for name in preferred if name in candidates), candidates[0])
        title = Text.assemble(plain(broker, 40), " · server")
        self.push_screen(DetailScreen(title, lambda: self.backend.describe_server(broker)))

    def ask_request(self, broker: str | None, subject: str) -> None:
        refusal = self.request_refusal()
        if refusal:
            self.notify(refusal, severity="warning")
            return
        brokers = [name for name, s in self.snapshots.items() if not s.capabilities or s.can(Capability.REQUEST)]
        if broker is not None and broker not in brokers and brokers:  # opened from a Kafka row, say
            self.notify(f"{broker} cannot do request/reply: the form is on {brokers[0]}", timeout=4)
        subjects = {
            name: sorted(d.name for d in s.destinations if d.kind is DestinationKind.SUBJECT)
            for name, s in self.snapshots.items()
        }
        timeout = self.backend.profile.broker(broker).timeout if broker in brokers else 5.0

        def replied(reply: object) -> None:
            if isinstance(reply, Message):
                self.show_message(reply, title="reply")

        self.push_screen(RequestScreen(brokers, subjects, broker, subject, timeout=timeout), replied)

    def show_group(self, group: GroupLag) -> None:
        """A group's partitions, then its members; for a queue's or list's backlog (no group), the
        destination's details, whose consumers are the closest thing to members."""
        before = [partition_section(group, self.backend.now())]
        if pseudo_group(group.group):
            title = Text.assemble("backlog ", plain(group.group, 20), " of ", plain(group.destination, 80), " on ",
                                  plain(group.broker, 40))  # fmt: skip
            load = lambda: self.backend.describe(group.broker, group.destination)  # noqa: E731
            loaded = f"{group.destination} now"
        else:
            title = Text.assemble("group ", plain(group.group, 60), " on ", plain(group.broker, 40))
            load = lambda: self.backend.describe_group(group.broker, group.group)  # noqa: E731
            loaded = "The group now, every destination it reads"
        self.push_screen(DetailScreen(title, load, before=before, loaded_title=loaded))

    def show_message(self, message: Message, *, letter: DeadLetter | None = None, title: str = "") -> None:
        def closed(result: object) -> None:
            if isinstance(result, tuple) and result and result[0] == "duplicate":
                self.ask_publish_copy(result[1])

        self.push_screen(MessageScreen(message, letter=letter, title=title), closed)

    def open_publish(self, draft: PublishDraft) -> None:
        refusal = self.backend.refusal("publish")
        if refusal:
            self.notify(refusal, severity="warning")
            return
        brokers = [name for name, s in self.snapshots.items() if not s.capabilities or s.can(Capability.PUBLISH)]

        def sent(result: object) -> None:
            if isinstance(result, tuple):
                broker, destination, count = result
                self.notify(f"sent {count:,} message(s) to {broker} / {destination}")
                self.backend.refresh(broker)

        self.push_screen(PublishScreen(brokers, self.destination_names(), draft), sent)

    def ask_publish_copy(self, message: Message) -> None:
        refusal = self.publish_refusal(message.broker)
        if refusal:
            self.notify(refusal, severity="warning")
            return
        self.open_publish(PublishDraft.duplicate(message))

    def ask_tail(self, broker: str | None, destination: str) -> None:
        brokers = [name for name, s in self.snapshots.items() if not s.capabilities or s.can(Capability.TAIL)]

        def chosen(result: object) -> None:
            if isinstance(result, tuple):
                self.start_tail(*result)

        self.push_screen(TailStartScreen(brokers, self.destination_names(), broker, destination), chosen)

    def start_tail(self, broker: str, destination: str, start: StartPosition) -> None:
        pane = self.panes["tail"]
        assert isinstance(pane, TailPane)
        try:
            stream = self.backend.tail(broker, destination, start, capacity=max(self.tail_capacity * 2, 20_000))
        except MqtuiError as exc:
            self.notify(error_text(exc), severity="error")
            return
        pane.start(stream)
        self.show_pane("tail")

    def ask_purge(self, destination: Destination) -> None:
        refusal = self.backend.refusal("purge")
        if refusal:
            self.notify(refusal, severity="warning")
            return
        body = Text.assemble(
            "Remove every message (", Text(f"{destination.depth:,}" if destination.depth is not None else "all"),
            ") from ", plain(destination.name, 100), " on ", plain(destination.broker, 40), "? This cannot be undone.",
        )  # fmt: skip
        expect = destination.name if self.backend.production else None

        def confirmed(yes: object) -> None:
            if yes:
                self._purge(destination.broker, destination.name)

        self.push_screen(ConfirmScreen("Purge", body, confirm="Purge", expect=expect), confirmed)

    def ask_peek(self, destination: Destination, limit: int = 20) -> None:
        snapshot = self.snapshots.get(destination.broker)
        if snapshot is not None and snapshot.can(Capability.PEEK_ONLY_READS):  # nothing changes: no question
            self._peek(destination.broker, destination.name, limit, label="peeked {}")
            return
        refusal = self.backend.refusal("peek")
        if refusal:
            self.notify(refusal, severity="warning")
            return
        body = Text.assemble(
            f"Read up to {limit} messages waiting in ", plain(destination.name, 100), " on ",
            plain(destination.broker, 40), "? They stay in the queue but are marked redelivered ",
            "(a quorum queue counts it as a delivery).",
        )  # fmt: skip

        def confirmed(yes: object) -> None:
            if yes:
                self._peek(destination.broker, destination.name, limit)

        self.push_screen(ConfirmScreen("Peek", body, confirm="Peek"), confirmed)

    @work(exclusive=False, exit_on_error=False)
    async def _peek(
        self, broker: str, destination: str, limit: int, label: str = "peeked {} (marked redelivered)"
    ) -> None:
        try:
            messages = await self.backend.peek(broker, destination, limit=limit)
        except Exception as exc:
            self.notify(error_text(exc), severity="error")
            return
        pane = self.panes["tail"]
        assert isinstance(pane, TailPane)
        config = self.backend.profile.broker(broker)
        stream = TailStream.fixed(config, destination, messages, ended=True)
        pane.start(stream, label=label.format(len(messages)))
        self.action_pane("tail")

    @work(exclusive=False, exit_on_error=False)
    async def _purge(self, broker: str, destination: str) -> None:
        try:
            removed = await self.backend.purge(broker, destination)
        except Exception as exc:
            self.notify(error_text(exc), severity="error")
            return
        self.notify(f"purged {removed:,} message(s) from {destination}")
        self.backend.refresh(broker)

    def ask_move(self, dlq: DeadLetterQueue, done: Callable[[], None]) -> None:
        """Which queue, then a confirmation, then a shovel on the broker (`BrokerAdapter.move_queue`)."""
        refusal = self.backend.refusal("move all")
        if refusal:
            self.notify(refusal, severity="warning")
            return

        def chosen(typed: object) -> None:
            target = typed.strip() if isinstance(typed, str) else ""
            if not target:
                return
            body = Text.assemble(
                "Move every message ready in ", plain(dlq.name, 100), " (",
                f"{dlq.count:,} at the last poll" if dlq.count is not None else "all", ") to ", plain(target, 100), " on ",
                plain(dlq.broker, 40), " with a shovel inside the broker? It finishes even if mqtui stops; ",
                "messages keep their headers and get no requeue headers.",
            )  # fmt: skip
            expect = dlq.name if self.backend.production else None

            def confirmed(yes: object) -> None:
                if yes:
                    self._move(dlq.broker, dlq.name, target, done)

            self.push_screen(ConfirmScreen("Move whole queue", body, confirm="Move", expect=expect), confirmed)

        hint = "the messages go to this queue as they are; escape cancels"
        self.push_screen(self.prompt(f"Move all of {safe_line(dlq.name, 60)} to queue", value=dlq.origin or "",
                                     hint=hint), chosen)  # fmt: skip

    @work(exclusive=False, exit_on_error=False)
    async def _move(self, broker: str, dlq: str, to: str, done: Callable[[], None]) -> None:
        self.notify(f"moving {dlq} to {to} with a shovel...")
        try:
            result = await self.backend.move_queue(broker, dlq, to=to)
        except Exception as exc:
            self.notify(error_text(exc), severity="error")
            return
        for error in result.errors:
            self.notify(error, severity="warning")
        self.notify(f"moved {result.sent:,} message(s) from {dlq} to {to}" if result.sent or not result.failed
                    else f"moved nothing from {dlq}", severity="error" if result.failed else "information")  # fmt: skip
        done()

    def ask_reset(self, group: GroupLag) -> None:
        def done(changed: object) -> None:
            if changed:
                self.backend.refresh(group.broker)

        self.push_screen(ResetOffsetsScreen(group.broker, group.group, group.destination), done)

    def ask_read_dlq(self, dlq: DeadLetterQueue, then: Callable[[], None]) -> None:
        """Run `then`, which reads `dlq`; when reading costs its messages a delivery (`read_hazard`), only
        after a confirmation that says so, and never in a readonly profile."""
        if dlq.read_hazard is None:
            then()
            return
        refusal = self.backend.refusal(f"reading {dlq.name}")
        if refusal:
            self.notify(f"{refusal}: {dlq.read_hazard}", severity="warning")
            return
        body = Text.assemble(
            "Read the dead letters of ", plain(dlq.name, 100), " on ", plain(dlq.broker, 40), "? ",
            plain(dlq.read_hazard, 300), ".",
        )  # fmt: skip

        def confirmed(yes: object) -> None:
            if yes:
                then()

        self.push_screen(ConfirmScreen("Read dead letters", body, confirm="Read"), confirmed)

    def ask_replay(
        self, dlq: DeadLetterQueue, ids: Collection[str] | None, verb: str, *, done: Callable[[], None]
    ) -> None:
        refusal = self.backend.refusal(f"dlq {verb}")
        if refusal:
            self.notify(refusal, severity="warning")
            return

        def finished(result: object) -> None:
            if result is not None:
                done()

        # The preview reads every dead letter it plans to move.
        self.ask_read_dlq(dlq, lambda: self.push_screen(ReplayScreen(dlq.broker, dlq.name, ids, verb=verb), finished))

    def ask_delete(self, dlq: DeadLetterQueue, ids: Collection[str], *, done: Callable[[], None]) -> None:
        refusal = self.backend.refusal("dlq delete")
        if refusal:
            self.notify(refusal, severity="warning")
            return
        body = Text.assemble(
            f"Delete {len(ids):,} dead letter(s) from ", plain(dlq.name, 100), " on ", plain(dlq.broker, 40),
            "? They will not be replayed.",
        )  # fmt: skip
        if dlq.read_hazard is not None:  # finding them reads the others
            body.append_text(Text.assemble(" Finding them reads the others: ", plain(dlq.read_hazard, 300), "."))

        def confirmed(yes: object) -> None:
            if yes:
                self._delete(dlq, list(ids), done)

        self.push_screen(ConfirmScreen("Delete dead letters", body, confirm="Delete"), confirmed)

    @work(exclusive=False, exit_on_error=False)
    async def _delete(self, dlq: DeadLetterQueue, ids: list[str], done: Callable[[], None]) -> None:
        try:
            deleted = await self.backend.delete_dead_letters(dlq.broker, dlq.name, ids)
        except Exception as exc:
            self.notify(error_text(exc), severity="error")
            return
        self.notify(f"deleted {deleted:,} of {len(ids):,} dead letter(s) from {dlq.name}")
        done()
