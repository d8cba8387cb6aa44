"""The console's read-only detail views: a broker's server, a destination, a group's lag drill-in.

Kept out of the console screen, which lays out and routes: this module knows what each view asks the
backend for (`ConsoleBackend.call` on the backend's loop, never on the UI thread) and what a drill-in
takes from the profile (alert thresholds, the recorded lag history and outages).
"""

from __future__ import annotations

import functools

from rich.text import Text

from mqtui.services.snapshot import GroupLag
from mqtui.ui.cells import plain
from mqtui.ui.panes.base import Pane
from mqtui.ui.panes.lag import partition_section, pseudo_group
from mqtui.ui.screens.common import DetailScreen
from mqtui.ui.screens.groupchart import GroupScreen, thresholds_for
from mqtui.ui.workflows import ConsoleWorkflows

NO_SERVER_VIEW = "no broker of this profile has a server view (NATS and RabbitMQ have)"


class DetailViews(ConsoleWorkflows):
    """Server, destination and group details (mixed into `ConsoleScreen`, which gives the pane shown)."""

    broker_filter: str | None

    @property
    def current_pane(self) -> Pane | None:
        raise NotImplementedError

    def server_brokers(self) -> list[str]:
        """The profile's brokers with a server view (their adapters declare it), in profile order."""
        return self.backend.server_view_brokers()

    def action_server(self, broker: str | None = None) -> None:
        """The server view of `broker`, else of the selected row's or the tree's broker, else the first one."""
        candidates = self.server_brokers()
        if not candidates:
            self.notify(NO_SERVER_VIEW, severity="warning")
            return
        if broker is None:
            pane = self.current_pane
            target = pane.target_broker() if pane is not None else None
            preferred = [target.name if target is not None else None, self.broker_filter]
            broker = next((name for name in preferred if name in candidates), candidates[0])
        backend, name = self.backend, broker
        title = Text.assemble(plain(name, 40), " · server")
        self.app.push_screen(DetailScreen(title, lambda: backend.call(name, lambda a: a.describe_server())))

    def show_destination(self, broker: str, destination: str) -> None:
        backend = self.backend
        title = Text.assemble(plain(broker, 40), " / ", plain(destination, 100))
        self.app.push_screen(DetailScreen(title, lambda: backend.call(broker, lambda a: a.describe(destination))))

    def show_group(self, group: GroupLag) -> None:
        """A group's partitions, then its members; for a queue's or list's backlog (no group), the
        destination's details, whose consumers are the closest thing to members."""
        backend = self.backend
        before = [partition_section(group, backend.now())]
        thresholds = thresholds_for(backend.profile.alert_rules(), group)
        history = functools.partial(backend.lag_series, group.broker, group.destination, group.group)
        outages = functools.partial(backend.outages, group.broker)
        if pseudo_group(group.group):
            title = Text.assemble("backlog ", plain(group.group, 20), " of ", plain(group.destination, 80), " on ",
                                  plain(group.broker, 40))  # fmt: skip
            screen = GroupScreen(
                title,
                lambda: backend.call(group.broker, lambda a: a.describe(group.destination)),
                before=before,
                loaded_title=f"{group.destination} now",
                history=history,
                outages=outages,
                thresholds=thresholds,
                clock=backend.now,
            )
        else:
            title = Text.assemble("group ", plain(group.group, 60), " on ", plain(group.broker, 40))
            screen = GroupScreen(
                title,
                lambda: backend.call(group.broker, lambda a: a.describe_group(group.group)),
                before=before,
                loaded_title="The group now, every destination it reads",
                history=history,
                outages=outages,
                thresholds=thresholds,
                clock=backend.now,
            )
        self.app.push_screen(screen)
