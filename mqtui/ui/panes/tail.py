"""Live messages from one destination, read without consuming: pause, filter, inspect, copy, export.

New messages are taken from the tail stream at most ten times a second and appended to the list in
one batch, so thousands of messages a second cost ten small redraws, not thousands.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.reactive import var
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, Label, Static

from mqtui.errors import UsageError
from mqtui.model import Capability, Message
from mqtui.services.snapshot import BrokerSnapshot
from mqtui.services.tailer import TailState, TailStream
from mqtui.ui.cells import plain
from mqtui.ui.choosing import MessageChooser, message_chooser
from mqtui.ui.exporting import ask_and_export, default_path
from mqtui.ui.keys import Command, bindings
from mqtui.ui.messages import DuplicateRequested, MessageOpened, TailRequested
from mqtui.ui.panes.base import Pane
from mqtui.ui.screens.message import VIEWS, body_text, clipboard_text
from mqtui.ui.widgets.messagelist import MessageList

PULL_INTERVAL = 0.1
PREVIEW_LIMIT = 4096
PREVIEW_INTERVAL = 0.3
FILTER_BATCH = 500
"""Messages judged between two frames when a new filter runs over the buffer: an expression jq itself
runs costs ~20 us a message, so a batch holds a frame ~10 ms and 50,000 never freeze the UI for a
second (bench/tail_filter.py)."""


def _state_text(stream: TailStream) -> str:
    """The stream's state; while reconnecting, when and from where it will continue."""
    wait = stream.retry_in()
    if wait is None:
        return stream.state.value
    return f"reconnecting in {wait:.0f}s, resuming {stream.resumed_from}"


class TailPane(Pane):
    TITLE = "Tail"
    KEY_COMMANDS: ClassVar[list[Command]] = [
        Command("tail.start", "t", "start", "Tail…", "Choose a destination and a start position to tail"),
        Command("tail.pause", "space", "pause", "Pause", "Pause or resume the tail"),
        Command("tail.filter", "slash", "filter", "Filter",
                "Filter by a jq expression (.value.id == 42), @saved, or words, key:K, header:NAME=VALUE, FIELD=VALUE"),
        Command("tail.detail", "enter", "detail", "Detail", "The selected message with headers"),
        Command("tail.view", "v", "view", "View", "Body preview: auto, text, JSON, hex", show=False),
        Command("tail.copy", "c", "copy", "Copy", "Copy the selected message's value to the clipboard", show=False),
        Command("tail.export", "e", "export", "Export", "Write the buffer (every message kept, filter or not) to JSON Lines"),
        Command("tail.duplicate", "d", "duplicate", "Duplicate", "Publish a copy of the selected message",
                writes=Capability.PUBLISH, show=False),
        Command("tail.stop", "x", "stop", "Stop", "Stop the tail", show=False),
        Command("tail.clear", "ctrl+l", "clear", "Clear", "Clear the messages shown", show=False),
    ]  # fmt: skip
    BINDINGS: ClassVar = bindings(KEY_COMMANDS)
    DEFAULT_CSS = """
    TailPane #tail-filter, TailPane #tail-filter-error { display: none; }
    TailPane.-filtering #tail-filter { display: block; }
    TailPane.-filtering.-bad-filter #tail-filter-error { display: block; }
    TailPane #tail-filter-error { height: 1; width: 100%; color: $error; padding: 0 1; }
    TailPane #tail-info { height: 1; width: 100%; color: $text-muted; padding: 0 1; }
    TailPane #tail-info.-failed { color: $error; }
    TailPane #preview-title { height: 1; width: 100%; background: $panel; color: $text-muted; padding: 0 1; }
    TailPane #preview-scroll { height: 35%; min-height: 3; background: $surface; padding: 0 1; }
    TailPane #tail-empty { height: auto; color: $text-muted; padding: 1 2; }
    TailPane.-idle #tail-list, TailPane.-idle #preview-title, TailPane.-idle #preview-scroll { display: none; }
    """

    view: var[str] = var("auto", init=False)
    """How the preview shows a body: one of VIEWS."""

    def __init__(self, *, capacity: int = 10_000, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.capacity = capacity
        self.stream: TailStream | None = None
        self.buffer: deque[Message] = deque(maxlen=capacity)
        self.taken = 0
        self.chooser: MessageChooser | None = None
        """The filter applied, compiled once; None shows everything."""
        self.filter_text = ""
        self.saved_filters: Mapping[str, str] = {}
        """The profile's named filters (`@name`), set by the console screen."""
        self._refiltering = False
        self._filter_progress = (0, 0)
        self._timer: Timer | None = None
        self._preview_timer: Timer | None = None
        self._info_line = ""
        self.label = ""
        """What the stream is when it is not a live tail (e.g. "peeked 20 (marked redelivered)")."""

    def compose(self) -> ComposeResult:
        yield Label(id="tail-info")
        yield Input(placeholder="filter: jq (.value.id == 42), @saved, or words, key:K, header:NAME[=VALUE], FIELD=VALUE",
                    id="tail-filter")  # fmt: skip
        yield Label(id="tail-filter-error")
        yield Static("Press t to choose a destination to tail (or t on a row in Destinations).", id="tail-empty")
        yield MessageList(capacity=self.capacity, id="tail-list")
        yield Label(id="preview-title")
        with VerticalScroll(id="preview-scroll"):
            yield Static(id="preview")

    def on_mount(self) -> None:
        self.add_class("-idle")
        self._timer = self.set_interval(PULL_INTERVAL, self.pull, pause=True)
        self._show_info()

    @property
    def messages(self) -> MessageList:
        return self.query_one("#tail-list", MessageList)

    def main_widget(self) -> Widget:
        return self.messages

    def selected(self) -> Message | None:
        return self.messages.cursor_message

    def target_broker(self) -> BrokerSnapshot | None:
        message = self.selected()
        return None if message is None else self.snapshots.get(message.broker)

    def refusal(self, action: str) -> str | None:
        if action in ("pause", "stop") and self.stream is None:
            return "no tail is running: press t to start one"
        if action in ("detail", "copy", "duplicate") and self.selected() is None:
            return "select a message first"
        if action == "export" and not self.buffer:
            return "nothing to export yet"
        return super().refusal(action)

    # -- the stream --------------------------------------------------------------------------------
    def start(self, stream: TailStream, *, label: str = "") -> None:
        self.stop_stream()
        self.stream = stream
        self.label = label
        self._stop_refilter()
        self.buffer.clear()
        self.taken = 0
        self.messages.clear()
        self.query_one("#tail-empty").display = False
        self.remove_class("-idle")
        if self._timer is not None:
            self._timer.resume()
        self._show_info()
        self.update_bindings()

    def stop_stream(self) -> None:
        if self.stream is not None:
            self.stream.stop()
        if self._timer is not None:
            self._timer.pause()

    def pull(self) -> None:
        """Take what arrived since the last pull and show it in one batch."""
        stream = self.stream
        if stream is None:
            return
        batch = stream.take()
        if batch:
            self.taken += len(batch)
            self.buffer.extend(batch)
            if not self._refiltering:  # else the running filter takes them up after the buffer it holds
                shown = batch if self.chooser is None else self.chooser.keep(batch)
                if shown:
                    self.messages.append(shown)
        self._show_info()
        if not stream.active and stream.state is not TailState.PAUSED and self._timer is not None:
            self._timer.pause()

    @property
    def dropped(self) -> int:
        """Messages no longer in view: pushed out of the bounded buffer, or never taken in time."""
        stream_dropped = self.stream.dropped if self.stream is not None else 0
        return max(self.taken - len(self.buffer), 0) + stream_dropped

    def _show_info(self) -> None:
        info = self.query_one("#tail-info", Label)
        stream = self.stream
        if stream is None:
            self._info_line = ""
            info.update("no tail running", layout=False)
            return
        where = f"{stream.broker} / {stream.destination}"
        parts = [where, self.label] if self.label else [f"{where} from {stream.start}", _state_text(stream)]
        if self.filter_text:  # early: a narrow terminal cuts the end, and a filtered view must say so
            parts.append(f"filter: {self.filter_text}")
            if self._refiltering:
                parts.append("filtering {:,} of {:,}".format(*self._filter_progress))
            errors = self.chooser.errors() if self.chooser is not None else None
            if errors:
                parts.append(errors)
        if stream.reconnects and stream.state is not TailState.RECONNECTING:
            parts.append(f"reconnected {stream.reconnects}× ({stream.resumed_from})")
        parts.append(f"received {stream.received:,}")
        parts.append(f"shown {len(self.messages):,}")
        if self.dropped:
            parts.append(f"dropped from view {self.dropped:,}")
        if stream.error:
            parts.append(stream.error)
        if stream.state is TailState.FAILED:
            parts.append("t: start again")
        elif stream.state is TailState.RECONNECTING:
            parts.append("ctrl+r: now")
        info.set_class(stream.state in (TailState.FAILED, TailState.RECONNECTING), "-failed")
        line = " · ".join(parts)
        if line != self._info_line:  # ten pulls a second: an idle tail costs no redraw
            self._info_line = line
            info.update(plain(line, None), layout=False)

    # -- preview -----------------------------------------------------------------------------------
    @on(MessageList.Highlighted)
    def _highlighted(self, event: MessageList.Highlighted) -> None:
        if self.messages.follow and self._preview_timer is None:
            # Following a fast tail: a few previews a second are enough to read, and each costs a layout.
            self._preview_timer = self.set_timer(PREVIEW_INTERVAL, self._preview_newest)
        elif not self.messages.follow:
            self._show_preview(event.message)
        self.update_bindings()

    def _preview_newest(self) -> None:
        self._preview_timer = None
        self._show_preview(self.selected())

    def _show_preview(self, message: Message | None) -> None:
        title = self.query_one("#preview-title", Label)
        preview = self.query_one("#preview", Static)
        if message is None:
            title.update("")
            preview.update("")
            return
        trimmed = Message(
            message.broker, message.destination, message.partition, message.position, message.timestamp,
            message.key, message.value[:PREVIEW_LIMIT], message.headers, message.redelivered, message.decoded,
        )  # fmt: skip
        used, text = body_text(trimmed, self.view)
        size = f"{len(message.value):,} bytes"
        headers = f"{len(message.headers)} header(s)"
        title.update(
            f"{used}{' (auto)' if self.view == 'auto' else ''} · {size} · {headers} · enter: detail, v: view, c: copy",
            layout=False,
        )
        preview.update(Text(text))

    # -- actions -----------------------------------------------------------------------------------
    def action_start(self) -> None:
        message = self.selected()
        stream = self.stream
        broker = stream.broker if stream else (message.broker if message else None)
        self.post_message(TailRequested(broker, stream.destination if stream else ""))

    def action_pause(self) -> None:
        stream = self.stream
        if stream is None:
            return
        if stream.state is TailState.PAUSED:
            stream.resume()
        else:
            stream.pause()
        self._show_info()

    def action_stop(self) -> None:
        self.stop_stream()
        self.pull()

    def action_clear(self) -> None:
        self._stop_refilter()
        self.buffer.clear()
        self.taken = 0
        self.messages.clear()
        self._show_info()

    def action_filter(self) -> None:
        self.add_class("-filtering")
        field = self.query_one("#tail-filter", Input)
        field.value = self.filter_text
        field.focus()

    @on(Input.Changed, "#tail-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        """A filter that compiles replaces the one shown; one that does not (a half-typed expression) is
        said under the field, with where it is wrong, and the messages shown stay as they were."""
        text = event.value.strip()
        try:
            chooser = message_chooser(text, self.saved_filters)
        except UsageError as exc:
            self.query_one("#tail-filter-error", Label).update(plain(str(exc), 300))
            self.add_class("-bad-filter")
            return
        self.remove_class("-bad-filter")
        self.filter_text = text
        self.chooser = chooser
        self._refilter(chooser)

    def _refilter(self, chooser: MessageChooser | None) -> None:
        """Show the buffer through `chooser`: the first batch now (a small buffer is done at once), the
        rest in batches with frames drawn between (`_refilter_rest`)."""
        messages = list(self.buffer)
        head = messages[:FILTER_BATCH]
        self.messages.replace(head if chooser is None else chooser.keep(head))
        taken = self.taken
        if len(messages) > FILTER_BATCH:
            self._refiltering = True
            self._filter_progress = (FILTER_BATCH, len(messages))
            self._refilter_rest(chooser, messages, FILTER_BATCH, taken)
        else:
            self._stop_refilter()
        self._show_info()

    def _stop_refilter(self) -> None:
        """The buffer a running filter holds is about to go: it must not add its messages after."""
        self.workers.cancel_group(self, "tail-filter")
        self._refiltering = False

    @work(exclusive=True, group="tail-filter", exit_on_error=False)
    async def _refilter_rest(
        self, chooser: MessageChooser | None, messages: list[Message], start: int, taken: int
    ) -> None:
        """The rest of the buffer through `chooser`, then what arrived meanwhile (held back by `pull`, so
        the view stays in order); a newer filter cancels this one (exclusive)."""
        done = start
        while True:
            while done < len(messages):
                await asyncio.sleep(0)  # a frame, and keys, between two batches
                batch = messages[done : done + FILTER_BATCH]
                shown = batch if chooser is None else chooser.keep(batch)
                if shown:
                    self.messages.append(shown)
                done += len(batch)
                self._filter_progress = (done, len(messages))
                self._show_info()
            arrived = min(self.taken - taken, len(self.buffer))
            if not arrived:
                break
            messages, done, taken = list(self.buffer)[-arrived:], 0, self.taken
        self._refiltering = False
        self._show_info()

    @on(Input.Submitted, "#tail-filter")
    def _filter_done(self) -> None:
        if not self.filter_text:
            self.remove_class("-filtering")
        self.messages.focus()

    def key_escape(self) -> None:
        if self.has_class("-filtering"):
            self.query_one("#tail-filter", Input).value = ""
            self.remove_class("-filtering")
            self.messages.focus()

    def action_detail(self) -> None:
        message = self.selected()
        if message is not None:
            self.post_message(MessageOpened(message))

    def action_view(self) -> None:
        self.view = VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)]

    def watch_view(self) -> None:
        self._show_preview(self.selected())

    def action_copy(self) -> None:
        message = self.selected()
        if message is None:
            return
        text, note = clipboard_text(message, self.view)
        self.app.copy_to_clipboard(text)
        self.notify(note)

    def action_duplicate(self) -> None:
        message = self.selected()
        if message is not None:
            self.post_message(DuplicateRequested(message))

    @work(exclusive=True, group="export", exit_on_error=False)
    async def action_export(self) -> None:
        """Ask where to, then write the buffer as it was when asked (a thread writes the file)."""
        stream = self.stream
        name = stream.destination if stream else "tail"
        default = default_path("mqtui-", name)

        messages = list(self.buffer)  # what is kept now, not what arrives while the path is typed
        title = f"Export the buffer: {len(messages):,} messages to JSON Lines"
        if self.filter_text:
            title += f" (the filter shows {len(self.messages):,}; it does not apply)"
        hint = "same shape as tail --json"
        if self.dropped:
            hint = f"{self.dropped:,} older messages were dropped from the buffer and are not in it · " + hint
        await ask_and_export(self, messages, title=title, default=default, hint=hint, noun="messages")
