"""JetStream API answers (stream and consumer info as JSON) mapped to `mqtui.model` records.

Kept apart from the adapter so that the mapping can be read (and argued about) in one place: which
number is "lag", what "committed" and "end" mean for a consumer, how times and headers are parsed.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from mqtui.model import BacklogRow, Destination, DestinationKind, DetailSection, Headers, Message

#: Name prefix of the ephemeral consumers mqtui's tail creates; they are left out of backlog rows.
TAIL_CONSUMER_PREFIX = "mqtui-tail-"
_FRACTION = re.compile(r"\.(\d+)")


def parse_time(text: Any) -> datetime | None:
    """NATS times are RFC 3339 with nanoseconds; Go's zero time ("0001-01-01T00:00:00Z") means unset."""
    if not isinstance(text, str) or not text or text.startswith("0001-"):
        return None
    cleaned = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text.replace("Z", "+00:00"), count=1)
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_headers(raw: bytes) -> Headers:
    """A NATS header block ("NATS/1.0\\r\\nName: value\\r\\n...") as (name, bytes) pairs, repeats kept.

    Written by hand because headers are untrusted: any bytes are accepted, nothing is decoded beyond
    the name, and a malformed line is kept whole rather than failing the message.
    """
    lines = raw.split(b"\r\n")
    pairs: list[tuple[str, bytes | str | None]] = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep:
            pairs.append((line.decode("utf-8", "replace"), b""))
            continue
        pairs.append((name.strip().decode("utf-8", "replace"), value.strip()))
    return tuple(pairs)


def headers_from_client(headers: Mapping[str, str] | None) -> Headers:
    """nats-py hands headers over as a str dict; the model keeps header values as bytes."""
    if not headers:
        return ()
    return tuple(
        (str(k), v.encode("utf-8", "surrogateescape") if isinstance(v, str) else v) for k, v in headers.items()
    )


def stored_message(broker: str, answer: Mapping[str, Any]) -> Message:
    """A message as STREAM.MSG.GET returns it (base64 data and header block)."""
    try:
        value = base64.b64decode(answer.get("data") or b"")
    except (binascii.Error, ValueError):
        value = b""
    headers: Headers = ()
    if answer.get("hdrs"):
        try:
            headers = parse_headers(base64.b64decode(answer["hdrs"]))
        except (binascii.Error, ValueError):
            headers = ()
    return Message(
        broker=broker,
        destination=str(answer.get("subject") or ""),
        partition=None,
        position=int(answer.get("seq") or 0),
        timestamp=parse_time(answer.get("time")),
        key=None,
        value=value,
        headers=headers,
    )


def is_kv_or_object_store(name: str) -> bool:
    return name.startswith(("KV_", "OBJ_"))


def stream_destination(broker: str, info: Mapping[str, Any], *, is_dlq: bool = False) -> Destination:
    config = info.get("config") or {}
    state = info.get("state") or {}
    name = str(config.get("name") or "")
    first_ts = parse_time(state.get("first_ts"))
    last_ts = parse_time(state.get("last_ts"))
    extra = {
        "subjects": ",".join(config.get("subjects") or []),
        "bytes": str(state.get("bytes", 0)),
        "first_seq": str(state.get("first_seq", 0)),
        "last_seq": str(state.get("last_seq", 0)),
        "first_time": first_ts.isoformat() if first_ts else "",
        "last_time": last_ts.isoformat() if last_ts else "",
        "retention": str(config.get("retention") or ""),
        "storage": str(config.get("storage") or ""),
        "replicas": str(config.get("num_replicas") or 1),
    }
    return Destination(
        broker=broker,
        name=name,
        kind=DestinationKind.STREAM,
        depth=int(state.get("messages") or 0),
        consumers=int(state.get("consumer_count") or 0),
        is_dlq=is_dlq,
        internal=is_kv_or_object_store(name),
        last_activity=last_ts,
        extra=extra,
        appended=int(state.get("last_seq") or 0),
    )


def consumer_state(info: Mapping[str, Any]) -> str:
    """paused | push: bound/unbound | pull: waiting/idle (a pull consumer with outstanding requests)."""
    config = info.get("config") or {}
    if info.get("paused"):
        return "paused"
    if config.get("deliver_subject"):
        return "bound" if info.get("push_bound") else "unbound"
    return "waiting" if int(info.get("num_waiting") or 0) > 0 else "idle"


def last_active(info: Mapping[str, Any]) -> datetime | None:
    times = [parse_time((info.get(k) or {}).get("last_active")) for k in ("delivered", "ack_floor")]
    known = [t for t in times if t is not None]
    return max(known) if known else None


def next_waiting(info: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The STREAM.MSG.GET (stream, body) that reads a consumer's oldest unconsumed message: the first
    at or after its ack floor + 1 that its filter takes; None when nothing waits. With several filters
    it reads the first message of any subject, which is no later than the consumer's own."""
    if not int(info.get("num_pending") or 0) + int(info.get("num_ack_pending") or 0):
        return None
    config = info.get("config") or {}
    filters = config.get("filter_subjects") or ([config["filter_subject"]] if config.get("filter_subject") else [])
    subject = filters[0] if len(filters) == 1 else ">"
    ack_floor = int((info.get("ack_floor") or {}).get("stream_seq") or 0)
    return str(info.get("stream_name") or ""), {"seq": ack_floor + 1, "next_by_subj": subject}


def backlog_row(
    broker: str, info: Mapping[str, Any], stream_last_seq: int | None, *, oldest_waiting_at: datetime | None = None
) -> BacklogRow:
    """lag = num_pending (not yet delivered), in_flight = num_ack_pending, committed = ack floor
    stream sequence, end = the stream's last sequence; consumers = 1 for a bound push consumer, else
    the pull requests waiting."""
    config = info.get("config") or {}
    ack_floor = int((info.get("ack_floor") or {}).get("stream_seq") or 0)
    if config.get("deliver_subject"):
        consumers = 1 if info.get("push_bound") else 0
    else:
        consumers = int(info.get("num_waiting") or 0)
    return BacklogRow(
        broker=broker,
        destination=str(info.get("stream_name") or ""),
        group=str(info.get("name") or ""),
        committed=ack_floor or None,
        # The stream's info is read before the consumer's: a message acked in between puts the ack
        # floor past that last sequence, and an end below the committed position reads as a bug.
        end=None if stream_last_seq is None else max(stream_last_seq, ack_floor),
        lag=int(info.get("num_pending") or 0),
        in_flight=int(info.get("num_ack_pending") or 0),
        consumers=consumers,
        state=consumer_state(info),
        last_activity=last_active(info),
        oldest_waiting_at=oldest_waiting_at,
    )


def _seconds(nanos: Any) -> str:
    return f"{int(nanos) / 1e9:g}s" if nanos else "-"


def consumer_summary(info: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    config = info.get("config") or {}
    delivered = info.get("delivered") or {}
    ack_floor = info.get("ack_floor") or {}
    filters = config.get("filter_subjects") or ([config["filter_subject"]] if config.get("filter_subject") else [])
    active = last_active(info)
    return (
        ("stream", str(info.get("stream_name") or "")),
        ("consumer", str(info.get("name") or "")),
        ("durable", "yes" if config.get("durable_name") else "no (ephemeral)"),
        ("type", "push" if config.get("deliver_subject") else "pull"),
        ("state", consumer_state(info)),
        ("filter", ", ".join(filters) or "(all subjects)"),
        ("deliver policy", str(config.get("deliver_policy") or "")),
        ("ack policy", str(config.get("ack_policy") or "")),
        ("ack wait", _seconds(config.get("ack_wait"))),
        ("max deliver", str(config.get("max_deliver") if config.get("max_deliver", -1) != -1 else "unlimited")),
        ("max ack pending", str(config.get("max_ack_pending", "-"))),
        ("pending (lag)", str(info.get("num_pending", 0))),
        ("ack pending (in flight)", str(info.get("num_ack_pending", 0))),
        ("redelivered", str(info.get("num_redelivered", 0))),
        ("waiting pulls", str(info.get("num_waiting", 0))),
        ("delivered", f"consumer seq {delivered.get('consumer_seq', 0)}, stream seq {delivered.get('stream_seq', 0)}"),
        ("ack floor", f"consumer seq {ack_floor.get('consumer_seq', 0)}, stream seq {ack_floor.get('stream_seq', 0)}"),
        ("last activity", active.isoformat() if active else "-"),
        ("created", str(info.get("created") or "")),
    )


def consumers_section(consumers: Sequence[Mapping[str, Any]]) -> DetailSection:
    rows = []
    for info in sorted(consumers, key=lambda c: str(c.get("name"))):
        config = info.get("config") or {}
        active = last_active(info)
        rows.append((
            str(info.get("name") or ""),
            "durable" if config.get("durable_name") else "ephemeral",
            "push" if config.get("deliver_subject") else "pull",
            str(config.get("filter_subject") or ",".join(config.get("filter_subjects") or []) or "-"),
            str(info.get("num_pending", 0)), str(info.get("num_ack_pending", 0)),
            str(info.get("num_redelivered", 0)), str(info.get("num_waiting", 0)),
            str((info.get("ack_floor") or {}).get("stream_seq", 0)),
            str((info.get("delivered") or {}).get("stream_seq", 0)),
            str(config.get("max_deliver", -1)),
            active.isoformat() if active else "-",
        ))  # fmt: skip
    return DetailSection(
        "Consumers",
        ("NAME", "KIND", "TYPE", "FILTER", "PENDING", "ACK PENDING", "REDELIVERED", "WAITING", "ACK FLOOR",
         "DELIVERED", "MAX DELIVER", "LAST ACTIVE"),
        tuple(rows),
    )  # fmt: skip


def stream_summary(info: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    config = info.get("config") or {}
    state = info.get("state") or {}
    return (
        ("subjects", ", ".join(config.get("subjects") or []) or "-"),
        ("retention", str(config.get("retention") or "")),
        ("storage", str(config.get("storage") or "")),
        ("replicas", str(config.get("num_replicas") or 1)),
        ("messages", str(state.get("messages", 0))),
        ("bytes", str(state.get("bytes", 0))),
        ("first seq", f"{state.get('first_seq', 0)} ({state.get('first_ts', '-')})"),
        ("last seq", f"{state.get('last_seq', 0)} ({state.get('last_ts', '-')})"),
        ("subjects stored", str(state.get("num_subjects", 0))),
        ("deleted", str(state.get("num_deleted", 0))),
        ("consumers", str(state.get("consumer_count", 0))),
        ("duplicate window", _seconds(config.get("duplicate_window"))),
        ("max age", _seconds(config.get("max_age"))),
        ("max msgs", str(config.get("max_msgs", -1))),
        ("max bytes", str(config.get("max_bytes", -1))),
        ("discard", str(config.get("discard") or "")),
        ("created", str(info.get("created") or "")),
    )
