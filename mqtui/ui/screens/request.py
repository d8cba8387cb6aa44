"""Request/reply: send one request to a subject and wait for the service's answer (NATS).

The question an operator asks during an incident is "does the service on this subject answer, and
with what?". The form sends one request with the body and headers typed in, waits at most the
timeout given, and hands the reply back to be shown in the message detail view; no responder, a
timeout or a lost connection stay in the form as one line, so the next try is one key away.
"""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable, Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, TextArea

from mqtui.model import Message, OutgoingMessage
from mqtui.ui.cells import error_text
from mqtui.ui.keys import Command, bindings
from mqtui.ui.screens.common import Dialog
from mqtui.ui.widgets.brokerselect import BrokerSelect
from mqtui.ui.widgets.completion import CompletingInput, candidates_text

MAX_TIMEOUT = 300.0

Send = Callable[[str, str, OutgoingMessage, float], Awaitable[Message]]
"""Sends (broker, subject, request, timeout) and returns the reply."""


def parse_header_pairs(text: str) -> tuple[tuple[str, bytes], ...]:
    """`trace=abc "x-user=ops team"`: headers on one line; raises ValueError naming a bad one."""
    pairs = []
    for item in shlex.split(text):
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"header must look like NAME=VALUE, not {item!r}")
        pairs.append((name, value.encode("utf-8")))
    return tuple(pairs)


class RequestScreen(Dialog[Message | None]):
    """Closes with the reply, or None when cancelled; `send` does the asking."""

    DEFAULT_CSS = """
    RequestScreen #form { grid-size: 2; grid-columns: 12 1fr; grid-rows: auto; height: auto; grid-gutter: 0 1; }
    RequestScreen #body { height: 6; }
    RequestScreen #result { height: auto; }
    """
    KEYS_TITLE = "Request form"
    KEY_COMMANDS: ClassVar[list[Command]] = [
        Command("request.cancel", "escape", "close", "Cancel", "Close the form"),
        Command("request.send", "ctrl+s", "send", "Send", "Send the request and wait for the reply", priority=True),
    ]
    BINDINGS: ClassVar[list[BindingType]] = bindings(KEY_COMMANDS)

    def __init__(
        self,
        brokers: Sequence[str],
        subjects: dict[str, list[str]],
        broker: str | None,
        subject: str,
        *,
        send: Send,
        timeout: float = 5.0,
    ) -> None:
        super().__init__("Send a request and wait for the reply")
        self.brokers = list(brokers)
        self.subjects = subjects
        self.broker = broker
        self.subject = subject
        self.timeout = timeout
        self.send = send
        self.sending = False

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Label(self.dialog_title, id="title")
            with Grid(id="form"):
                yield Label("Broker")
                yield BrokerSelect(self.brokers, self.broker)
                yield Label("Subject")
                yield CompletingInput(self.subject, placeholder="service subject (tab completes)", id="subject",
                                      compact=True)  # fmt: skip
                yield Label("Headers")
                yield Input(placeholder="optional: NAME=VALUE NAME2=VALUE2", id="headers", compact=True)
                yield Label("Timeout (s)")
                yield Input(f"{self.timeout:g}", type="number", id="timeout", compact=True)
            yield Label("Body")
            yield TextArea(id="body", compact=True)
            yield Label(id="result")
            with Horizontal(classes="buttons"):
                yield Button(f"Cancel ({self.key('request.cancel')})", id="cancel", compact=True)
                yield Button(f"Send ({self.key('request.send')})", id="send", variant="primary", compact=True)

    def on_mount(self) -> None:
        self._update_subjects()
        self.query_one("#body" if self.subject else "#subject").focus()

    def _broker(self) -> str | None:
        return self.query_one("#broker", BrokerSelect).chosen

    @on(Select.Changed, "#broker")
    def _update_subjects(self) -> None:
        self.query_one("#subject", CompletingInput).set_names(self.subjects.get(self._broker() or "", []))

    @on(CompletingInput.Candidates)
    def _candidates(self, event: CompletingInput.Candidates) -> None:
        self._say(candidates_text(event.names, event.current, event.note))

    def _say(self, text: str | Text, *, error: bool = False) -> None:
        result = self.query_one("#result", Label)
        result.update(text if isinstance(text, Text) else Text(text))
        result.set_class(error, "error")

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    @on(Button.Pressed, "#send")
    def action_send(self) -> None:
        if self.sending:
            return
        broker = self._broker()
        subject = self.query_one("#subject", Input).value.strip()
        if broker is None:
            return self._say("choose a broker", error=True)
        if not subject:
            return self._say("subject must not be empty", error=True)
        try:
            timeout = float(self.query_one("#timeout", Input).value or self.timeout)
            if not 0 < timeout <= MAX_TIMEOUT:
                raise ValueError
        except ValueError:
            return self._say(f"timeout must be a number of seconds above 0, at most {MAX_TIMEOUT:g}", error=True)
        try:
            headers = parse_header_pairs(self.query_one("#headers", Input).value)
        except ValueError as exc:
            return self._say(str(exc), error=True)
        body = self.query_one("#body", TextArea).text.encode("utf-8")
        self.sending = True
        self._say(f"waiting up to {timeout:g}s for a reply on {subject}…")
        message = OutgoingMessage(value=body, headers=headers)
        self.run_worker(self._send(broker, subject, message, timeout), exclusive=True, exit_on_error=False)

    async def _send(self, broker: str, subject: str, message: OutgoingMessage, timeout: float) -> None:
        try:
            reply = await self.send(broker, subject, message, timeout)
        except Exception as exc:
            self.sending = False
            return self._say(error_text(exc), error=True)
        self.sending = False
        self.dismiss(reply)
