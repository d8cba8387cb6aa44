"""Choose what to tail: broker, destination (with completion), and where to start."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.widgets import Input, Label, Select

from mqtui.model import StartPosition
from mqtui.ui.screens.common import Dialog
from mqtui.ui.widgets.brokerselect import BrokerSelect
from mqtui.ui.widgets.completion import CompletingInput, candidates_text


@dataclass(frozen=True)
class TailChoice:
    """What to tail, as chosen in the dialog."""

    broker: str
    destination: str
    start: StartPosition


class TailStartScreen(Dialog[TailChoice | None]):
    """Closes with what to tail, or None when cancelled."""

    DEFAULT_CSS = """
    TailStartScreen #form { grid-size: 2; grid-columns: 13 1fr; grid-rows: auto; height: auto; grid-gutter: 0 1; }
    TailStartScreen #form Label { padding-top: 0; }
    TailStartScreen #error { display: none; }
    TailStartScreen #box > #candidates { color: $text-muted; width: 1fr; height: auto; margin-left: 14; display: none; }
    """

    def __init__(
        self, brokers: Sequence[str], destinations: dict[str, list[str]], broker: str | None, destination: str
    ) -> None:
        super().__init__("Tail a destination (nothing is consumed from anyone)")
        self.brokers = list(brokers)
        self.destinations = destinations
        self.broker = broker
        self.destination = destination

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Label(self.dialog_title, id="title")
            with Grid(id="form"):
                yield Label("Broker")
                yield BrokerSelect(self.brokers, self.broker)
                yield Label("Destination")
                yield CompletingInput(
                    self.destination, placeholder="name (tab completes)", id="destination", compact=True
                )
                yield Label("From")
                yield Input("end", placeholder="end | beginning | OFFSET | ISO 8601 time", id="start", compact=True)
            yield Label(id="candidates")
            yield Label(id="error")
            yield Label(
                f"{self.key('input.complete', CompletingInput)}: complete the name · enter: start · "
                f"{self.key('dialog.close')}: cancel",
                classes="muted",
            )

    def on_mount(self) -> None:
        self._suggest()
        self.query_one("#start" if self.destination else "#destination", Input).focus()

    def _broker(self) -> str | None:
        return self.query_one("#broker", BrokerSelect).chosen

    @on(Select.Changed, "#broker")
    def _suggest(self) -> None:
        self.query_one("#destination", CompletingInput).set_names(self.destinations.get(self._broker() or "", []))

    @on(CompletingInput.Candidates)
    def _candidates(self, event: CompletingInput.Candidates) -> None:
        line = candidates_text(event.names, event.current, event.note)
        label = self.query_one("#candidates", Label)
        label.update(line)
        label.display = bool(line)

    @on(Input.Submitted)
    def _submit(self) -> None:
        broker = self._broker()
        destination = self.query_one("#destination", Input).value.strip()
        if broker is None or not destination:
            return self._fail("choose a broker and a destination")
        try:
            start = StartPosition.parse(self.query_one("#start", Input).value or "end")
        except ValueError as exc:
            return self._fail(str(exc))
        self.dismiss(TailChoice(broker, destination, start))

    def _fail(self, text: str) -> None:
        error = self.query_one("#error", Label)
        error.update(Text(text))
        error.add_class("error")  # shown only with something to say: an empty one is a bare red bar
        error.display = True
