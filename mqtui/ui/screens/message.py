"""One message (or dead letter) in full: where it is, its headers, and its body as text, JSON or hex."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Label, Static

from mqtui import jsonl
from mqtui.model import Capability, DeadLetter, HeaderValue, Message
from mqtui.safetext import hexdump, is_utf8, pretty_json, safe_block, safe_line
from mqtui.ui.cells import plain
from mqtui.ui.keys import Command, bindings
from mqtui.ui.payloads import decoded_block, decoding_summary, key_line
from mqtui.ui.screens.common import Dialog

VIEWS = ("auto", "text", "json", "hex", "decoded")
BODY_LIMIT = 256 * 1024
HEX_COPY_LIMIT = 64 * 1024


def body_text(message: Message, view: str) -> tuple[str, str]:
    """(what view was used, safe text) for a message body; `auto` picks the decoded value (Avro,
    Protobuf, MessagePack... as `services/decoding` read it), then JSON, then text, then hex."""
    decoded = message.decoded
    if view in ("auto", "decoded") and decoded is not None and decoded.ok:
        return f"decoded · {decoded.format}", decoded_block(decoded)
    if view == "decoded":
        reason = decoded.error if decoded is not None else "nothing to decode (text or opaque bytes)"
        return "decoded", f"(not decoded: {safe_line(reason, 300)})"
    value = message.value[:BODY_LIMIT]
    cut = len(message.value) - len(value)
    suffix = f"\n… {cut:,} more bytes (export the message to see them all)" if cut else ""
    if view in ("auto", "json"):
        pretty = pretty_json(value) if not cut else None
        if pretty is not None:
            return "json", pretty + suffix
        if view == "json":
            return "json", "(not valid JSON)\n" + safe_block(value) + suffix
    if view == "hex" or (view == "auto" and not is_utf8(value)):
        return "hex", hexdump(value)
    return "text", safe_block(value) + suffix


def clipboard_text(message: Message, view: str) -> tuple[str, str]:
    """(what `c` copies, a note saying what that is) for a message's value.

    The value itself rather than what the view draws: the whole text when it is UTF-8 without control
    characters (past the view's 256 KB cut too); else its exact bytes as base64, since an ESC or a
    bidi override put on the clipboard would act wherever it is pasted (a terminal, a shell); the hex
    dump only when the hex view was chosen with `v`. The clipboard is written with OSC 52, whose
    payload is itself base64, so none of it reaches the terminal as characters.
    """
    value = message.value
    size = f"{len(value):,} bytes"
    if view == "hex":
        cut = len(value) > HEX_COPY_LIMIT
        scope = f"the first {HEX_COPY_LIMIT:,} of {size}" if cut else size
        return hexdump(value, HEX_COPY_LIMIT), f"copied the hex dump of {scope}"
    if is_utf8(value):
        text = value.decode("utf-8")
        if safe_block(text, None) == text.replace("\r\n", "\n"):
            return text, f"copied {size} as text"
        why = "it holds control characters"
    else:
        why = "not UTF-8"
    return base64.b64encode(value).decode("ascii"), f"copied {size} as base64 ({why})"


def header_text(value: HeaderValue) -> str:
    """A header value as text: UTF-8 as is, anything else as JSON (bytes that are not UTF-8: base64)."""
    converted = jsonl.header_value(value)
    return converted if isinstance(converted, str) else json.dumps(converted, ensure_ascii=False, default=str)


#: The `DeadLetter.extra` key of a job framework's traceback (RQ, Dramatiq), shown as a section of its own.
TRACEBACK = "traceback"


@dataclass(frozen=True)
class DuplicateMessage:
    """What the message view closes with when `d` was pressed: publish a copy of `message`."""

    message: Message


class MessageScreen(Dialog[DuplicateMessage | None]):
    """A message with headers; `v` cycles the body view, `c` copies the value, `d` duplicates it.

    `duplicate_refusal` says why `d` is refused (a readonly profile, a broker that cannot publish)."""

    DEFAULT_CSS = """
    MessageScreen > #box { height: 90%; }
    MessageScreen #meta { height: auto; }
    MessageScreen #headers { height: auto; max-height: 12; }
    MessageScreen #traceback-scroll { height: auto; max-height: 8; border-top: solid $panel; }
    MessageScreen #body-scroll { height: 1fr; border-top: solid $panel; }
    MessageScreen .section-title { text-style: bold; color: $primary; }
    """
    KEYS_TITLE = "Message"
    KEY_COMMANDS: ClassVar[list[Command]] = [
        Command("message.close", "escape", "close", "Close", "Close the message"),
        Command("message.view", "v", "view", "View", "Cycle the body view: auto, text, JSON, hex, decoded"),
        Command("message.raw", "x", "raw", "Raw hex", "Switch between the raw bytes as hex and the auto view"),
        Command("message.copy", "c", "copy", "Copy", "Copy the value (as text, base64, or the hex dump in hex view)"),
        Command("message.duplicate", "d", "duplicate", "Duplicate", "Open the publish form with this message",
                writes=Capability.PUBLISH),
    ]  # fmt: skip
    BINDINGS: ClassVar[list[BindingType]] = bindings(KEY_COMMANDS)

    def __init__(
        self,
        message: Message,
        *,
        letter: DeadLetter | None = None,
        view: str = "auto",
        title: str = "",
        duplicate_refusal: str | None = None,
    ) -> None:
        heading = Text.assemble(plain(message.broker, 40), " / ", plain(message.destination, 80))
        if title:
            heading = Text.assemble(title, " · ", heading)
        super().__init__(heading)
        self.message = message
        self.letter = letter
        self.view = view
        self.duplicate_refusal = duplicate_refusal

    def compose(self) -> ComposeResult:
        message = self.message
        with Vertical(id="box"):
            yield Label(self.dialog_title, id="title")
            meta: DataTable[Text] = DataTable(show_header=False, cursor_type="none", id="meta")
            meta.add_columns("field", "value")
            rows: list[tuple[str, object]] = [
                ("partition", "-" if message.partition is None else message.partition),
                ("position", message.position),
                ("timestamp", jsonl.iso(message.timestamp) or "-"),
                ("key", "-" if message.key is None else key_line(message, 300) if message.decoded_key else message.key),
                ("size", f"{len(message.value):,} bytes"),
                *([("decoding", summary)] if (summary := decoding_summary(message)) else []),
                ("redelivered", message.redelivered),
            ]
            if self.letter is not None:
                letter = self.letter
                rows += [
                    ("dead letter id", letter.id),
                    ("origin", letter.origin or "-"),
                    ("reason", letter.reason or "-"),
                    ("attempts", "-" if letter.attempts is None else letter.attempts),
                    ("first failure", jsonl.iso(letter.first_failure) or "-"),
                    ("last failure", jsonl.iso(letter.last_failure) or "-"),
                ]
                if letter.gone:
                    rows.append(("state", "original no longer exists: cannot be replayed"))
                rows += [(name, value) for name, value in letter.extra.items() if name != TRACEBACK]
            for name, value in rows:
                meta.add_row(Text(name), plain(value, 300))
            yield meta
            yield Label(f"Headers ({len(message.headers):,})", classes="section-title")
            headers: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True, id="headers")
            headers.add_columns("name", "value")
            for name, value in message.headers[:2000]:
                headers.add_row(plain(name, 80), plain(header_text(value), 300))
            if len(message.headers) > 2000:
                headers.add_row(Text("…"), Text(f"{len(message.headers) - 2000:,} more headers not shown"))
            yield headers
            traceback = self.letter.extra.get(TRACEBACK) if self.letter is not None else None
            if traceback:  # a job framework's failure: its lines matter, the last one most, so not one cell
                yield Label("Traceback", classes="section-title")
                with VerticalScroll(id="traceback-scroll"):
                    yield Static(Text(safe_block(traceback)), id="traceback")
            yield Label(id="body-title", classes="section-title")
            with VerticalScroll(id="body-scroll"):
                yield Static(id="body")

    def on_mount(self) -> None:
        self._render_body()
        for scroll in self.query("#traceback-scroll"):
            scroll.scroll_end(animate=False)  # the frames nearest the failure and the exception come last

    def _render_body(self) -> None:
        used, text = body_text(self.message, self.view)
        self.query_one("#body-title", Label).update(f"Body · {used}" + (" (auto)" if self.view == "auto" else ""))
        self.query_one("#body", Static).update(Text(text))

    def action_view(self) -> None:
        self.view = VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)]
        self._render_body()

    def action_raw(self) -> None:
        self.view = "auto" if self.view == "hex" else "hex"
        self._render_body()

    def action_copy(self) -> None:
        text, note = clipboard_text(self.message, self.view)
        self.app.copy_to_clipboard(text)
        self.notify(note)

    def action_duplicate(self) -> None:
        self.dismiss(DuplicateMessage(self.message))

    def refusal(self, action: str) -> str | None:
        return self.duplicate_refusal if action == "duplicate" else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return None if self.refusal(action) else True
