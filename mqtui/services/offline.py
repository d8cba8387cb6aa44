"""The console on an incident snapshot: the same panes, filters and drill-ins, no broker needed.

`OfflineBackend` is a `ConsoleBackend` like the live one, so the console needs no second code path: its
session holds a readonly copy of the recorded profile whose brokers are served by `RecordedAdapter`s,
which answer from the document. Every action still goes through the gateway, so a write is refused by
the readonly policy with the usual words, and a drill-in answers with what the snapshot recorded (a
destination's numbers, a group's partitions, the DLQ entries and tail messages that were on screen).
The clock is frozen at the moment the snapshot was taken, so every age reads as it did then.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import msgspec

from mqtui.brokers import AdapterRegistry
from mqtui.brokers.base import BrokerAdapter
from mqtui.config import BrokerConfig, Config, Profile
from mqtui.errors import NotFound, NotPossible, UsageError
from mqtui.figures import count
from mqtui.jsonl import iso
from mqtui.model import (
    BacklogRow,
    Capability,
    DeadLetter,
    DeadLetterQueue,
    Destination,
    Detail,
    DetailSection,
    Message,
    StartPosition,
)
from mqtui.services.alerts import Alert, AlertBoard, AlertBook
from mqtui.services.backend import ConsoleBackend, SnapshotListener
from mqtui.services.incident import Incident, RecordedDeadLetters, RecordedTail
from mqtui.services.incident_reader import read_document
from mqtui.services.session import Session
from mqtui.services.snapshot import BrokerSnapshot
from mqtui.services.store import Point
from mqtui.services.tailer import TailStream

PLACEHOLDER_URLS = {
    "kafka": "127.0.0.1:9",
    "rabbitmq": "amqp://127.0.0.1:9",
    "redis": "redis://127.0.0.1:9/0",
    "nats": "nats://127.0.0.1:9",
}
"""Where the reopened profile's brokers "are": never contacted (the recorded adapters answer), but a
profile's broker needs a valid URL, and the recorded one is masked."""


class RecordedAdapter(BrokerAdapter[BrokerConfig]):
    """One broker as the snapshot recorded it; subclassed per kind with that broker's capabilities."""

    incident: ClassVar[Incident]

    def _snapshot(self) -> BrokerSnapshot:
        return next(s for s in self.incident.snapshots if s.name == self.name)

    def _not_recorded(self, what: str) -> NotPossible:
        return NotPossible(f"{self.name}: {what} is not in this snapshot (offline: only what was recorded)")

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def destinations(self, *, include_internal: bool = False) -> list[Destination]:
        return [d for d in self._snapshot().destinations if include_internal or not d.internal]

    def _rows(self) -> list[BacklogRow]:
        """The recorded backlog rows, as the groups of the Lag pane hold them."""
        return [row for group in self._snapshot().lag for row in group.rows]

    async def backlog(self, *, group: str | None = None) -> list[BacklogRow]:
        return [r for r in self._rows() if group is None or r.group == group]

    async def dead_letter_queues(self) -> list[DeadLetterQueue]:
        return list(self._snapshot().dlqs)

    async def describe(self, destination: str) -> Detail:
        """The destination's recorded numbers (the snapshot holds no broker-side configuration)."""
        found = [d for d in self._snapshot().destinations if d.name == destination]
        if not found:
            raise NotFound(f"{self.name}: {destination} is not in this snapshot")
        summary: list[tuple[str, str]] = []
        for d in found:
            summary += [("kind", d.kind.value), ("depth", count(d.depth)), ("in flight", count(d.in_flight)),
                        ("consumers", count(d.consumers)), ("partitions", count(d.partitions))]  # fmt: skip
            summary += [(key, value) for key, value in d.extra.items()]
        summary.append(("recorded at", iso(self.incident.taken_at) or "-"))
        return Detail(self.name, destination, summary=tuple(summary))

    async def describe_group(self, group: str) -> Detail:
        """The group's recorded rows on every destination it read."""
        rows = [r for r in self._rows() if r.group == group]
        if not rows:
            raise NotFound(f"{self.name}: group {group} is not in this snapshot")
        members = sorted({m for r in rows for m in r.members})
        section = DetailSection(
            "Recorded positions",
            ("destination", "partition", "committed", "end", "lag", "state"),
            tuple(
                (r.destination, "-" if r.partition is None else str(r.partition), str(r.committed), str(r.end),
                 count(r.lag), r.state or "-")
                for r in rows
            ),
        )  # fmt: skip
        summary = (("members", ", ".join(members) or "-"), ("recorded at", iso(self.incident.taken_at) or "-"))
        return Detail(self.name, group, summary=summary, sections=(section,))

    async def describe_server(self) -> Detail:
        raise self._not_recorded("the server view")

    async def peek(self, destination: str, *, limit: int = 10) -> list[Message]:
        raise self._not_recorded(f"the messages waiting in {destination}")

    async def dead_letters(self, dlq: str, *, limit: int = 100) -> list[DeadLetter]:
        recorded = self.incident.dead_letters
        if recorded is None or (recorded.dlq.broker, recorded.dlq.name) != (self.name, dlq):
            raise self._not_recorded(f"the entries of {dlq}")
        return list(recorded.letters)[:limit]

    def tail(
        self, destination: str, *, start: StartPosition, stop_at_end: bool = False
    ) -> AsyncIterator[Sequence[Message]]:
        raise self._not_recorded(f"a tail of {destination}")


def recorded_adapters(incident: Incident) -> AdapterRegistry:
    """A registry serving each kind of the snapshot with a `RecordedAdapter` that can do what the
    recorded brokers of that kind could (so the console greys and words refusals as it did live)."""
    registry = AdapterRegistry()
    for snapshot in incident.snapshots:
        capabilities = Capability.NONE
        for other in incident.snapshots:
            if other.kind == snapshot.kind:
                capabilities |= other.capabilities
        attributes: dict[str, Any] = {
            "kind": snapshot.kind, "capabilities": capabilities, "replay_verb": snapshot.replay_verb,
            "incident": incident,
        }  # fmt: skip
        adapter = type(f"Recorded{snapshot.kind.title()}Adapter", (RecordedAdapter,), attributes)
        registry.register(snapshot.kind, adapter, capabilities)
    return registry


def offline_profile(incident: Incident) -> Profile:
    """The recorded profile, readonly whatever it was, with brokers that point nowhere."""
    brokers = [
        {"name": s.name, "kind": s.kind, "url": PLACEHOLDER_URLS.get(s.kind, "127.0.0.1:9")} for s in incident.snapshots
    ]
    for broker in brokers:
        if broker["kind"] not in PLACEHOLDER_URLS:
            raise UsageError(f"snapshot: unknown broker kind {broker['kind'][:40]!r}")
    recorded = incident.profile
    return msgspec.convert(
        {"brokers": brokers, "readonly": True, "production": recorded.production,
         "poll_interval": recorded.poll_interval, "stall_polls": recorded.stall_polls, "theme": recorded.theme},
        Profile,
    )  # fmt: skip


class RecordedAlerts(AlertBook):
    """The alerts as the snapshot recorded them: offline, nothing is judged again."""

    def __init__(self, board: AlertBoard) -> None:
        super().__init__(())
        self._recorded = board

    @property
    def board(self) -> AlertBoard:
        return self._recorded

    def observe(self, snapshot: BrokerSnapshot, now: datetime) -> list[Alert]:
        return []


class OfflineBackend(ConsoleBackend):
    """The console's backend over a snapshot file: recorded snapshots, a frozen clock, readonly."""

    def __init__(self, incident: Incident, path: Path) -> None:
        profile = offline_profile(incident)
        name = incident.profile.name
        session = Session(
            name, profile, Config(profiles={name: profile}), path, (), adapters=recorded_adapters(incident)
        )
        super().__init__(session)
        self.incident = incident
        self.path = path
        self.alerts = RecordedAlerts(incident.alerts)

    @classmethod
    def open(cls, path: str | Path) -> OfflineBackend:
        """Read and check the file (one UsageError line when it is no good snapshot)."""
        path = Path(path)
        return cls(read_document(path), path)

    @property
    def offline_note(self) -> str | None:
        when = self.incident.taken_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
        return f"offline snapshot of {self.profile_name} taken at {when}"

    def now(self) -> datetime:
        return self.incident.taken_at

    async def lag_series(self, broker: str, destination: str, group: str, since: datetime) -> list[Point]:
        """The group's history as the snapshot recorded it: the drill-in's chart works offline too."""
        return [p for p in self.incident.history.get((broker, destination, group), ()) if p.at >= since]

    def recorded_views(self) -> tuple[RecordedTail | None, RecordedDeadLetters | None]:
        return self.incident.tail, self.incident.dead_letters

    def start(self, listener: SnapshotListener) -> None:
        for snapshot in self.incident.snapshots:
            listener(snapshot)

    def stop(self) -> None:
        return None

    def snapshots(self) -> dict[str, BrokerSnapshot]:
        return {s.name: s for s in self.incident.snapshots}

    def tail(self, broker: str, destination: str, start: StartPosition, *, capacity: int = 50_000) -> TailStream:
        """The recorded tail again, whatever start is asked: it is all the snapshot holds."""
        recorded = self.incident.tail
        if recorded is None or (recorded.broker, recorded.destination) != (broker, destination):
            raise NotPossible(f"{broker}: a tail of {destination} is not in this snapshot (offline)")
        return TailStream.fixed(self.profile.broker(broker), destination, recorded.messages, ended=True)

    def open_profile(self, name: str) -> ConsoleBackend:
        raise NotPossible("an offline snapshot has one profile: open another snapshot or the live console")
