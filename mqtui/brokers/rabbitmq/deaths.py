"""Reading RabbitMQ's dead-letter provenance: the `x-death` header and the `x-first-death-*` headers.

Headers are untrusted: any entry may be missing, of the wrong type or not UTF-8, so every field is
read defensively and a malformed entry is skipped rather than failing the whole listing.

RabbitMQ keeps one `x-death` entry per (queue, reason), newest first, and increments its `count` when
the same queue dead-letters the message again; the entry's `time` stays the first time. So the first
entry names the queue that dead-lettered the message into the DLQ where it now sits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Death:
    queue: str
    reason: str
    exchange: str
    routing_keys: tuple[str, ...]
    count: int
    time: datetime | None


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    return "" if value is None else str(value)


def _time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1e11:
        return datetime.fromtimestamp(value, tz=UTC)
    return None


def _count(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return int(value)
    return 1


def deaths(headers: Mapping[str, Any] | None) -> list[Death]:
    """The decoded `x-death` entries, newest first; [] when absent or not a list."""
    raw = (headers or {}).get("x-death")
    if not isinstance(raw, list | tuple):
        return []
    found = []
    for entry in raw:
        if not isinstance(entry, Mapping):
            continue
        keys = entry.get("routing-keys")
        routing_keys = tuple(_text(k) for k in keys) if isinstance(keys, list | tuple) else ()
        found.append(
            Death(
                queue=_text(entry.get("queue")),
                reason=_text(entry.get("reason")),
                exchange=_text(entry.get("exchange")),
                routing_keys=routing_keys,
                count=_count(entry.get("count")),
                time=_time(entry.get("time")),
            )
        )
    return found


def first_death(headers: Mapping[str, Any] | None) -> dict[str, str]:
    """`x-first-death-queue/-reason/-exchange`, as text, without the prefix."""
    found = {}
    for part in ("queue", "reason", "exchange"):
        value = (headers or {}).get(f"x-first-death-{part}")
        if value is not None:
            found[f"first_death_{part}"] = _text(value)
    return found


def describe(entries: Sequence[Death]) -> str:
    """One line for a table cell: `orders rejected x3 via "" [orders]; ...`."""
    parts = []
    for death in entries:
        when = death.time.strftime("%Y-%m-%dT%H:%M:%SZ") if death.time else "?"
        keys = ",".join(death.routing_keys)
        parts.append(f"{death.queue} {death.reason} x{death.count} at {when} via {death.exchange!r} [{keys}]")
    return "; ".join(parts)


def dead_letter_id(
    body: bytes,
    *,
    message_id: str | None,
    correlation_id: str | None,
    timestamp: int | None,
    entries: Sequence[Death],
) -> str:
    """A 16-hex id that stays the same every time the same dead letter is read.

    A queue has no offsets, so the id is a digest of what cannot change while the message sits in the
    DLQ: body, message id, correlation id, timestamp property and every x-death entry (queue, reason,
    exchange, count, time). Reading with requeue does not change it (the redelivered flag is left
    out); being dead-lettered again does (the count moves), so a requeued message that fails again is
    a new dead letter. Two byte-identical messages dead-lettered in the same second share an id; they
    cannot be told apart, and selecting the id selects both.
    """
    digest = hashlib.blake2b(digest_size=8)
    for death in entries:
        stamp = death.time.isoformat() if death.time else ""
        digest.update(f"{death.queue}\0{death.reason}\0{death.exchange}\0{death.count}\0{stamp}\0".encode())
    digest.update(f"\1{message_id or ''}\0{correlation_id or ''}\0{timestamp or ''}\1".encode("utf-8", "replace"))
    digest.update(body)
    return digest.hexdigest()
