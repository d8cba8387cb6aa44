"""What the panes ask of the console screen, and how snapshots reach it: one small message each.

Panes never call the screen or the app: they post one of these and the console screen answers (most
by starting a workflow, `mqtui.ui.workflows`). What a pane needs to draw comes down to it as
attributes instead (`Pane.snapshots`, `Pane.policy`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.message import Message as TextualMessage

from mqtui.model import DeadLetter, DeadLetterQueue, Destination, Message
from mqtui.services.alerts import Alert, AlertBoard
from mqtui.services.backend import ConsoleBackend
from mqtui.services.snapshot import BrokerSnapshot, GroupLag


@dataclass
class SnapshotArrived(TextualMessage):
    """A new snapshot of one broker, posted from the backend's thread.

    A backlog of snapshots of the same broker collapses into the newest: only it is drawn.
    """

    backend: ConsoleBackend
    snapshot: BrokerSnapshot

    def can_replace(self, message: TextualMessage) -> bool:
        return (
            isinstance(message, SnapshotArrived)
            and message.backend is self.backend
            and message.snapshot.name == self.snapshot.name
        )


@dataclass
class AlertsChanged(TextualMessage):
    """Alerts opened or closed, posted from the backend's thread: the whole board, and what changed (each
    one is said once, so these never collapse into one another)."""

    backend: ConsoleBackend
    board: AlertBoard
    changes: tuple[Alert, ...]


@dataclass
class DetailsRequested(TextualMessage):
    """Show a destination's details (partitions, configs, bindings, consumers)."""

    broker: str
    destination: str


@dataclass
class GroupOpened(TextualMessage):
    """Show a consumer group's partitions and members (or a queue's backlog)."""

    group: GroupLag


@dataclass
class TailRequested(TextualMessage):
    """Open the tail dialog, prefilled with a broker (None: the first that can) and a destination."""

    broker: str | None
    destination: str


@dataclass
class SearchRequested(TextualMessage):
    """Open the search dialog on a destination (expression, range, limit; coverage at the end)."""

    broker: str
    destination: str


@dataclass
class PeekRequested(TextualMessage):
    """Read the messages waiting in a queue (confirmed first where that marks them redelivered)."""

    destination: Destination


@dataclass
class PurgeRequested(TextualMessage):
    destination: Destination


@dataclass
class RequestReplyRequested(TextualMessage):
    """Open the request/reply form, prefilled with a broker and a subject."""

    broker: str | None
    subject: str


@dataclass
class ResetRequested(TextualMessage):
    """Open the offset reset form for a consumer group."""

    group: GroupLag


@dataclass
class DeadLettersRequested(TextualMessage):
    """Read a DLQ's entries (confirmed first where reading costs them a delivery)."""

    dlq: DeadLetterQueue


@dataclass
class ReplayRequested(TextualMessage):
    """Replay or requeue dead letters: `ids` of the DLQ, or every one of them when None."""

    dlq: DeadLetterQueue
    ids: Sequence[str] | None
    verb: str
    """The broker's word for it: "replay" or "requeue"."""


@dataclass
class WhereRequested(TextualMessage):
    """Choose the open DLQ's entries by an expression (a dialog with the count and a preview)."""

    dlq: DeadLetterQueue


@dataclass
class DeleteRequested(TextualMessage):
    dlq: DeadLetterQueue
    ids: Sequence[str]


@dataclass
class MoveRequested(TextualMessage):
    """Move a whole DLQ to a queue with a shovel inside the broker."""

    dlq: DeadLetterQueue


@dataclass
class MessageOpened(TextualMessage):
    """Show one message (a dead letter's, with `letter`) in full."""

    message: Message
    letter: DeadLetter | None = None


@dataclass
class DuplicateRequested(TextualMessage):
    """Open the publish form with a copy of a message."""

    message: Message
