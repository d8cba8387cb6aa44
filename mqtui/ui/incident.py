"""The console's side of incident snapshots: the key that writes one, and a reopened one's views.

Kept beside the workflows rather than in the console screen: the screen lays out and routes, this
module knows what a snapshot takes from the panes (every broker's snapshot, the Tail pane's buffer,
the open DLQ's entries as read) and puts back into them when a snapshot is opened offline.
"""

from __future__ import annotations

from textual import work

from mqtui.services.backend import ConsoleBackend
from mqtui.services.incident import (
    RecordedDeadLetters,
    RecordedTail,
    build_document,
    default_path,
    stored_history,
    write_document,
)
from mqtui.services.snapshot import BrokerSnapshot
from mqtui.services.tailer import TailStream
from mqtui.ui.cells import error_text
from mqtui.ui.panes.dlq import Listing
from mqtui.ui.workflows import ConsoleWorkflows


class IncidentViews(ConsoleWorkflows):
    """Writing a snapshot of what is shown (`S`), and showing a snapshot's recorded views."""

    def _show_recorded_views(self, backend: ConsoleBackend) -> None:
        """A snapshot's tail and open DLQ, in their panes as they were when it was taken (live: none)."""
        tail, letters = backend.recorded_views()
        if tail is not None:
            config = backend.profile.broker(tail.broker)
            stream = TailStream.fixed(config, tail.destination, tail.messages, ended=True)
            self.tail_pane.start(stream, label=f"recorded in the snapshot: {len(tail.messages):,} messages")
        if letters is not None:  # as `DeadLettersPane.read` would, but leaving the focus on the first pane
            self.dead_letters_pane.listing = Listing(letters.dlq, letters.letters, read_at=letters.read_at)

    def action_snapshot(self) -> None:
        """Write what the console shows now, with the tail's buffer and the open DLQ's entries."""
        if self.backend.offline_note is not None:  # the file it came from is that snapshot, settings and all
            self.notify(f"nothing new to write: this is the {self.backend.offline_note}", severity="warning")
            return
        stream = self.tail_pane.stream
        tail = None
        if stream is not None:
            tail = RecordedTail(stream.broker, stream.destination, tuple(self.tail_pane.buffer))
        listing = self.dead_letters_pane.listing
        letters = None
        if listing.dlq is not None and listing.entries:
            letters = RecordedDeadLetters(listing.dlq, listing.entries, listing.read_at)
        self._write_snapshot(self.backend, list(self.snapshots.values()), tail, letters)

    @work(thread=True, exit_on_error=False, group="snapshot")
    def _write_snapshot(
        self,
        backend: ConsoleBackend,
        snapshots: list[BrokerSnapshot],
        tail: RecordedTail | None,
        letters: RecordedDeadLetters | None,
    ) -> None:
        """Off the UI thread: encoding ten thousand tail messages takes a moment."""
        taken_at = backend.now()
        document = build_document(
            backend.profile_name, backend.profile, snapshots, taken_at, tail=tail, dead_letters=letters,
            alerts=backend.alerts.board, history=stored_history(backend.store, snapshots, taken_at),
        )  # fmt: skip
        try:
            path = write_document(document, default_path(backend.profile_name, taken_at))
        except OSError as exc:
            self.app.call_from_thread(self.notify, f"snapshot not written: {error_text(exc)}", severity="error")
            return
        self.app.call_from_thread(self.notify, f"snapshot written to {path}", timeout=8)
