"""What one poll of a Redis database found: list queues, streams with their groups, channels, RQ registries.

Plain records filled in by `discovery.Collector` (and a stream group's lag by `lag.LagCounter`), read by
the adapter and the dead-letter code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass
class ConsumerInfo:
    name: str
    pending: int
    idle_ms: int | None
    inactive_ms: int | None = None


@dataclass
class GroupInfo:
    name: str
    consumers: int
    pending: int
    last_delivered: str
    entries_read: int | None
    lag: int | None
    members: list[ConsumerInfo] = field(default_factory=list)
    lag_at_least: bool = False
    """The lag was counted (Redis said nil) and counting stopped at its bound: a lower bound."""
    oldest_waiting: str | None = None
    """The id of the oldest entry the group has not consumed: the first after its last-delivered id, or
    its oldest pending entry when that is older (read only for groups with lag or pending entries)."""

    def last_activity(self, now: float) -> datetime | None:
        idles = [m.inactive_ms if m.inactive_ms is not None else m.idle_ms for m in self.members]
        known = [i for i in idles if i is not None and i >= 0]
        return datetime.fromtimestamp(now - min(known) / 1000, tz=UTC) if known else None


@dataclass
class StreamInfo:
    name: str
    length: int
    first_id: str | None
    last_id: str
    groups: list[GroupInfo]
    entries_added: int | None = None
    last_activity: datetime | None = None
    memory: int | None = None
    is_dlq: bool = False
    origin: str | None = None
    internal: bool = False


@dataclass
class ListQueue:
    """A list used as a queue, with its processing lists folded in; also DLQ and processing lists."""

    name: str
    depth: int
    in_flight: int | None = None
    processing: tuple[str, ...] = ()
    convention: str = "list"
    is_dlq: bool = False
    origin: str | None = None
    internal: bool = False
    last_activity: datetime | None = None
    memory: int | None = None
    extra: dict[str, str] = field(default_factory=dict)
    consumers: int | None = None
    """Workers a job framework records for this queue (BullMQ's named connections, Sidekiq processes)."""
    members: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        """The pseudo consumer-group name of its backlog row."""
        return f"({self.convention})"


@dataclass
class FailureSet:
    """A job framework's own store of failed jobs (BullMQ's failed set, Sidekiq's retry and dead sets),
    shown as a dead-letter queue named `name`; `origin` is where its jobs go back to, when one queue."""

    name: str
    origin: str | None
    count: int
    detected_by: str
    oldest: datetime | None = None


@dataclass
class Snapshot:
    lists: dict[str, ListQueue] = field(default_factory=dict)
    streams: dict[str, StreamInfo] = field(default_factory=dict)
    channels: list[tuple[str, int]] = field(default_factory=list)
    rq_failed: dict[str, int] = field(default_factory=dict)
    """RQ failed-job registry key -> jobs in it."""
    dramatiq_dead: dict[str, int] = field(default_factory=dict)
    """Dramatiq dead-letter set (`<ns>:<queue>.XQ`) -> messages in it."""
    failure_sets: list[FailureSet] = field(default_factory=list)
    gone: list[bytes] = field(default_factory=list)
    """Keys the scanner knew that no longer exist (an emptied list is deleted by Redis)."""
    taken_at: float = 0.0
