"""The envelopes queues carry in the field, named so they show as fields rather than one string:
the JSON message `{id, type, payload, timestamp}` and the dead-letter envelope `{original_message,
retry_count, first_failed_at, last_failed_at, error_message}`."""

from __future__ import annotations

from typing import Any

MESSAGE = "message"
DEAD_LETTER = "dead-letter"
_MESSAGE_KEYS = frozenset({"id", "type", "payload"})
_DEAD_LETTER_KEYS = frozenset({"retry_count", "error_message", "first_failed_at", "last_failed_at"})


def envelope_of(value: Any) -> str | None:
    """Which envelope a decoded value is, if any."""
    if not isinstance(value, dict):
        return None
    if "original_message" in value and not _DEAD_LETTER_KEYS.isdisjoint(value):
        return DEAD_LETTER
    if value.keys() >= _MESSAGE_KEYS:
        return MESSAGE
    return None


def envelope_fields(value: Any) -> list[tuple[str, str]]:
    """The envelope's fields worth a line each (type, id, retries, error...), for the detail view and
    the DLQ browser; empty when `value` is no envelope."""
    kind = envelope_of(value)
    if kind == DEAD_LETTER:
        original = value.get("original_message")
        fields = [("retries", value.get("retry_count")), ("error", value.get("error_message")),
                  ("first failed", value.get("first_failed_at")), ("last failed", value.get("last_failed_at"))]  # fmt: skip
        if envelope_of(original) == MESSAGE:
            fields += [("original type", original.get("type")), ("original id", original.get("id"))]
        return [(name, _text(item)) for name, item in fields if item is not None]
    if kind == MESSAGE:
        fields = [("type", value.get("type")), ("id", value.get("id")), ("timestamp", value.get("timestamp"))]
        return [(name, _text(item)) for name, item in fields if item is not None]
    return []


def envelope_summary(value: Any) -> str | None:
    """One short line for a list row: "order.created", "retries 3 · timeout calling payments"."""
    fields = dict(envelope_fields(value))
    if not fields:
        return None
    if "retries" in fields or "error" in fields:
        parts = [f"retries {fields['retries']}" if "retries" in fields else "", fields.get("error", "")]
        return " · ".join(p for p in parts if p)
    return fields.get("type")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)
