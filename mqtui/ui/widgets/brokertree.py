"""The left column: brokers with a health badge and state, and their destinations beneath.

Labels are built as `Text` (a Tree would read a plain string as markup). The tree is rebuilt only
when the set of destinations changes; a poll that only changes depths or health updates labels.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from mqtui.services.snapshot import BrokerSnapshot
from mqtui.ui.cells import badge, colour, plain, short_status

MAX_CHILDREN = 200
NODE_INDENT = 3
"""Columns before a broker's label: the expand arrow and its gap."""


@dataclass(frozen=True)
class TreeTarget:
    """What a node stands for: a broker, or one of its destinations."""

    broker: str
    destination: str | None = None
    server: bool = False
    """The broker's server view (NATS, RabbitMQ) rather than the broker or a destination."""


class BrokerTree(Tree[TreeTarget]):
    DEFAULT_CSS = """
    BrokerTree { width: 100%; height: 1fr; background: $surface; padding: 0 0; overflow-x: hidden; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text("brokers"), id=id)
        self.show_root = False
        self.guide_depth = 2
        self._brokers: dict[str, TreeNode[TreeTarget]] = {}
        self._names: dict[str, tuple[str, ...]] = {}
        self._servers: set[str] = set()

    def set_brokers(self, brokers: list[tuple[str, str]], *, servers: Collection[str] = ()) -> None:
        """One node per broker; those in `servers` get a "server info" leaf above their destinations."""
        self.clear()
        self._brokers.clear()
        self._names.clear()
        self._servers = set(servers)
        for name, _kind in brokers:
            node = self.root.add(Text(name), data=TreeTarget(name), expand=True)
            self._brokers[name] = node

    def _name_room(self, state: str) -> int:
        """Columns left for a broker's name after its badge and state: the state comes first, so a
        narrow tree (26 columns below 150) cuts the name, never the retry countdown."""
        width = self.scrollable_content_region.width
        if width <= 0:  # hidden: drawn again within a second of being shown (the console's tick)
            return 40
        return max(6, min(40, width - NODE_INDENT - 2 - len(state)))

    def show(self, snapshot: BrokerSnapshot, now: datetime) -> None:
        node = self._brokers.get(snapshot.name)
        if node is None:
            return
        variables = self.app.theme_variables
        state = short_status(snapshot, now)
        label = Text.assemble(
            badge(snapshot, variables), " ", Text(state, style=colour(variables, "muted")), " ",
            plain(snapshot.name, self._name_room(state)),
        )  # fmt: skip
        if label != node.label:  # a new label repaints every line beneath the broker
            node.set_label(label)
        names = tuple(d.name for d in snapshot.destinations if not d.internal)
        if names != self._names.get(snapshot.name):
            self._names[snapshot.name] = names
            node.remove_children()
            if snapshot.name in self._servers:
                node.add_leaf(Text("server info", style=colour(variables, "muted")),
                              data=TreeTarget(snapshot.name, server=True))  # fmt: skip
            dlqs = {q.name for q in snapshot.dlqs}
            for name in names[:MAX_CHILDREN]:
                text = plain(name, 60)
                if name in dlqs:
                    text.append(" DLQ", style=colour(variables, "lag-critical"))
                node.add_leaf(text, data=TreeTarget(snapshot.name, name))
            if len(names) > MAX_CHILDREN:
                node.add_leaf(
                    Text(f"… {len(names) - MAX_CHILDREN:,} more (see Destinations)"), data=TreeTarget(snapshot.name)
                )
