"""What every pane shares: its keys, why one is refused, the data it is given, redrawing only when shown.

Attributes down, messages up: the console screen sets `snapshots`, `broker_filter`, `active`, `policy`
and `clock`; a pane draws from them and posts a message (`mqtui.ui.messages`) for anything beyond itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from rich.text import Text
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.reactive import var
from textual.widget import Widget

from mqtui.model import Capability
from mqtui.services.alerts import Alert, AlertBoard
from mqtui.services.policy import WritePolicy
from mqtui.services.snapshot import BrokerSnapshot
from mqtui.ui.cells import colour
from mqtui.ui.keys import Command, action_name


def profile_refusal(
    policy: WritePolicy, snapshots: Iterable[BrokerSnapshot], capability: Capability, *, action: str, nobody: str
) -> str | None:
    """Why a form that lets the user choose among the profile's brokers cannot open, or None: `action` is
    refused in a readonly profile, and `nobody` is said once every broker is known and none can. While no
    broker's capabilities are known yet, the form opens and the broker refuses when it is sent."""
    readonly = policy.readonly_refusal(action)
    if readonly:
        return readonly
    known = [snapshot for snapshot in snapshots if snapshot.capabilities]
    if not known or any(snapshot.can(capability) for snapshot in known):
        return None
    return nobody


def request_refusal(policy: WritePolicy, snapshots: Iterable[BrokerSnapshot]) -> str | None:
    """Why request/reply cannot be used in this profile at all, or None."""
    return profile_refusal(
        policy,
        snapshots,
        Capability.REQUEST,
        action="request",
        nobody="no broker of this profile can do request/reply (NATS can)",
    )


def publish_refusal(policy: WritePolicy, snapshots: Iterable[BrokerSnapshot]) -> str | None:
    """Why nothing can be published in this profile at all, or None."""
    return profile_refusal(
        policy, snapshots, Capability.PUBLISH, action="publish", nobody="no broker of this profile can publish"
    )


def flagged(cells: list[Text], alerts: tuple[Alert, ...], variables: dict[str, str]) -> list[Text]:
    """A row's cells with a "!" before the first where an alert is open on the row (after any dimming:
    an alert kept open on a stale row still shows), for tables whose cells are made as `Text`. Rows
    made as texts first mark theirs the same way (`cells.flag_text`, `rowcells.Cells.flag`)."""
    if not alerts:
        return cells
    mark = colour(variables, "lag-critical", bold=True)
    return [Text.assemble(("! ", mark), cells[0]), *cells[1:]]


class Pane(Vertical):
    """A tab of the console. Subclasses list their KEY_COMMANDS and implement `redraw`."""

    KEY_COMMANDS: ClassVar[list[Command]] = []
    TITLE: ClassVar[str] = ""

    snapshots: var[Mapping[str, BrokerSnapshot]] = var(dict, always_update=True, init=False)
    """Every broker's latest snapshot, by name; set after each batch of new snapshots."""
    broker_filter: var[str | None] = var(None, init=False)
    """The one broker shown (chosen in the broker tree), or None for all."""
    active: var[bool] = var(False, init=False)
    """Whether this pane's tab is the one shown: hidden panes redraw when shown, not on every poll."""
    alerts: var[AlertBoard] = var(AlertBoard, init=False)
    """The open alerts: rows with one are flagged (`flagged`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stale = True
        self.policy = WritePolicy(profile="")
        """The profile's write rules: what the pane's keys refuse, and in which words."""
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        """What ages are measured against (fixed in look tests)."""
        self._refused: tuple[bool, ...] | None = None

    # -- drawing -----------------------------------------------------------------------------------
    def watch_snapshots(self) -> None:
        self.snapshots_changed()

    def watch_broker_filter(self) -> None:
        self.snapshots_changed()

    def watch_alerts(self) -> None:
        self.snapshots_changed()

    def flagged(self, cells: list[Text], alerts: tuple[Alert, ...]) -> list[Text]:
        """A row's cells with a "!" before the first where an alert is open on the row (`flagged`)."""
        return flagged(cells, alerts, self.app.theme_variables)

    def watch_active(self, active: bool) -> None:
        if active:
            self.shown()

    def visible_snapshots(self) -> list[BrokerSnapshot]:
        """The snapshots of the brokers shown: all, or the one chosen in the broker tree."""
        return [s for name, s in self.snapshots.items() if self.broker_filter in (None, name)]

    def snapshots_changed(self) -> None:
        """New data arrived: redraw now if this pane is on screen, else when it is shown."""
        self.stale = True
        if self.is_mounted and self.active:
            with contextlib.suppress(NoMatches):  # a redraw timer firing while the console closes
                self.redraw()
                self.stale = False

    def shown(self) -> None:
        if self.stale:
            self.redraw()
            self.stale = False

    def restyle(self) -> None:
        """Draw every cell again (after a theme change, when only colours differ): now if shown."""
        self.stale = True
        if self.active:
            self.redraw(rebuild=True)
            self.stale = False

    def redraw(self, *, rebuild: bool = False) -> None:
        """Draw from `self.snapshots`."""

    def main_widget(self) -> Widget:
        """The widget the pane is operated from."""
        return self

    def focus_main(self) -> None:
        self.main_widget().focus()

    # -- commands ----------------------------------------------------------------------------------
    def command(self, action: str) -> Command | None:
        name = action_name(action)
        for command in self.KEY_COMMANDS:
            if action_name(command.action) == name:
                return command
        return None

    def refusal(self, action: str) -> str | None:
        """Why `action` cannot run right now (shown when its key is pressed), or None."""
        command = self.command(action)
        if command is None or command.writes is None:
            return None
        return self.policy.refusal(command.writes, action=command.label.lower(), broker=self.target_broker())

    def target_broker(self) -> BrokerSnapshot | None:
        """The broker the selected row belongs to (capabilities are checked against it)."""
        return None

    def update_bindings(self) -> None:
        """Redraw the footer only when a command became allowed or refused (a footer redraw is costly)."""
        refused = tuple(bool(self.refusal(command.action)) for command in self.KEY_COMMANDS)
        if refused != self._refused:
            self._refused = refused
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.command(action) is None:
            return True
        return None if self.refusal(action) else True
