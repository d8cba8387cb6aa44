"""Reading an incident snapshot back: strictly, because the file is untrusted input.

A file may be cut short by a full disk, come from a newer mqtui, or be written by someone who wants the
console to misbehave. Each of those ends in one `UsageError` line (exit 2) before anything is drawn:
the size and every string's length are checked on the untyped JSON first, then msgspec decodes it into
the document's structs (wrong types are refused with where they are), then the names the header and
the broker tree show are checked for control characters. Payloads and broker-provided names may hold
anything, as live ones do: the console's renderers make them safe.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from mqtui import __version__
from mqtui.errors import UsageError
from mqtui.model import Capability, DeadLetter, HeaderValue, Message
from mqtui.services.incident import (
    FORMAT,
    VERSION,
    BrokerDoc,
    DeadLetterDoc,
    HeaderDoc,
    Incident,
    MessageDoc,
    RecordedDeadLetters,
    RecordedTail,
    SnapshotDoc,
)
from mqtui.services.snapshot import BrokerSnapshot

MAX_BYTES = 256 * 1024 * 1024
MAX_STRING = 16 * 1024 * 1024
"""Longer than any message value a broker accepts, even as base64: a longer string is not a snapshot."""
MAX_NAME = 1024
MAX_DEPTH = 64
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def read_document(path: Path) -> Incident:
    """The incident in `path`, checked strictly; anything wrong is one `UsageError` line (exit 2)."""
    where = f"snapshot {path}"
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise UsageError(f"{where}: {size:,} bytes is more than a snapshot holds ({MAX_BYTES:,} at most)")
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{where}: cannot read it: {exc.strerror}") from None
    return parse_document(data, where)


def parse_document(data: bytes, where: str = "snapshot") -> Incident:
    try:
        raw = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise UsageError(f"{where}: not JSON, or cut short ({exc})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise UsageError(f'{where}: not an mqtui snapshot (no "format": "{FORMAT}")')
    version = raw.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise UsageError(f"{where}: its version must be a positive integer")
    if version > VERSION:
        raise UsageError(
            f"{where}: written by a newer mqtui ({str(raw.get('mqtui_version'))[:40]}, format version {version}); "
            f"this mqtui {__version__} reads version {VERSION}: upgrade mqtui to open it"
        )
    _check_sizes(raw, where)
    try:
        document = msgspec.json.decode(data, type=SnapshotDoc)
    except msgspec.ValidationError as exc:
        raise UsageError(f"{where}: not a valid mqtui snapshot: {exc}") from None
    _check_names(document, where)
    return _incident(document, where)


def _check_sizes(raw: Any, where: str) -> None:
    """No string longer than MAX_STRING and no nesting deeper than MAX_DEPTH, before typed decoding."""
    stack: list[tuple[Any, int]] = [(raw, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise UsageError(f"{where}: nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, str):
            if len(value) > MAX_STRING:
                raise UsageError(f"{where}: holds a string of {len(value):,} characters ({MAX_STRING:,} at most)")
        elif isinstance(value, dict):
            stack.extend((item, depth + 1) for item in (*value.keys(), *value.values()))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


def _name(text: str, what: str, where: str) -> None:
    if not text.strip() or len(text) > MAX_NAME or _CONTROL.search(text):
        raise UsageError(f"{where}: {what} must be a short name without control characters")


def _check_names(document: SnapshotDoc, where: str) -> None:
    """What the header and the broker tree name: a profile and brokers, never control characters."""
    _name(document.profile.name, "the profile name", where)
    _name(document.mqtui_version, "mqtui_version", where)
    names = [broker.name for broker in document.brokers]
    for broker in document.brokers:
        _name(broker.name, "a broker name", where)
        _name(broker.kind, "a broker kind", where)
    if len(set(names)) != len(names):
        raise UsageError(f"{where}: broker names must be unique")
    views = {
        "tail": document.tail.broker if document.tail else None,
        "dead_letters": document.dead_letters.dlq.broker if document.dead_letters else None,
    }
    for view, named in views.items():
        if named is not None and named not in names:
            raise UsageError(f"{where}: {view} names a broker the snapshot does not hold")


def _capabilities(names: Sequence[str]) -> Capability:
    """Flags by name; a name this mqtui does not know (a later minor addition) is left out."""
    result = Capability.NONE
    for name in names:
        result |= Capability.__members__.get(name, Capability.NONE)
    return result


def _unb64(text: str | None, where: str) -> bytes | None:
    if text is None:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise UsageError(f"{where}: a message holds invalid base64") from None


def _header(doc: HeaderDoc, where: str) -> tuple[str, HeaderValue]:
    if doc.kind == "bytes":
        return doc.name, _unb64(str(doc.value), where)
    if doc.kind == "time":
        try:
            return doc.name, datetime.fromisoformat(str(doc.value))
        except ValueError:
            raise UsageError(f"{where}: header {doc.name[:40]!r} holds an invalid time") from None
    return doc.name, doc.value


def message_of(doc: MessageDoc, where: str) -> Message:
    return Message(
        broker=doc.broker, destination=doc.destination, partition=doc.partition, position=doc.position,
        timestamp=doc.timestamp, key=_unb64(doc.key, where), value=_unb64(doc.value, where) or b"",
        headers=tuple(_header(h, where) for h in doc.headers), redelivered=doc.redelivered, decoded=doc.decoded,
        decoded_key=doc.decoded_key,
    )  # fmt: skip


def _letter_of(doc: DeadLetterDoc, where: str) -> DeadLetter:
    return DeadLetter(
        id=doc.id, message=message_of(doc.message, where), origin=doc.origin, reason=doc.reason,
        attempts=doc.attempts, first_failure=doc.first_failure, last_failure=doc.last_failure,
        origin_partition=doc.origin_partition, origin_position=doc.origin_position, extra=doc.extra, gone=doc.gone,
    )  # fmt: skip


def _snapshot_of(doc: BrokerDoc) -> BrokerSnapshot:
    return BrokerSnapshot(
        name=doc.name, kind=doc.kind, status=doc.status, error=doc.error, destinations=doc.destinations,
        backlog=doc.backlog, lag=doc.lag, dlqs=doc.dlqs, retries=doc.retries, capabilities=_capabilities(doc.capabilities),
        replay_verb=doc.replay_verb, polled_at=doc.polled_at, next_retry_at=doc.next_retry_at,
        failures=doc.failures, rate_floors=frozenset(doc.rate_floors), notices=tuple(doc.notices),
        kept=doc.kept,
    )  # fmt: skip


def _incident(document: SnapshotDoc, where: str) -> Incident:
    tail = document.tail
    letters = document.dead_letters
    return Incident(
        profile=document.profile,
        taken_at=document.taken_at if document.taken_at.tzinfo else document.taken_at.replace(tzinfo=UTC),
        mqtui_version=document.mqtui_version,
        snapshots=tuple(_snapshot_of(b) for b in document.brokers),
        tail=None if tail is None else RecordedTail(
            tail.broker, tail.destination, tuple(message_of(m, where) for m in tail.messages)
        ),
        dead_letters=None if letters is None else RecordedDeadLetters(
            letters.dlq, tuple(_letter_of(x, where) for x in letters.letters), letters.read_at
        ),
        alerts=document.alerts,
        history={(s.broker, s.destination, s.group): tuple(s.points) for s in document.history},
    )  # fmt: skip
