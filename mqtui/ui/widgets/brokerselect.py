"""The broker a dialog acts on, chosen from the profile's brokers."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Select


class BrokerSelect(Select[str]):
    """Opens on the broker the dialog was called for (the selected row's), else the profile's first.

    Broker names come from the config file and are shown as plain text, never as markup.
    """

    def __init__(self, brokers: Sequence[str], broker: str | None, *, id: str = "broker") -> None:
        chosen = broker if broker in brokers else (brokers[0] if brokers else None)
        super().__init__(
            [(Text(name), name) for name in brokers],
            value=chosen if chosen is not None else Select.NULL,
            allow_blank=chosen is None,
            id=id,
            compact=True,
        )

    @property
    def chosen(self) -> str | None:
        value = self.value
        return value if isinstance(value, str) else None
