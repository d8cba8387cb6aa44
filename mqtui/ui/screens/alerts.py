"""The alert list (`!`): every open alert, then the recently closed ones, with since when and for how long.

It is handed the board as it was when opened (an immutable `AlertBoard`) and the clock, so it draws the
same list in a look test as on call; enter closes it with the alert chosen, and the console jumps to
that alert's row.
"""

from __future__ import annotations

from datetime import datetime

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Label

from mqtui.figures import elapsed
from mqtui.services.alerts import Alert, AlertBoard
from mqtui.ui.cells import colour, plain
from mqtui.ui.screens.common import Dialog

COLUMNS = ("State", "Rule", "Broker", "Destination", "Group", "Since", "For", "Value")
"""The value last: it is the longest (a broker's error line) and may run off the box's edge."""


def when(moment: datetime) -> str:
    """A clock time, in the zone the backend's clock keeps (UTC), as the panes' "as of 10:42:13" notes."""
    return f"{moment:%H:%M:%S}"


class AlertsScreen(Dialog[Alert | None]):
    """Open alerts first (oldest first: the longest-standing problem on top), then the closed ones."""

    DEFAULT_CSS = """
    AlertsScreen > #box { height: auto; max-height: 90%; }
    AlertsScreen DataTable { height: auto; max-height: 30; }
    """

    def __init__(self, board: AlertBoard, now: datetime) -> None:
        super().__init__(f"Alerts: {len(board.open)} open, {len(board.closed)} recently closed")
        self.board = board
        self.now = now
        self.shown = [*board.open, *board.closed]

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Label(self.dialog_title, id="title")
            if not self.shown:
                yield Label("no alert has opened since mqtui started", classes="muted")
            else:
                table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True, id="alerts-table")
                table.add_columns(*COLUMNS)
                critical = colour(self.app.theme_variables, "lag-critical", bold=True)
                muted = colour(self.app.theme_variables, "muted")
                for index, alert in enumerate(self.shown):
                    table.add_row(*self._cells(alert, critical, muted), key=str(index))
                yield table
            yield Label(f"enter: go to the row · {self.key('dialog.close')}: close", classes="muted")

    def _cells(self, alert: Alert, critical: Style, muted: Style) -> list[Text]:
        ended = alert.closed_at or self.now
        lasted = elapsed((ended - alert.since).total_seconds())
        since = when(alert.since) + ("" if alert.open else f" → {when(ended)}")
        state = Text("OPEN", style=critical) if alert.open else Text("closed", style=muted)
        return [
            state, plain(alert.rule, 40), plain(alert.broker, 24), plain(alert.destination or "-", 32),
            plain(alert.group or "-", 28), Text(since), Text(lasted, justify="right"), plain(alert.value, 60),
        ]  # fmt: skip

    @on(DataTable.RowSelected)
    def _chosen(self, event: DataTable.RowSelected) -> None:
        self.dismiss(self.shown[int(event.row_key.value or 0)])
