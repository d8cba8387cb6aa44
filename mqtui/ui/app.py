"""The console application: what is app-wide around the console screen.

The app never touches a broker. It holds the backend of the profile shown (and swaps it when the
profile is switched), the theme, the keymap from the config, the command palette and the `?` key
list; the console screen (`mqtui.ui.screens.console`) holds the layout and the panes and does the
rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from textual import events, work
from textual.app import App, ScreenStackError
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.notifications import SeverityLevel
from textual.signal import Signal
from textual.timer import Timer

from mqtui.errors import MqtuiError
from mqtui.services.backend import ConsoleBackend
from mqtui.ui import themes
from mqtui.ui.cells import error_text, plain
from mqtui.ui.collector import IdleCollector, release_garbage_collector, tune_garbage_collector
from mqtui.ui.keys import Command, action_name, bindings
from mqtui.ui.screens.common import ConfirmScreen, DetailScreen, Dialog, KeysScreen, ProfilesScreen
from mqtui.ui.screens.console import GLOBAL_COMMANDS, PALETTE, PANES, ConsoleScreen
from mqtui.ui.screens.groupchart import GroupScreen
from mqtui.ui.screens.message import MessageScreen
from mqtui.ui.screens.publish import PublishScreen
from mqtui.ui.screens.replay import ReplayScreen
from mqtui.ui.screens.request import RequestScreen
from mqtui.ui.screens.reset import ResetOffsetsScreen
from mqtui.ui.screens.search import SearchScreen
from mqtui.ui.screens.where import WhereScreen
from mqtui.ui.widgets.completion import CompletingInput

KEY_LOOK_EVERY = 1 / 60
"""Seconds between looks for a key's answer (`MqtuiApp._look_for_answer`): a frame."""
KEY_ANSWERED_BY = 0.15
"""Seconds after a key by which its answer counts as painted, whatever was seen (a clock's messages
must not hold polling back)."""

#: Dialogs and dialog widgets whose keys `?` lists and `[keys]` remaps (their ids are unique).
DIALOGS: list[type[Dialog[Any]] | type[CompletingInput]] = [
    Dialog, ConfirmScreen, DetailScreen, GroupScreen, MessageScreen, PublishScreen, RequestScreen, ReplayScreen,
    ResetOffsetsScreen, SearchScreen, WhereScreen, CompletingInput,
]  # fmt: skip


def dialog_commands() -> list[tuple[str, Command]]:
    """(where, command) for every dialog key: remappable and listed by `?`, but not in the palette."""
    return [(owner.KEYS_TITLE, command) for owner in DIALOGS for command in owner.__dict__.get("KEY_COMMANDS", ())]


def console_commands() -> list[tuple[str | None, Command]]:
    """(pane id, or None for a key that works everywhere, command) for every key of the console."""
    result: list[tuple[str | None, Command]] = [(None, command) for command in GLOBAL_COMMANDS]
    result += [(pane_id, command) for pane_id, _title, cls in PANES for command in cls.KEY_COMMANDS]
    return result


def pane_titles() -> dict[str | None, str]:
    """What the palette and `?` call each owner of commands."""
    return {None: "mqtui", **{pane_id: cls.TITLE for pane_id, _title, cls in PANES}}


#: Seconds after start at which the lag drill-in's plotting library is loaded, in a thread.
CHARTS_AFTER = 2.0


class MqtuiCommands(Provider):
    """The command palette over the console: every command of the console and of every pane, with its key.

    Over a dialog it offers none of them: a dialog answers only its own keys (listed in its footer).
    """

    def _entries(self) -> Iterable[tuple[str, str, Callable[[], object]]]:
        app, screen = self.app, self.screen
        if not isinstance(app, MqtuiApp) or not isinstance(screen, ConsoleScreen):
            return
        titles = pane_titles()
        for pane_id, command in console_commands():
            help_text = f"{command.help} · key {app.key_for(command)}"
            policy = app.backend.policy
            if policy.writes(command.writes) and policy.readonly_refusal(command.label.lower()):
                help_text += " · refused: readonly profile"
            yield f"{titles[pane_id]}: {command.label}", help_text, _runner(screen, pane_id, command)

    async def discover(self) -> Hits:
        for title, help_text, callback in self._entries():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._entries():
            score = max(matcher.match(title), matcher.match(help_text) * 0.8)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)


def _runner(screen: ConsoleScreen, pane_id: str | None, command: Command) -> Callable[[], object]:
    async def run() -> None:
        await screen.run_command(pane_id, command)

    return run


class MqtuiApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "mqtui"
    COMMANDS: ClassVar = App.COMMANDS | {MqtuiCommands}
    BINDINGS: ClassVar[list[BindingType]] = bindings([PALETTE])

    def __init__(self, backend: ConsoleBackend, *, tail_capacity: int = 10_000) -> None:
        super().__init__()
        self.backend = backend
        """The backend of the profile shown."""
        self.tail_capacity = tail_capacity
        self.profile_opened: Signal[ConsoleBackend] = Signal(self, "profile-opened")
        """Published with the backend of each profile switched to, for the console screen to show."""
        self._keymap_applied: dict[str, str] = {}
        self._answer_looks: Timer | None = None
        """Runs `_look_for_answer` every frame while a key is unanswered (paused otherwise)."""
        self._key_backend: ConsoleBackend | None = None
        self._key_at = 0.0
        self._quiet_looks = 0
        self._keys_pressed = 0
        """Keys and clicks seen: an answer painted ends the holds only if no key came since."""
        self.collector = IdleCollector()
        """Runs the garbage collector's older generations when no key is being answered."""
        for theme in themes.load_themes():
            self.register_theme(theme)

    def get_default_screen(self) -> ConsoleScreen:
        return ConsoleScreen(
            self.backend, self.profile_opened, tail_capacity=self.tail_capacity, collector=self.collector
        )

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(themes.VARIABLE_DEFAULTS)

    def on_mount(self) -> None:
        self._apply_theme(self.backend.theme)
        self._apply_keymap(self.backend.keys)
        self._say_notices(self.backend)
        self.call_after_refresh(tune_garbage_collector)
        self.set_interval(1.0, self.collector.tick)
        self._answer_looks = self.set_interval(KEY_LOOK_EVERY, self._look_for_answer, pause=True)
        self.set_timer(CHARTS_AFTER, self._load_charts)

    @work(thread=True, group="charts", exit_on_error=False, description="load the chart library")
    def _load_charts(self) -> None:
        """The plotting library, loaded while nothing happens rather than when the first drill-in opens."""
        import mqtui.ui.widgets.chart  # noqa: F401

    def on_unmount(self) -> None:
        release_garbage_collector()

    def _apply_theme(self, name: str) -> None:
        if name in self.available_themes:
            self.theme = name
        else:
            self.theme = themes.DARK
            self.notify(f"unknown theme {name!r}: using {themes.DARK}", severity="warning")

    def _apply_keymap(self, keymap: dict[str, str]) -> None:
        known = {command.id for _owner, command in console_commands()}
        known |= {command.id for _where, command in dialog_commands()}
        unknown = sorted(set(keymap) - known)
        if unknown:
            self.notify(f"[keys] has unknown binding ids: {', '.join(unknown)} (see ? for the ids)", severity="warning")
        self._keymap_applied = {k: v for k, v in keymap.items() if k in known}
        self.set_keymap(self._keymap_applied)

    def _say_notices(self, backend: ConsoleBackend) -> None:
        for notice in backend.notices:
            self.notify(notice, severity="warning", timeout=10)

    # -- keys --------------------------------------------------------------------------------------
    def key_for(self, command: Command) -> str:
        """The key bound now to `command` (after the config's remapping), as the footer shows it."""
        key = self._keymap_applied.get(command.id, command.key)
        first = key.split(",")[0].strip()
        try:
            return self.get_key_display(Binding(first, ""))
        except Exception:
            return first

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown):
            self.collector.input_seen()
            if not event.is_forwarded:
                self._key_pressed()
        await super().on_event(event)

    def _key_pressed(self) -> None:
        """Polling and the garbage collector step aside until the answer to a key, or a click (a tab
        shown), is painted (`_look_for_answer`)."""
        self.backend.key_pressed()
        self.collector.pause()
        self._key_backend, self._key_at, self._quiet_looks = self.backend, time.monotonic(), 0
        self._keys_pressed += 1
        if self._answer_looks is not None:
            self._answer_looks.resume()

    def _look_for_answer(self) -> None:
        """Every frame while a key is unanswered: it is answered once no widget has had a message waiting
        at two looks a frame apart, and the frame those messages asked for is painted. A key travels from
        the focused widget up to the app one message at a time, and what it sets off (a tab shown, a
        filter changed) as further messages; a message being handled is in no queue, hence two looks; and
        the frame that shows the answer (a new layout takes tens of ms at 10,000 rows) comes after them.
        At the latest after `KEY_ANSWERED_BY`, painted or not."""
        if self._messages_waiting():
            self._quiet_looks = 0
        else:
            self._quiet_looks += 1
        settled = self._quiet_looks >= 2
        if not settled and time.monotonic() - self._key_at < KEY_ANSWERED_BY:
            return
        if self._answer_looks is not None:
            self._answer_looks.pause()
        if settled:
            self.call_after_refresh(self._answer_painted, self._keys_pressed)
        else:
            self._answer_painted(self._keys_pressed, settled=False)

    def _answer_painted(self, key: int, *, settled: bool = True) -> None:
        """Polling and the collector go on, unless another key came meanwhile (its own looks end its
        hold). An answer that settled is on screen and being read: the moment for what the collector
        has put off (`IdleCollector.answered`); one cut off may still be drawing."""
        if key != self._keys_pressed:
            return
        if self._key_backend is not None:
            self._key_backend.key_answered()
        self.collector.resume()
        if settled:
            self.collector.answered()

    def _messages_waiting(self) -> bool:
        try:
            screen = self.screen
        except ScreenStackError:  # the app closing
            return False
        if self.message_queue_size or screen.message_queue_size:
            return True
        return any(node.message_queue_size for node in screen.walk_children(with_self=False))

    def on_key(self, event: events.Key) -> None:
        """A key whose command is refused (greyed in the footer) says why instead of doing nothing."""
        active = self.screen.active_bindings.get(event.key)
        if active is None or active.enabled:
            return
        refusal = getattr(active.node, "refusal", None)
        reason = refusal(action_name(active.binding.action)) if callable(refusal) else None
        if reason:
            event.stop()
            self.notify(reason, severity="warning")

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification is plain text: messages quote broker names, payloads and errors."""
        super().notify(plain(message, 500).plain, title=title, severity=severity, timeout=timeout, markup=False)

    # -- app-wide actions --------------------------------------------------------------------------
    def action_keys(self) -> None:
        groups: dict[str, list[tuple[str, str, str]]] = {}
        titles = pane_titles()
        commands = [("Everywhere" if owner is None else titles[owner], c) for owner, c in console_commands()]
        for where, command in [*commands, *dialog_commands()]:
            groups.setdefault(where, []).append((self.key_for(command), command.help, command.id))
        self.push_screen(KeysScreen(list(groups.items())))

    def action_refresh(self) -> None:
        self.backend.refresh()
        self.notify("polling every broker now", timeout=2)

    def action_toggle_theme(self) -> None:
        self.theme = themes.LIGHT if self.theme == themes.DARK else themes.DARK

    @work(exclusive=True, group="profile", exit_on_error=False)
    async def action_profiles(self) -> None:
        """Ask which profile, open it (the demo may start brokers), show it, then stop the old one."""
        old = self.backend
        name = await self.push_screen_wait(ProfilesScreen(old.profile_names(), old.profile_name))
        if name is None or name == old.profile_name:
            return
        self.notify(f"opening profile {name}…", timeout=3)
        opened = await self._open_profile(old, name).wait()
        if opened is None:
            return
        self.backend = opened
        if opened.profile.theme:
            self._apply_theme(opened.theme)
        self.profile_opened.publish(opened)
        self._say_notices(opened)
        self._stop(old)

    @work(thread=True, exit_on_error=False)
    def _open_profile(self, old: ConsoleBackend, name: str) -> ConsoleBackend | None:
        try:
            return old.open_profile(name)
        except MqtuiError as exc:
            self.call_from_thread(self.notify, error_text(exc), severity="error")
            return None

    @work(thread=True, exit_on_error=False)
    def _stop(self, backend: ConsoleBackend) -> None:
        backend.stop()
