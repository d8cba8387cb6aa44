"""The incident snapshot: one JSON document holding what the console knew at one moment, to hand over.

On call, "hand this state to the next shift" means the numbers, the groups' recent lag, the dead-letter
counts and the messages someone was looking at, frozen together with when they were true. The document
is written with msgspec from explicit structs (the model's own records where they are plain data) and
read back strictly (`incident_reader`): a file is untrusted input like a broker's answer, so a
truncated, hostile or too new one ends in one `UsageError` line (exit 2), never a traceback, and
`mqtui.services.offline` reopens a good one in the console. Secrets never reach the file: broker settings are masked on the way in.
"""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import msgspec

from mqtui import __version__
from mqtui.config import Profile, redact_url
from mqtui.config.credentials import SECRET_KEYS, URL_KEYS
from mqtui.model import (
    BacklogRow,
    Capability,
    DeadLetter,
    DeadLetterQueue,
    Decoded,
    Destination,
    HeaderValue,
    Message,
    RetrySchedule,
)
from mqtui.secrets import MASK, scrub
from mqtui.services.alerts import AlertBoard
from mqtui.services.snapshot import BrokerSnapshot, BrokerStatus, GroupKey, GroupLag, KeptPart
from mqtui.services.store import HistoryStore, Point

FORMAT: Literal["mqtui-snapshot"] = "mqtui-snapshot"
VERSION = 1
HISTORY_WINDOW = timedelta(hours=1)
"""How much of each group's stored history a snapshot carries: the hour before, as the chart shows it."""
"""Raised when a field changes meaning or a required one is added; a reader refuses higher versions."""


class _Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    pass


class HeaderDoc(_Strict, kw_only=True, frozen=True):
    """One header: bytes as base64 (`kind` "bytes"), text, a time, or another JSON value (AMQP tables)."""

    name: str
    kind: Literal["bytes", "text", "time", "value"]
    value: str | int | float | bool | list[Any] | dict[str, Any] | None = None


class MessageDoc(_Strict, kw_only=True, frozen=True):
    broker: str
    destination: str
    partition: int | None = None
    position: int | str = ""
    timestamp: datetime | None = None
    key: str | None = None
    """Base64 of the key's bytes."""
    value: str = ""
    """Base64 of the value's bytes: exact, whatever they hold."""
    text: str = ""
    """The value as text, for reading the file without mqtui (invalid UTF-8 replaced)."""
    headers: list[HeaderDoc] = []
    redelivered: int = 0
    decoded: Decoded | None = None
    """The value as the console decoded it (Avro, Protobuf, MessagePack ...): shown so offline too."""
    decoded_key: Decoded | None = None


class DeadLetterDoc(_Strict, kw_only=True, frozen=True):
    id: str
    message: MessageDoc
    origin: str | None = None
    reason: str | None = None
    attempts: int | None = None
    first_failure: datetime | None = None
    last_failure: datetime | None = None
    origin_partition: int | None = None
    origin_position: int | str | None = None
    extra: dict[str, str] = {}
    gone: bool = False


class BrokerSettingsDoc(_Strict, kw_only=True, frozen=True):
    name: str
    kind: str
    settings: dict[str, Any] = {}
    """The broker's config with passwords and tokens masked and URLs redacted."""


class ProfileDoc(_Strict, kw_only=True, frozen=True):
    name: str
    readonly: bool = False
    production: bool = False
    poll_interval: float = 2.0
    stall_polls: int = 5
    theme: str | None = None
    brokers: list[BrokerSettingsDoc] = []
    settings: dict[str, Any] = {}
    """Every other key of the profile (alert rules, history, schema registry ...), secrets masked."""


class BrokerDoc(_Strict, kw_only=True, frozen=True):
    name: str
    kind: str
    status: BrokerStatus
    error: str | None = None
    destinations: tuple[Destination, ...] = ()
    backlog: tuple[BacklogRow, ...] = ()
    lag: tuple[GroupLag, ...] = ()
    """Each group with its rows, its recent lag (`trend.history`, oldest first) and its time lag."""
    dlqs: tuple[DeadLetterQueue, ...] = ()
    retries: tuple[RetrySchedule, ...] = ()
    capabilities: list[str] = []
    replay_verb: str = "replay"
    polled_at: datetime | None = None
    next_retry_at: datetime | None = None
    failures: int = 0
    rate_floors: list[tuple[str, str]] = []
    notices: list[str] = []
    kept: tuple[KeptPart, ...] = ()
    """Parts whose rows are from an earlier poll (a read that failed): reopened, they stay dimmed."""


class SeriesDoc(_Strict, kw_only=True, frozen=True):
    """One group's stored history (`HistoryStore.series`): lag, time lag and rates per poll, gaps kept."""

    broker: str
    destination: str
    group: str
    points: list[Point] = []


class TailDoc(_Strict, kw_only=True, frozen=True):
    broker: str
    destination: str
    messages: list[MessageDoc] = []


class DeadLettersDoc(_Strict, kw_only=True, frozen=True):
    dlq: DeadLetterQueue
    read_at: datetime | None = None
    letters: list[DeadLetterDoc] = []


class SnapshotDoc(_Strict, kw_only=True, frozen=True):
    format: Literal["mqtui-snapshot"]
    version: int
    mqtui_version: str
    taken_at: datetime
    profile: ProfileDoc
    brokers: list[BrokerDoc]
    alerts: AlertBoard = AlertBoard()
    """The alerts open when it was taken, and those closed shortly before."""
    history: list[SeriesDoc] = []
    """Each group's stored history over `HISTORY_WINDOW` where the console recorded it (else only the
    recent lag in each group's `trend.history`)."""
    tail: TailDoc | None = None
    """The messages in the console's Tail pane when it was taken (None from `mqtui snapshot`)."""
    dead_letters: DeadLettersDoc | None = None
    """The DLQ open in the Dead letters pane and its entries as read."""


@dataclass(frozen=True, slots=True)
class RecordedTail:
    broker: str
    destination: str
    messages: tuple[Message, ...]


@dataclass(frozen=True, slots=True)
class RecordedDeadLetters:
    dlq: DeadLetterQueue
    letters: tuple[DeadLetter, ...]
    read_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Incident:
    """A snapshot document read back: what the offline console shows."""

    profile: ProfileDoc
    taken_at: datetime
    mqtui_version: str
    snapshots: tuple[BrokerSnapshot, ...]
    tail: RecordedTail | None = None
    dead_letters: RecordedDeadLetters | None = None
    alerts: AlertBoard = field(default_factory=AlertBoard)
    history: dict[GroupKey, tuple[Point, ...]] = field(default_factory=dict)


# -- writing ---------------------------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _header_doc(name: str, value: HeaderValue) -> HeaderDoc:
    if isinstance(value, bytes):
        return HeaderDoc(name=name, kind="bytes", value=_b64(value))
    if isinstance(value, str):
        return HeaderDoc(name=name, kind="text", value=value)
    if isinstance(value, datetime):
        return HeaderDoc(name=name, kind="time", value=value.isoformat())
    return HeaderDoc(name=name, kind="value", value=msgspec.to_builtins(value, builtin_types=()))


def message_doc(message: Message) -> MessageDoc:
    return MessageDoc(
        broker=message.broker,
        destination=message.destination,
        partition=message.partition,
        position=message.position,
        timestamp=message.timestamp,
        key=None if message.key is None else _b64(message.key),
        value=_b64(message.value),
        text=message.value.decode("utf-8", errors="replace"),
        headers=[_header_doc(name, value) for name, value in message.headers],
        redelivered=message.redelivered,
        decoded=message.decoded,
        decoded_key=message.decoded_key,
    )


def _letter_doc(letter: DeadLetter) -> DeadLetterDoc:
    return DeadLetterDoc(
        id=letter.id, message=message_doc(letter.message), origin=letter.origin, reason=letter.reason,
        attempts=letter.attempts, first_failure=letter.first_failure, last_failure=letter.last_failure,
        origin_partition=letter.origin_partition, origin_position=letter.origin_position, extra=dict(letter.extra),
        gone=letter.gone,
    )  # fmt: skip


def _masked(value: Any, key: str | None = None) -> Any:
    """A config value fit for a file someone else reads: secrets masked, URLs redacted, all scrubbed."""
    if isinstance(value, dict):
        return {name: _masked(item, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_masked(item, key) for item in value]
    if isinstance(value, str):
        if key in SECRET_KEYS:
            return MASK
        return scrub(redact_url(value) if key in URL_KEYS else value)
    return value


def profile_doc(name: str, profile: Profile) -> ProfileDoc:
    brokers = []
    for broker in profile.brokers:
        settings = _masked(msgspec.to_builtins(broker))
        settings.pop("kind", None)
        brokers.append(BrokerSettingsDoc(name=broker.name, kind=broker.kind, settings=settings))
    settings = _masked(msgspec.to_builtins(profile))
    for shown in ("brokers", "readonly", "production", "poll_interval", "stall_polls", "theme"):
        settings.pop(shown, None)
    return ProfileDoc(
        name=name, readonly=profile.readonly, production=profile.production, poll_interval=profile.poll_interval,
        stall_polls=profile.stall_polls, theme=profile.theme, brokers=brokers, settings=settings,
    )  # fmt: skip


def _broker_doc(snapshot: BrokerSnapshot) -> BrokerDoc:
    return BrokerDoc(
        name=snapshot.name, kind=snapshot.kind, status=snapshot.status, error=snapshot.error,
        destinations=snapshot.destinations, backlog=snapshot.backlog, lag=snapshot.lag, dlqs=snapshot.dlqs,
        retries=snapshot.retries,
        capabilities=[flag.name for flag in Capability if flag.name and snapshot.capabilities & flag],
        replay_verb=snapshot.replay_verb, polled_at=snapshot.polled_at, next_retry_at=snapshot.next_retry_at,
        failures=snapshot.failures, rate_floors=sorted(snapshot.rate_floors), notices=list(snapshot.notices),
        kept=snapshot.kept,
    )  # fmt: skip


def build_document(
    profile_name: str,
    profile: Profile,
    snapshots: Iterable[BrokerSnapshot],
    taken_at: datetime,
    *,
    tail: RecordedTail | None = None,
    dead_letters: RecordedDeadLetters | None = None,
    alerts: AlertBoard | None = None,
    history: dict[GroupKey, list[Point]] | None = None,
) -> SnapshotDoc:
    """The document of one moment; `tail` and `dead_letters` are what the console's views held."""
    return SnapshotDoc(
        format=FORMAT,
        version=VERSION,
        mqtui_version=__version__,
        taken_at=taken_at,
        profile=profile_doc(profile_name, profile),
        brokers=[_broker_doc(s) for s in snapshots],
        alerts=alerts or AlertBoard(),
        history=[SeriesDoc(broker=b, destination=d, group=g, points=p) for (b, d, g), p in (history or {}).items()],
        tail=None if tail is None else TailDoc(
            broker=tail.broker, destination=tail.destination, messages=[message_doc(m) for m in tail.messages]
        ),
        dead_letters=None if dead_letters is None else DeadLettersDoc(
            dlq=dead_letters.dlq, read_at=dead_letters.read_at, letters=[_letter_doc(x) for x in dead_letters.letters]
        ),
    )  # fmt: skip


def stored_history(
    store: HistoryStore | None, snapshots: Iterable[BrokerSnapshot], now: datetime
) -> dict[GroupKey, list[Point]]:
    """Each shown group's stored points over the last `HISTORY_WINDOW`, after what is queued is written.
    Blocking (SQLite): call it from a thread."""
    if store is None:
        return {}
    store.flush()
    since = now - HISTORY_WINDOW
    found = {}
    for snapshot in snapshots:
        for group in snapshot.lag:
            points = store.series(group.broker, group.destination, group.group, since)
            if points:
                found[group.key] = points
    return found


def default_path(profile_name: str, taken_at: datetime, directory: Path | None = None) -> Path:
    """mqtui-snapshot-PROFILE-YYYYmmdd-HHMMSS.json in `directory` (the current one by default)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in profile_name)[:60]
    stamp = taken_at.astimezone(UTC).strftime("%Y%m%d-%H%M%SZ")
    return (directory or Path.cwd()) / f"mqtui-snapshot-{safe}-{stamp}.json"


def write_document(document: SnapshotDoc, path: Path) -> Path:
    """Write the document whole or not at all (a temporary file renamed over `path`), readable only by
    its owner: it holds message payloads."""
    data = msgspec.json.format(msgspec.json.encode(document), indent=1)
    directory = path.parent if str(path.parent) else Path.cwd()
    handle, temporary = tempfile.mkstemp(prefix=".mqtui-snapshot-", dir=directory)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
