"""Broker-neutral records that every adapter maps its broker's answers to.

The UI, the CLI and the services only ever see these types, so a pane written once works for Kafka,
RabbitMQ, Redis and NATS alike. Every record is frozen: a poll produces a new snapshot instead of
mutating the one a pane is drawing.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

#: A header value as brokers hand it over: bytes (Kafka, NATS), or a typed AMQP value (RabbitMQ).
HeaderValue = bytes | str | int | float | bool | None | datetime | list | dict
Headers = tuple[tuple[str, HeaderValue], ...]
Position = int | str


class DestinationKind(enum.StrEnum):
    """What a name refers to on its broker; shown in the Kind column."""

    TOPIC = "topic"
    QUEUE = "queue"
    STREAM = "stream"
    SUBJECT = "subject"
    LIST = "list"
    CHANNEL = "channel"
    EXCHANGE = "exchange"


class Capability(enum.Flag):
    """What an adapter can do, so the UI greys out an action instead of failing at it."""

    NONE = 0
    TAIL = enum.auto()
    """Read new or stored messages without consuming them from anyone."""
    PEEK = enum.auto()
    """Read messages already in a queue in a way that may change their state (RabbitMQ get + requeue)."""
    PUBLISH = enum.auto()
    REPLAY = enum.auto()
    """Send dead letters back to their origin (replay for logs, requeue for queues)."""
    DELETE_DEAD_LETTER = enum.auto()
    PURGE = enum.auto()
    RESET_OFFSETS = enum.auto()
    REQUEST = enum.auto()
    """Request/reply with a timeout, for testing a service."""
    MOVE_QUEUE = enum.auto()
    """Move every message of a queue to another inside the broker (a RabbitMQ shovel): much faster than a
    requeue through the client, but it adds no requeue headers and sends everything to one queue."""
    PEEK_ONLY_READS = enum.auto()
    """Declared beside PEEK when the adapter's peek changes nothing (Redis LRANGE/XRANGE): such a peek is no
    write action, so it asks no confirmation and runs in a readonly profile."""
    SERVER_VIEW = enum.auto()
    """The adapter describes the server as a whole (`BrokerAdapter.describe_server`): NATS, RabbitMQ."""
    GROUPS = enum.auto()
    """The broker has consumer groups whose members and positions can be described
    (`BrokerAdapter.describe_group`): Kafka groups, Redis stream groups, NATS JetStream consumers. A
    RabbitMQ queue's backlog has no group: its rows name the pseudo-group "(consumers)"."""


#: Actions that change a broker's state: they ask for confirmation and are refused in a readonly profile.
WRITE_ACTIONS = (
    Capability.PEEK
    | Capability.PUBLISH
    | Capability.REPLAY
    | Capability.DELETE_DEAD_LETTER
    | Capability.PURGE
    | Capability.RESET_OFFSETS
    | Capability.REQUEST
    | Capability.MOVE_QUEUE
)


@dataclass(frozen=True, slots=True)
class Destination:
    """A topic, queue, stream, subject, list or channel, with what its broker says about its load."""

    broker: str
    name: str
    kind: DestinationKind
    depth: int | None = None
    """Messages held (topic: sum of high - low watermarks; queue: total; stream: entries)."""
    in_flight: int | None = None
    consumers: int | None = None
    partitions: int | None = None
    rate_in: float | None = None
    """Messages per second, as the broker reports it; None where it does not."""
    rate_out: float | None = None
    is_dlq: bool = False
    internal: bool = False
    last_activity: datetime | None = None
    extra: Mapping[str, str] = field(default_factory=dict)
    """Short broker-specific facts worth a column (queue type, retention, replicas)."""
    appended: int | None = None
    """Messages ever appended, a counter that only grows (Kafka: sum of high watermarks; NATS stream: last
    sequence; Redis stream: entries-added); the console derives In/s from it where the broker reports no
    rate. None where the broker keeps no such counter (queues, lists)."""


@dataclass(frozen=True, slots=True)
class DetailSection:
    """A titled table; details of any destination or group are a list of these, drawn generically."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class Detail:
    """Everything the details view shows for one destination or consumer group."""

    broker: str
    name: str
    summary: tuple[tuple[str, str], ...] = ()
    sections: tuple[DetailSection, ...] = ()


@dataclass(frozen=True, slots=True)
class BacklogRow:
    """How far one consumer (group, queue consumer, stream group) is behind on one destination or partition."""

    broker: str
    destination: str
    group: str
    partition: int | None = None
    committed: Position | None = None
    """Committed offset / ack floor / last delivered id; None when nothing was committed yet."""
    end: Position | None = None
    lag: int | None = None
    lag_at_least: bool = False
    """`lag` is a lower bound: the broker could not say and the adapter stopped counting at a bound."""
    in_flight: int | None = None
    consumers: int | None = None
    state: str | None = None
    last_activity: datetime | None = None
    members: tuple[str, ...] = ()
    oldest_waiting_at: datetime | None = None
    """When the oldest message this consumer has not consumed yet was written: its time lag is the age of
    that message. None where nothing waits or the broker cannot say (`time_lag_unknown` says why)."""
    time_lag_unknown: str | None = None
    """Why the time lag cannot be told while messages wait (e.g. a RabbitMQ queue without timestamps)."""

    @property
    def key(self) -> tuple[str, str, str, int | None]:
        """Identity across polls, so history and table rows can follow one row."""
        return (self.broker, self.destination, self.group, self.partition)


@dataclass(frozen=True, slots=True)
class Decoded:
    """A payload (value or key) as a decoder read it: a JSON-able tree and what it was read with.

    Set by `services/decoding` beside the raw bytes, which stay in the message: the raw view, exports
    with `value_raw` and a replay always have the bytes that were on the wire. When decoding failed,
    `value` is None and `error` is the one line shown above the raw payload.
    """

    format: str
    """"avro", "protobuf", "json-schema", "json", "msgpack", "cbor"; a decompression or base64 step is
    named first ("gzip+json"); "raw" when nothing could be read."""
    value: object = None
    schema_id: int | None = None
    schema_subject: str | None = None
    schema_version: int | None = None
    schema_name: str | None = None
    """The Avro record, Protobuf message or JSON Schema title the payload was read as."""
    envelope: str | None = None
    """"message" ({id, type, payload, timestamp}) or "dead-letter" (original_message, retry_count, ...)."""
    error: str | None = None
    """Why the payload could not be read (or, with a value, why it does not match its schema)."""

    @property
    def ok(self) -> bool:
        """Whether there is a value to show (a JSON null is one); False when decoding failed."""
        return self.error is None or self.value is not None

    @property
    def label(self) -> str:
        """The format and schema in a few words, e.g. "avro orders-value v3 (id 7)"."""
        words = [self.format]
        if self.schema_subject:
            words.append(self.schema_subject + (f" v{self.schema_version}" if self.schema_version else ""))
        elif self.schema_name:
            words.append(self.schema_name)
        if self.schema_id is not None:
            words.append(f"(id {self.schema_id})")
        if self.envelope:
            words.append(f"[{self.envelope} envelope]")
        return " ".join(words)


@dataclass(frozen=True, slots=True)
class Message:
    """One message as read from a broker; payloads are untrusted bytes until a renderer makes them safe."""

    broker: str
    destination: str
    partition: int | None
    position: Position
    timestamp: datetime | None
    key: bytes | None
    value: bytes
    headers: Headers = ()
    redelivered: int = 0
    decoded: Decoded | None = None
    """The value as `services/decoding` read it (None: not decoded, shown as text or hex as before)."""
    decoded_key: Decoded | None = None

    def header(self, name: str) -> HeaderValue:
        """The last value of a header (Kafka allows repeats; the last one wins, as in most clients)."""
        found: HeaderValue = None
        for key, value in self.headers:
            if key == name:
                found = value
        return found


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message to publish; broker-specific properties (exchange, content type) travel beside it."""

    value: bytes
    key: bytes | None = None
    headers: Headers = ()


@dataclass(frozen=True, slots=True)
class PublishResult:
    sent: int
    failed: tuple[tuple[int, str], ...] = ()
    """(index of the message in the request, reason) for each message the broker did not accept."""
    positions: tuple[Position, ...] = ()
    unroutable: int = 0


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message that failed processing, with where it came from and why."""

    id: str
    """Stable within its DLQ (partition:offset, stream id, sequence), used to select and replay it."""
    message: Message
    origin: str | None
    reason: str | None = None
    attempts: int | None = None
    first_failure: datetime | None = None
    last_failure: datetime | None = None
    origin_partition: int | None = None
    origin_position: Position | None = None
    extra: Mapping[str, str] = field(default_factory=dict)
    """Broker-specific provenance (exchange, routing keys, x-death entries, consumer name)."""
    gone: bool = False
    """The original message no longer exists (NATS: aged out of its stream); it cannot be replayed."""


@dataclass(frozen=True, slots=True)
class DeadLetterQueue:
    broker: str
    name: str
    kind: DestinationKind
    origin: str | None
    count: int | None
    oldest: datetime | None = None
    detected_by: str = "naming rule"
    """Why this is a DLQ: naming rule, dead-letter exchange, advisories, max deliveries."""
    read_hazard: str | None = None
    """Why reading this DLQ's entries changes them, or None when reading is harmless. RabbitMQ reads with
    get + requeue, which counts as a delivery on a quorum queue with a delivery limit: a message read past
    it is dropped or dead-lettered on. Reading such a DLQ is then confirmed and refused when readonly."""


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """Messages parked until a due time, then tried again: a retry topic, a TTL + dead-letter queue or a
    sorted-set schedule. Shown beside the dead letters, because a retry that keeps failing ends there.

    Counts are of messages still waiting; `due_now` ones are past their due time (a consumer should have
    taken them), `due_later` ones are not due yet. A broker that cannot tell a count leaves it None and
    says why in `unknown_reason`."""

    broker: str
    destination: str
    convention: str
    """How it was recognised: "spring retry topic", "retry envelope", "rq scheduled", "sidekiq",
    "sorted-set schedule", "ttl + dead-letter"."""
    origin: str | None
    """Where the retried messages go back to, where the name or the broker says."""
    due_now: int | None
    due_later: int | None
    next_due_at: datetime | None = None
    """When the earliest message not due yet becomes due; None when none waits (or it cannot be told)."""
    overdue_since: datetime | None = None
    """The due time of the oldest message past due: how long retries have been left waiting."""
    at_least: bool = False
    """The counts are lower bounds: the adapter stopped reading at its per-destination cap."""
    unknown_reason: str | None = None

    @property
    def waiting(self) -> int | None:
        """Everything parked, due or not; None when either count is unknown."""
        if self.due_now is None or self.due_later is None:
            return None
        return self.due_now + self.due_later


@dataclass(frozen=True, slots=True)
class ReplayItem:
    """One planned move: shown as the preview before a replay and executed by it."""

    id: str
    target: str
    skip_reason: str | None = None


@dataclass(frozen=True, slots=True)
class ReplayResult:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    duplicates: int = 0
    """Messages that may have been delivered twice because the broker cannot deduplicate."""
    errors: tuple[str, ...] = ()


ProgressCallback = Callable[[int, int], None]
"""Called with (done, total) while a long action runs; must be cheap and thread-safe."""


_STREAM_ID = re.compile(r"[0-9]+-[0-9]+")
_MAX_OFFSET = 2**63 - 1
"""Kafka offsets are signed 64-bit; no broker has a larger position, so a larger one is a typo."""
_MAX_STREAM_ID_PART = 2**64 - 1


@dataclass(frozen=True, slots=True)
class StartPosition:
    """Where a tail starts: `end` (new messages only), `beginning`, an offset/sequence/id, or a time."""

    kind: Literal["end", "beginning", "offset", "time"]
    offset: Position | None = None
    time: datetime | None = None
    partition_offsets: tuple[tuple[int, int], ...] = ()
    """(partition, offset) pairs that override `kind` on those partitions: how a tail that lost its
    broker resumes just after the last message it showed on each partition (Kafka)."""

    @classmethod
    def parse(cls, text: str, option: str = "--from") -> StartPosition:
        """Read the CLI's `--from` (or `--to`, named by `option`) value: beginning | end | an integer | a
        stream id | an ISO 8601 time. Out-of-range positions are refused here rather than by a broker."""
        value = text.strip()
        lowered = value.lower()
        if lowered in ("end", "latest", "now"):
            return cls("end")
        if lowered in ("beginning", "earliest", "start"):
            return cls("beginning")
        if value.isascii() and value.isdigit():
            if int(value) > _MAX_OFFSET:
                raise ValueError(f"{option}: offset {value} is larger than any broker's ({_MAX_OFFSET})")
            return cls("offset", offset=int(value))
        if _STREAM_ID.fullmatch(value):
            if any(int(part) > _MAX_STREAM_ID_PART for part in value.split("-")):
                raise ValueError(f"{option}: each part of a stream id is at most {_MAX_STREAM_ID_PART}, not {value}")
            return cls("offset", offset=value)
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{option} must be beginning, end, an offset or an ISO 8601 time, not {text!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return cls("time", time=moment)

    def __str__(self) -> str:
        if self.kind == "offset":
            return str(self.offset)
        if self.kind == "time" and self.time is not None:
            return self.time.isoformat()
        return self.kind


def utc_from_millis(millis: int | float | None) -> datetime | None:
    """Brokers report times in epoch milliseconds; 0 or negative means "unknown"."""
    if millis is None or millis <= 0:
        return None
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


@dataclass(frozen=True, slots=True)
class RangePart:
    """One partition's share of a range read (`part` None: the whole destination), as resolved before
    reading, so a search can say what it covered and what the broker no longer holds."""

    part: int | None
    start: Position | None
    """First position read (inclusive); None when the part holds nothing of the range."""
    end: Position | None
    """Last position read (inclusive) as the destination stood when the range was planned."""
    count: int | None
    """Messages between them; an upper bound with `until` or a gap, None when the broker cannot tell."""
    since: datetime | None = None
    """The read skips the messages before the first one stamped at or after this (a start time that the
    broker's time look-up may have placed too early)."""
    until: datetime | None = None
    """The read stops at the first message stamped at or after this (a time range's end found by reading)."""
    missing: str | None = None
    """What of the asked range this part no longer holds, and why ("offsets 0..499: deleted by retention")."""


@dataclass(frozen=True, slots=True)
class RangePlan:
    """What `BrokerAdapter.read_range` will read: the parts and their bounds, fixed when planned, so a
    search never follows messages that arrive while it reads."""

    destination: str
    parts: tuple[RangePart, ...]
    part_name: str = "partition"
    hazard: str | None = None
    """Why reading changes the messages (a RabbitMQ queue read by get + requeue marks them redelivered):
    then the read is confirmed and refused in a readonly profile, as a peek is."""

    @property
    def total(self) -> int | None:
        """Messages in the range (an upper bound where a part stops by time), None when not known."""
        counts = [part.count for part in self.parts]
        return None if any(c is None for c in counts) else sum(c for c in counts if c is not None)
