"""The header (which profile, how dangerous) and the status line (how fresh, what is wrong)."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, Static

from mqtui.figures import age
from mqtui.services.snapshot import BrokerSnapshot, BrokerStatus
from mqtui.ui.cells import colour, plain, short_status


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
        & > #offline { background: $warning; color: black; text-style: bold; display: none; }
        & > #summary { width: 1fr; content-align: right middle; color: $text-muted; }
        &.-production { background: $production 60%; }
        &.-production > #production { display: block; }
        &.-readonly > #readonly { display: block; }
        &.-offline > #offline { display: block; }
    }
    """

    def compose(self) -> ComposeResult:
        yield Label("mqtui", id="title")
        yield Label(id="profile")
        yield Label("PRODUCTION", id="production")
        yield Label("READ-ONLY", id="readonly")
        yield Label(id="offline")
        yield Label(id="summary")

    def show_profile(
        self, name: str, *, production: bool, readonly: bool, brokers: int, offline: str | None = None
    ) -> None:
        """`offline` says which recorded snapshot is shown, so nobody takes its numbers for live ones."""
        self.query_one("#profile", Label).update(Text.assemble("profile ", plain(name, 60)))
        self.set_class(production, "-production")
        self.set_class(readonly, "-readonly")
        self.set_class(offline is not None, "-offline")
        self.query_one("#offline", Label).update(plain(offline or "", 120))
        self.query_one("#summary", Label).update(f"{brokers} broker{'s' if brokers != 1 else ''}")


class StatusBar(Static):
    """How many brokers are up, the first one in trouble (a broker that is down first, with its retry
    countdown, then its reason), notices from start-up, the age of the oldest data, and last the first
    broker notice (what an answer left out, such as keys a bounded Redis scan has not reached).

    The countdown is near the start of the line because below 150 columns the broker tree (which also
    shows it) is hidden, and at 26 columns wide it has little room for it; the down broker's own error
    shares its part ("dead-kafka: down, retry 8s, connection refused"), so its name is not said twice.
    A broker notice is not an error: it stays muted on a red line, and it comes after the data age
    because it is long (a Redis scan notice is over 100 characters) and may be cut where the age is
    short and always wanted; the tooltip holds every broker notice whole.
    """

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        width: 100%;
        background: $panel;
        color: $text-muted;
        padding: 0 1;
        text-wrap: nowrap;  /* cut at the edge, not wrapped onto a second line nobody sees */
        text-overflow: ellipsis;
        &.-error { color: $error; }
    }
    """
    _tooltip_text = ""

    def show_state(self, snapshots: list[BrokerSnapshot], now: datetime, notices: tuple[str, ...] = ()) -> None:
        total = len(snapshots)
        up = sum(1 for s in snapshots if s.status in (BrokerStatus.CONNECTED, BrokerStatus.DEGRADED))
        polled = [s.polled_at for s in snapshots if s.polled_at is not None]
        parts = [f"{up}/{total} brokers up"]
        troubled = [s for s in snapshots if s.status is BrokerStatus.UNREACHABLE or s.error]
        troubled.sort(key=lambda s: s.status is not BrokerStatus.UNREACHABLE)  # stable: profile order within
        if troubled:
            parts.append(
                trouble_text(troubled[0], now) + (f" (+{len(troubled) - 1} more)" if len(troubled) > 1 else "")
            )
        parts.extend(notices)
        if polled:
            parts.append(f"data {age(min(polled), now)} old")
        line = plain(" · ".join(parts), None)
        said = [notice for s in snapshots for notice in s.notices]
        if said:
            first = said[0] + (f" (+{len(said) - 1} more)" if len(said) > 1 else "")
            line.append(" · ")
            line.append(plain(first, None).plain, style=colour(self.app.theme_variables, "muted"))
        self.set_class(bool(troubled), "-error")
        self.update(line, layout=False)
        tooltip = "\n".join(plain(notice, None).plain for notice in said)
        if tooltip != self._tooltip_text:  # set only on a change: a new tooltip is laid out again
            self._tooltip_text = tooltip
            self.tooltip = Text(tooltip) if tooltip else None


def trouble_text(snapshot: BrokerSnapshot, now: datetime) -> str:
    """ "name: down, retry 8s, reason" for a broker that is down, else its error ("name: reason")."""
    name = plain(snapshot.name, 40).plain
    if snapshot.status is not BrokerStatus.UNREACHABLE:
        return snapshot.error or name
    text = f"{name}: {short_status(snapshot, now)}"
    if snapshot.error:
        text += ", " + snapshot.error.removeprefix(f"{snapshot.name}: ")
    return text
