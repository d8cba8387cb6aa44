"""The header (which profile, how dangerous) and the status line (how fresh, what is wrong)."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, Static

from mqtui.services.snapshot import BrokerSnapshot, BrokerStatus
from mqtui.tables import age
from mqtui.ui.format import plain, short_status


class ProfileBar(Horizontal):
    """mqtui · profile name, red for production, a READ-ONLY badge when writes are refused."""

    DEFAULT_CSS = """
    ProfileBar {
        height: 1;
        background: $panel;
        color: $foreground;
        & > Label { padding: 0 1; }
        & > #title { text-style: bold; color: $accent; }
        & > #profile { text-style: bold; }
        & > #readonly { background: $readonly; color: white; text-style: bold; display: none; }
        & > #production { background: $production; color: white; text-style: bold; display: none; }
        & > #summary { width: 1fr; content-align: right middle; color: $text-muted; }
        &.-production { background: $production 60%; }
        &.-production > #production { display: block; }
        &.-readonly > #readonly { display: block; }
    }
    """

    def compose(self) -> ComposeResult:
        yield Label("mqtui", id="title")
        yield Label(id="profile")
        yield Label("PRODUCTION", id="production")
        yield Label("READ-ONLY", id="readonly")
        yield Label(id="summary")

    def show_profile(self, name: str, *, production: bool, readonly: bool, brokers: int) -> None:
        self.query_one("#profile", Label).update(Text.assemble("profile ", plain(name, 60)))
        self.set_class(production, "-production")
        self.set_class(readonly, "-readonly")
        self.query_one("#summary", Label).update(f"{brokers} broker{'s' if brokers != 1 else ''}")


class StatusBar(Static):
    """Connected count, the first broker that is down with its retry countdown, age of the oldest data,
    the first error, and any notices from start-up.

    The countdown is here, near the start of the line, because below 150 columns the broker tree (which
    also shows it) is hidden, and at 26 columns wide it has little room for it.
    """

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        width: 100%;
        background: $panel;
        color: $text-muted;
        padding: 0 1;
        &.-error { color: $error; }
    }
    """

    def show_state(self, snapshots: list[BrokerSnapshot], now: datetime, notices: tuple[str, ...] = ()) -> None:
        total = len(snapshots)
        up = sum(1 for s in snapshots if s.status in (BrokerStatus.CONNECTED, BrokerStatus.DEGRADED))
        polled = [s.polled_at for s in snapshots if s.polled_at is not None]
        parts = [f"{up}/{total} brokers up"]
        down = [s for s in snapshots if s.status is BrokerStatus.UNREACHABLE]
        if down:
            first = f"{plain(down[0].name, 40).plain} {short_status(down[0], now)}"
            parts.append(first + (f" (+{len(down) - 1} more down)" if len(down) > 1 else ""))
        if polled:
            parts.append(f"data {age(min(polled), now)} old")
        errors = [s.error for s in snapshots if s.error]
        if errors:
            parts.append(errors[0] + (f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""))
        parts.extend(notices)
        self.set_class(bool(errors), "-error")
        self.update(plain(" · ".join(parts), None), layout=False)
