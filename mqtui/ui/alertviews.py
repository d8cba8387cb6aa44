"""Alerts in the console: the header's count, the flagged rows, a notification (and the terminal bell) for
each new alert, and the alert list on `!`.

The backend judges the rules where snapshots arrive (`ConsoleBackend.judge`, on its loop) and this
console is told through `AlertsChanged` with the whole board: the panes get it as their `alerts`
attribute, as they get their snapshots, and nothing here asks a broker anything.
"""

from __future__ import annotations

import asyncio
import contextlib

from textual import events, on, work
from textual.css.query import NoMatches
from textual.widgets import Label
from textual.widgets.data_table import RowDoesNotExist

from mqtui.services.alerts import Alert, AlertBoard
from mqtui.services.backend import ConsoleBackend
from mqtui.ui.messages import AlertsChanged
from mqtui.ui.panes.base import Pane
from mqtui.ui.screens.alerts import AlertsScreen
from mqtui.ui.widgets.bars import ProfileBar
from mqtui.ui.widgets.table import SyncTable
from mqtui.ui.workflows import ConsoleWorkflows


class AlertBadge(Label):
    """ "! 2 alerts" in the header while any alert is open; nothing at all while none is."""

    DEFAULT_CSS = """
    AlertBadge { background: $error; color: $text; text-style: bold; padding: 0 1; display: none; }
    AlertBadge.-open { display: block; }
    """

    def show(self, board: AlertBoard) -> None:
        count = len(board.open)
        self.set_class(count > 0, "-open")
        self.update(f"! {count} alert{'s' if count != 1 else ''}")


class AlertViews(ConsoleWorkflows):
    """The console screen's share of alerts (mixed into `ConsoleScreen`)."""

    alert_board = AlertBoard()
    """The latest board this console was told of (replaced whole, never changed)."""

    @on(events.Mount)
    def _add_alert_badge(self) -> None:
        badge = AlertBadge(id="alert-badge")
        self.query_one(ProfileBar).mount(badge, before="#summary")
        badge.show(self.alert_board)

    def listen_to_alerts(self, backend: ConsoleBackend) -> None:
        """Listen to `backend`'s alerts (at start and after a profile switch), starting from its board."""
        loop = asyncio.get_running_loop()

        def deliver(board: AlertBoard, changes: tuple[Alert, ...]) -> None:
            with contextlib.suppress(RuntimeError):  # the console has closed: nobody to tell
                loop.call_soon_threadsafe(self.post_message, AlertsChanged(backend, board, changes))

        backend.alert_listener = deliver
        self._show_alerts(backend.alerts.board)

    @on(AlertsChanged)
    def _alerts_changed(self, message: AlertsChanged) -> None:
        if message.backend is not self.backend:
            return  # the profile just left
        self._show_alerts(message.board)
        opened = [alert for alert in message.changes if alert.open]
        for alert in opened:
            text = alert.value if alert.value.startswith(alert.row) else f"{alert.row}: {alert.value}"
            self.notify(text, title=f"alert: {alert.rule}", severity="error", timeout=10)
        if opened and self.backend.profile.alert_bell:
            self.app.bell()

    def _show_alerts(self, board: AlertBoard) -> None:
        self.alert_board = board
        for pane in self.query(Pane):
            pane.alerts = board
        with contextlib.suppress(NoMatches):  # before the badge is mounted: it shows the board when it is
            self.query_one(AlertBadge).show(board)

    # -- the list ----------------------------------------------------------------------------------
    def action_alerts(self) -> None:
        if self.app.screen is self:
            self._list_alerts()

    @work(exclusive=True, group="alerts")
    async def _list_alerts(self) -> None:
        chosen = await self.app.push_screen_wait(AlertsScreen(self.alert_board, self.backend.now()))
        if chosen is not None:
            self._go_to(chosen)

    def _go_to(self, alert: Alert) -> None:
        """Show the pane of the alert's row and put the cursor on it (where no filter hides it)."""
        if alert.condition == "broker_down":
            return
        letters = alert.condition == "dead_letters_increase"
        pane_id, table_id = ("dlq", "#dlq-table") if letters else ("lag", "#lag-table")
        key = (alert.broker, alert.destination) if letters else (alert.broker, alert.destination, alert.group)
        self.show_pane(pane_id)

        def select() -> None:
            with contextlib.suppress(NoMatches, RowDoesNotExist):  # a filter hides the row, or it is gone
                table = self.query_one(f"#{pane_id} {table_id}", SyncTable)
                table.move_cursor(row=table.get_row_index(SyncTable.row_id(key)), animate=False)

        self.call_after_refresh(select)
