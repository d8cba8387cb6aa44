"""What every pane shares: its commands, why one is refused, and redrawing only when visible."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, ClassVar

from textual.containers import Vertical
from textual.css.query import NoMatches

from mqtui.model import Capability
from mqtui.services.snapshot import BrokerSnapshot
from mqtui.ui.keys import Command, action_name

if TYPE_CHECKING:
    from mqtui.ui.app import MqtuiApp

#: How a capability is named when a broker lacks it ("demo-kafka (kafka) cannot purge").
CAPABILITY_VERBS = {
    Capability.TAIL: "tail without consuming",
    Capability.PEEK: "peek",
    Capability.PUBLISH: "publish",
    Capability.REPLAY: "replay dead letters",
    Capability.DELETE_DEAD_LETTER: "delete dead letters",
    Capability.PURGE: "purge",
    Capability.RESET_OFFSETS: "reset offsets",
    Capability.REQUEST: "do request/reply",
    Capability.MOVE_QUEUE: "move a whole queue (a RabbitMQ shovel does; r replays dead letters)",
}


def only_reads(writes: Capability, target: BrokerSnapshot | None) -> bool:
    """A peek that changes nothing on its broker (Redis LRANGE/XRANGE) is a read: a readonly profile allows it."""
    return writes is Capability.PEEK and target is not None and target.can(Capability.PEEK_ONLY_READS)


class Pane(Vertical):
    """A tab of the console. Subclasses list their COMMANDS and implement `redraw`."""

    COMMANDS: ClassVar[list[Command]] = []
    TITLE: ClassVar[str] = ""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stale = True
        self._refused: tuple[bool, ...] | None = None

    @property
    def mqtui(self) -> MqtuiApp:
        return self.app  # type: ignore[return-value]

    # -- drawing -----------------------------------------------------------------------------------
    def snapshots_changed(self) -> None:
        """New data arrived: redraw now if this pane is on screen, else when it is shown."""
        self.stale = True
        if self.is_mounted and self.mqtui.current_pane is self:
            with contextlib.suppress(NoMatches):  # a redraw timer firing while the console closes
                self.redraw()
                self.stale = False

    def shown(self) -> None:
        if self.stale:
            self.redraw()
            self.stale = False

    def redraw(self, *, rebuild: bool = False) -> None:
        """Draw from `self.mqtui.snapshots`."""

    def focus_main(self) -> None:
        """Focus the widget the pane is operated from."""

    # -- commands ----------------------------------------------------------------------------------
    def command(self, action: str) -> Command | None:
        name = action_name(action)
        for command in self.COMMANDS:
            if action_name(command.action) == name:
                return command
        return None

    def refusal(self, action: str) -> str | None:
        """Why `action` cannot run right now (shown when its key is pressed), or None."""
        command = self.command(action)
        if command is None or command.writes is None:
            return None
        target = self.target_broker()
        readonly = None if only_reads(command.writes, target) else self.mqtui.backend.refusal(command.label.lower())
        if readonly:
            return readonly
        if target is not None and not target.can(command.writes):
            return f"{target.name} ({target.kind}) cannot {CAPABILITY_VERBS[command.writes]}"
        return None

    def target_broker(self) -> BrokerSnapshot | None:
        """The broker the selected row belongs to (capabilities are checked against it)."""
        return None

    def update_bindings(self) -> None:
        """Redraw the footer only when a command became allowed or refused (a footer redraw is costly)."""
        refused = tuple(bool(self.refusal(command.action)) for command in self.COMMANDS)
        if refused != self._refused:
            self._refused = refused
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.command(action) is None:
            return True
        return None if self.refusal(action) else True
