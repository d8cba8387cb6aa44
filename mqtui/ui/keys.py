"""Every console command once: its key, binding id, footer label, help text and what it writes.

Bindings, the `?` key list and the command palette are all built from these, so a command that has a
key is always in the palette, and a user's remapping (`[keys]` in the config, by binding id) reaches
all three. Panes, dialogs and the console screen list theirs as `KEY_COMMANDS` (never `COMMANDS`, which
on a Textual screen names its command palette providers). A dialog's keys are remappable and listed by
`?`, but not in the palette, whose commands run on the console screen.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from textual.binding import Binding, BindingType

from mqtui.model import Capability


@dataclass(frozen=True)
class Command:
    id: str
    """Binding id, e.g. "dlq.replay": what `[keys]` in the config remaps."""
    key: str
    action: str
    """Action on the node that owns the command (a pane, the console screen, or "app." for the app)."""
    label: str
    """Short footer label."""
    help: str
    """One line for the palette and the key list."""
    writes: Capability | None = None
    """The capability this command uses to change a broker (refused in a readonly profile)."""
    show: bool = True
    """Shown in the footer (everything is in `?` and the palette regardless)."""
    priority: bool = False
    """Checked before the focused widget's own keys (ctrl+s in a form whose text area has focus)."""


def bindings(commands: Iterable[Command]) -> list[BindingType]:
    return [
        Binding(c.key, c.action, c.label, show=c.show, id=c.id, tooltip=c.help, priority=c.priority)
        for c in commands
    ]  # fmt: skip


def action_name(action: str) -> str:
    """ "replay" from "replay" or "pause(1)": what `check_action` receives."""
    return action.split("(", 1)[0]
