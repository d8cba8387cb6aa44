"""The publish form: destination, key, headers, properties, body (checked as JSON), count, templates."""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import orjson
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Label, Select, TextArea

from mqtui import templates
from mqtui.model import Message, OutgoingMessage, PublishResult
from mqtui.safetext import is_utf8
from mqtui.services.compose import build_messages, parse_headers
from mqtui.services.decoding import describe
from mqtui.ui.cells import error_text, plain
from mqtui.ui.keys import Command, bindings
from mqtui.ui.screens.common import Dialog
from mqtui.ui.screens.message import header_text
from mqtui.ui.widgets.brokerselect import BrokerSelect
from mqtui.ui.widgets.completion import CompletingInput, candidates_text

MAX_COUNT = 100_000

Send = Callable[[str, str, list[OutgoingMessage], dict[str, str]], Awaitable[PublishResult]]
"""Publishes (broker, destination, messages, broker-specific options)."""
Encode = Callable[[str, str, str, list[OutgoingMessage]], Awaitable[list[OutgoingMessage]]]
"""Encodes (broker, destination, schema subject, messages) with the registry subject's schema."""


@dataclass(frozen=True)
class Published:
    """What the form closes with once every message was accepted."""

    broker: str
    destination: str
    sent: int


@dataclass
class PublishDraft:
    """What the form opens with: empty, a selected destination, or a message to duplicate."""

    broker: str | None = None
    destination: str = ""
    key: str = ""
    headers: Sequence[tuple[str, str]] = ()
    body: str | bytes = ""
    options: dict[str, str] = field(default_factory=dict)
    schema: str = ""
    """A registry subject to encode the JSON body with ("" sends the body as is)."""

    @classmethod
    def duplicate(cls, message: Message) -> PublishDraft:
        """A copy of `message`; one decoded with a registry schema comes as its JSON with the subject,
        so it is encoded again the same way."""
        body: str | bytes = message.value.decode("utf-8") if is_utf8(message.value) else message.value
        key = "" if message.key is None else message.key.decode("utf-8", errors="backslashreplace")
        headers = [(name, header_text(value)) for name, value in message.headers]
        decoded, schema = message.decoded, ""
        if decoded is not None and decoded.ok and decoded.schema_subject and decoded.schema_id is not None:
            version = f":{decoded.schema_version}" if decoded.schema_version else ""
            body, schema = describe(decoded.value), decoded.schema_subject + version
        return cls(message.broker, message.destination, key, headers, body, schema=schema)


def json_state(body: str) -> tuple[bool, str]:
    """(is valid JSON, one-line description) for the body as the first message will carry it."""
    if not body.strip():
        return False, "empty body"
    try:
        orjson.loads(templates.expand(body, 1))
    except orjson.JSONDecodeError as exc:
        return False, f"not valid JSON: {str(exc).splitlines()[0]}"
    return True, "valid JSON"


def parse_options(text: str) -> dict[str, str]:
    """`exchange=orders routing_key=eu mode=jetstream`: broker-specific publish properties."""
    options = {}
    for item in shlex.split(text):
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"property must look like NAME=VALUE, not {item!r}")
        options[name] = value
    return options


class PublishScreen(Dialog[Published | None]):
    """Closes with what was sent, or None when cancelled; `send` publishes, and `refusal` says why a
    broker chosen in the form may not be published to (a readonly profile, a broker that cannot)."""

    DEFAULT_CSS = """
    PublishScreen > #box { height: 95%; max-height: 44; }
    PublishScreen #form { grid-size: 2; grid-columns: 12 1fr; grid-rows: auto; height: auto; grid-gutter: 0 1; }
    PublishScreen #form Label { padding-top: 0; }
    PublishScreen #headers { height: 4; }
    PublishScreen #body { height: 1fr; min-height: 4; }
    PublishScreen #json-state { height: 1; }
    PublishScreen #json-state.-bad { color: $error; }
    PublishScreen #result { height: auto; }
    PublishScreen #checks { height: 1; }
    PublishScreen #checks Checkbox { border: none; padding: 0; height: 1; margin-right: 2; }
    """
    KEYS_TITLE = "Publish form"
    KEY_COMMANDS: ClassVar[list[Command]] = [
        Command("publish.cancel", "escape", "close", "Cancel", "Close the form without sending"),
        Command("publish.send", "ctrl+s", "send", "Send", "Send the messages", priority=True),
    ]
    BINDINGS: ClassVar[list[BindingType]] = bindings(KEY_COMMANDS)

    def __init__(
        self,
        brokers: Sequence[str],
        destinations: dict[str, list[str]],
        draft: PublishDraft,
        *,
        send: Send,
        refusal: Callable[[str], str | None],
        encode: Encode | None = None,
    ) -> None:
        super().__init__("Publish test messages")
        self.brokers = list(brokers)
        self.destinations = destinations
        self.draft = draft
        self.send = send
        self.encode = encode
        self.refusal = refusal
        self.binary_body = draft.body if isinstance(draft.body, bytes) else None
        self.sending = False
        self.json_choice: bool | None = None
        """The operator's own choice for "Require valid JSON"; until then it follows the body's look."""

    def compose(self) -> ComposeResult:
        draft = self.draft
        with Vertical(id="box"):
            yield Label(self.dialog_title, id="title")
            with Grid(id="form"):
                yield Label("Broker")
                yield BrokerSelect(self.brokers, draft.broker)
                yield Label("Destination")
                yield CompletingInput(
                    draft.destination,
                    placeholder="topic, queue, stream, subject or list (tab completes)",
                    id="destination",
                    compact=True,
                )
                yield Label("Key")
                yield Input(
                    draft.key, placeholder="optional; {{seq}} {{uuid}} {{now}} are filled in", id="key", compact=True
                )
                yield Label("Properties")
                yield Input(
                    " ".join(f"{k}={shlex.quote(v)}" for k, v in draft.options.items()),
                    placeholder="broker-specific: exchange=x routing_key=y mode=jetstream",
                    id="options",
                    compact=True,
                )
                yield Label("Count")
                yield Input("1", type="integer", id="count", compact=True)
                if self.encode is not None:
                    yield Label("Schema")
                    yield Input(draft.schema, placeholder="registry subject[:version]: encode the JSON body "
                                "(Avro, Protobuf, JSON Schema)", id="schema", compact=True)  # fmt: skip
            yield Label("Headers (NAME=VALUE, one per line)")
            yield TextArea("\n".join(f"{k}={v}" for k, v in draft.headers), id="headers", compact=True)
            if self.binary_body is not None:
                yield Label(f"Body: {len(self.binary_body):,} bytes of binary data, sent as is")
                yield TextArea(plain(self.binary_body, 2000).plain, read_only=True, id="body", compact=True)
            else:
                yield Label("Body ({{uuid}}, {{now}} and {{seq}} are filled in for each message)")
                yield TextArea(draft.body if isinstance(draft.body, str) else "", id="body", compact=True)
            with Horizontal(id="checks"):
                yield Checkbox("Require valid JSON", value=self._looks_json(), id="require-json")
                yield Label(id="json-state")
            yield Label(id="result")
            with Horizontal(classes="buttons"):
                yield Button(f"Cancel ({self.key('publish.cancel')})", id="cancel", compact=True)
                yield Button(f"Send ({self.key('publish.send')})", id="send", variant="primary", compact=True)

    def _looks_json(self) -> bool:
        body = self.draft.body
        return isinstance(body, str) and body.lstrip()[:1] in ("{", "[")

    def on_mount(self) -> None:
        self._update_suggestions()
        self._check_body()
        self.query_one("#destination" if not self.draft.destination else "#body").focus()

    def _broker(self) -> str | None:
        return self.query_one("#broker", BrokerSelect).chosen

    def _update_suggestions(self) -> None:
        self.query_one("#destination", CompletingInput).set_names(self.destinations.get(self._broker() or "", []))

    @on(CompletingInput.Candidates)
    def _candidates(self, event: CompletingInput.Candidates) -> None:
        result = self.query_one("#result", Label)
        result.remove_class("error")
        result.update(candidates_text(event.names, event.current, event.note))

    @on(Select.Changed, "#broker")
    def _broker_changed(self) -> None:
        self._update_suggestions()

    @on(Checkbox.Changed, "#require-json")
    def _json_choice(self, event: Checkbox.Changed) -> None:
        if event.value != self._looks_json_now():
            self.json_choice = event.value
        self._check_body()

    def _looks_json_now(self) -> bool:
        return self.binary_body is None and self.query_one("#body", TextArea).text.lstrip()[:1] in ("{", "[")

    @on(TextArea.Changed, "#body")
    def _check_body(self) -> None:
        label = self.query_one("#json-state", Label)
        if self.binary_body is not None:
            label.update("")
            return
        body = self.query_one("#body", TextArea).text
        valid, text = json_state(body)
        checkbox = self.query_one("#require-json", Checkbox)
        if self.json_choice is None and checkbox.value != self._looks_json_now():
            with checkbox.prevent(Checkbox.Changed):
                checkbox.value = self._looks_json_now()
        required = checkbox.value
        label.update(Text(text))
        label.set_class(required and not valid, "-bad")

    def _fail(self, text: str) -> None:
        result = self.query_one("#result", Label)
        result.update(Text(text))
        result.add_class("error")

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#send")
    def action_send(self) -> None:
        if self.sending:
            return
        broker = self._broker()
        destination = self.query_one("#destination", Input).value.strip()
        if broker is None:
            return self._fail("choose a broker")
        if not destination:
            return self._fail("destination must not be empty")
        try:
            count = int(self.query_one("#count", Input).value or "1")
            if not 1 <= count <= MAX_COUNT:
                raise ValueError
        except ValueError:
            return self._fail(f"count must be a whole number from 1 to {MAX_COUNT:,}")
        try:
            headers = parse_headers(self.query_one("#headers", TextArea).text)
            options = parse_options(self.query_one("#options", Input).value)
        except ValueError as exc:
            return self._fail(str(exc))
        body: str | bytes
        if self.binary_body is not None:
            body = self.binary_body
        else:
            body = self.query_one("#body", TextArea).text
            valid, why = json_state(body)
            if self.query_one("#require-json", Checkbox).value and not valid:
                return self._fail(f"body is {why} (untick 'Require valid JSON' to send it anyway)")
        key = self.query_one("#key", Input).value or None
        messages = build_messages(body, key=key, headers=headers, count=count)
        refusal = self.refusal(broker)
        if refusal:
            return self._fail(refusal)
        schema = self.query_one("#schema", Input).value.strip() if self.encode is not None else ""
        if schema and not json_state(body if isinstance(body, str) else "")[0]:
            return self._fail("a schema encodes a JSON body: make the body valid JSON or clear the schema")
        self.sending = True
        self.query_one("#result", Label).update(f"sending {count:,} message(s)…")
        work = self._send(broker, destination, messages, options, schema)
        self.run_worker(work, exclusive=True, exit_on_error=False)

    async def _send(
        self, broker: str, destination: str, messages: list[OutgoingMessage], options: dict[str, str], schema: str = ""
    ) -> None:
        try:
            if schema and self.encode is not None:
                messages = await self.encode(broker, destination, schema, messages)
            result = await self.send(broker, destination, messages, options)
        except Exception as exc:
            self.sending = False
            return self._fail(error_text(exc))
        self.sending = False
        if result.failed or result.unroutable:
            first = result.failed[0][1] if result.failed else "no queue was bound to receive it"
            return self._fail(
                f"sent {result.sent:,}, failed {len(result.failed):,}, unroutable {result.unroutable:,}: {first}"
            )
        self.dismiss(Published(broker, destination, result.sent))
