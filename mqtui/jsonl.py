"""The JSON Lines shapes of `--json` output and of the console's export: one definition for both.

A message line always has broker, destination, partition, position, timestamp (ISO 8601 UTC), key,
value, headers and value_encoding; bytes that are not valid UTF-8 are base64 with their encoding named,
so any message survives a round trip through a file.
"""

from __future__ import annotations

import base64
import dataclasses
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson

from mqtui.jobcounts import job_counts
from mqtui.model import BacklogRow, DeadLetter, DeadLetterQueue, Decoded, Destination, HeaderValue, Message


def _bytes_field(data: bytes | None) -> tuple[str | None, str]:
    if data is None:
        return None, "utf-8"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), "base64"


_last_iso: tuple[datetime | None, str | None] = (None, None)
_NO_TIME = object()
"""A timestamp no message has."""


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z; a fast tail hands over one datetime per millisecond, so the last
    answer is kept (one tuple, so threads never see a time paired with another time's text)."""
    global _last_iso
    if moment is None:
        return None
    last, text = _last_iso
    if moment is last:
        return text
    text = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    _last_iso = (moment, text)
    return text


def header_value(value: HeaderValue) -> Any:
    """A header value as JSON: text where it is UTF-8, {"base64": ...} where it is not."""
    if isinstance(value, bytes):
        text, encoding = _bytes_field(value)
        return text if encoding == "utf-8" else {"base64": text}
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, list):
        return [header_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): header_value(item) for key, item in value.items()}
    return value


def headers_object(headers: tuple[tuple[str, HeaderValue], ...]) -> dict[str, Any]:
    """Headers as one object; a name that repeats (Kafka allows it) keeps all its values in a list."""
    result: dict[str, Any] = {}
    repeated: set[str] = set()
    for name, value in headers:
        converted = header_value(value)
        if name in result:
            if name not in repeated:
                result[name] = [result[name]]
                repeated.add(name)
            result[name].append(converted)
        else:
            result[name] = converted
    return result


def message_record(message: Message, raw: bool = True) -> dict[str, Any]:
    """A message as one JSON object; a decoded value (or key) is the decoded tree with its format and
    schema named, and with `raw` (the default: exports and snapshots lose nothing) its bytes too."""
    key, key_encoding = _bytes_field(message.key) if message.key is not None else (None, "utf-8")
    if message.decoded is not None and message.decoded.ok:
        value, value_encoding = None, DECODED  # filled in by _add_decoded: no base64 of bytes not shown
    else:
        value, value_encoding = _bytes_field(message.value)
    record = {
        "broker": message.broker,
        "destination": message.destination,
        "partition": message.partition,
        "position": message.position,
        "timestamp": iso(message.timestamp),
        "key": key,
        "key_encoding": key_encoding,
        "value": value,
        "value_encoding": value_encoding,
        "headers": headers_object(message.headers) if message.headers else {},
        "redelivered": message.redelivered,
    }
    if message.decoded is not None:
        _add_decoded(record, "value", message.decoded, message.value, raw)
    if message.decoded_key is not None and message.key is not None:
        _add_decoded(record, "key", message.decoded_key, message.key, raw)
    return record


DECODED = "json"
"""The `value_encoding` (or `key_encoding`) of a decoded value: `value` is the decoded JSON tree."""


def _add_decoded(record: dict[str, Any], part: str, decoded: Decoded, data: bytes, raw: bool) -> None:
    """Decoded fields beside (or in place of) a payload: `value` becomes the tree where decoding
    succeeded, `value_format` and the schema are named, a failure is `value_decode_error` beside the
    raw text; `value_raw` (base64 of the bytes on the wire) with `raw`."""
    if decoded.ok:
        record[part] = decoded.value
        record[f"{part}_encoding"] = DECODED
        if raw:
            record[f"{part}_raw"] = base64.b64encode(data).decode("ascii")
    record[f"{part}_format"] = decoded.format
    if decoded.schema_id is not None:
        record[f"{part}_schema_id"] = decoded.schema_id
    if decoded.schema_subject is not None:
        record[f"{part}_schema_subject"] = decoded.schema_subject
        record[f"{part}_schema_version"] = decoded.schema_version
    if decoded.schema_name is not None:
        record[f"{part}_schema_name"] = decoded.schema_name
    if decoded.envelope is not None:
        record[f"{part}_envelope"] = decoded.envelope
    if decoded.error is not None:
        record[f"{part}_decode_error"] = decoded.error


def dumps_messages(messages: Iterable[Message], raw: bool = True) -> bytes | bytearray:
    """The JSON Lines of many messages, byte for byte what `dumps(message_record(m, raw))` writes for each.

    With `raw` (the default) a decoded message keeps its bytes in `value_raw` (base64), so any line
    can be sent again byte for byte; `tail --json --no-raw` leaves them out.

    This is the loop of `mqtui tail --json` (a million messages a run), so `message_record` and
    `_bytes_field` are inlined, the ISO text of a timestamp is reused while messages share it, lines
    go into one buffer as they are made (see `dumps_many`) and the terminal-safety scan runs once for
    the whole batch.
    """
    encode, option, default = orjson.dumps, orjson.OPT_APPEND_NEWLINE, _default
    lines = bytearray()
    moment: object = _NO_TIME
    when: str | None = None
    for message in messages:
        if message.timestamp is not moment:
            moment = message.timestamp
            when = iso(message.timestamp)
        if message.decoded is not None or message.decoded_key is not None:
            record = message_record(message, raw)
            record["timestamp"] = when
            lines += encode(record, default=default, option=option)
            continue
        value = message.value
        try:
            text, value_encoding = value.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, value_encoding = base64.b64encode(value).decode("ascii"), "base64"
        key = message.key
        if key is None:
            key_text, key_encoding = None, "utf-8"
        else:
            try:
                key_text, key_encoding = key.decode("utf-8"), "utf-8"
            except UnicodeDecodeError:
                key_text, key_encoding = base64.b64encode(key).decode("ascii"), "base64"
        headers = message.headers
        lines += encode({
            "broker": message.broker,
            "destination": message.destination,
            "partition": message.partition,
            "position": message.position,
            "timestamp": when,
            "key": key_text,
            "key_encoding": key_encoding,
            "value": text,
            "value_encoding": value_encoding,
            "headers": headers_object(headers) if headers else {},
            "redelivered": message.redelivered,
        }, default=default, option=option)  # fmt: skip
    return _terminal_safe(lines)


def message_from_record(record: dict[str, Any]) -> Message:
    """Read back a line written by `message_record` (export files, fixtures), old lines and decoded ones.

    A decoded value comes back as the bytes on the wire from `value_raw` when the line has them (exports
    and snapshots do). Without them it is encoded again: JSON, MessagePack, CBOR and base64/compressed
    forms exactly; an Avro, Protobuf or JSON Schema value as its JSON text, with `decoded` naming the
    format and schema so a publisher can encode it again (`publish --schema SUBJECT`).
    """

    def unpack(text: Any, encoding: str, part: str) -> bytes | None:
        if encoding == DECODED:
            if record.get(f"{part}_raw") is not None:
                return base64.b64decode(record[f"{part}_raw"])
            return reencode(text, record.get(f"{part}_format") or "json")
        if text is None:
            return None
        return base64.b64decode(text) if encoding == "base64" else text.encode("utf-8")

    def decoded(part: str) -> Decoded | None:
        if f"{part}_format" not in record:
            return None
        ok = record.get(f"{part}_encoding") == DECODED
        return Decoded(record[f"{part}_format"], record.get(part) if ok else None, record.get(f"{part}_schema_id"),
                       record.get(f"{part}_schema_subject"), record.get(f"{part}_schema_version"),
                       record.get(f"{part}_schema_name"), record.get(f"{part}_envelope"),
                       record.get(f"{part}_decode_error"))  # fmt: skip

    headers: list[tuple[str, HeaderValue]] = []
    for name, value in (record.get("headers") or {}).items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, dict) and set(item) == {"base64"}:
                headers.append((name, base64.b64decode(item["base64"])))
            elif isinstance(item, str):
                headers.append((name, item.encode("utf-8")))
            else:
                headers.append((name, item))
    timestamp = record.get("timestamp")
    return Message(
        broker=record["broker"],
        destination=record["destination"],
        partition=record.get("partition"),
        position=record.get("position", ""),
        timestamp=datetime.fromisoformat(timestamp.replace("Z", "+00:00")) if timestamp else None,
        key=unpack(record.get("key"), record.get("key_encoding", "utf-8"), "key"),
        value=unpack(record.get("value"), record.get("value_encoding", "utf-8"), "value") or b"",
        headers=tuple(headers),
        redelivered=int(record.get("redelivered") or 0),
        decoded=decoded("value"),
        decoded_key=decoded("key"),
    )


def reencode(value: Any, fmt: str) -> bytes:
    """A decoded tree as bytes again, undoing each step of `fmt` ("gzip+msgpack": pack, then gzip).
    A schema's formats (avro, protobuf, json-schema) give JSON text: their encoding needs the schema."""
    steps = fmt.split("+")
    last = steps.pop()
    if last == "msgpack":
        import msgspec

        data = msgspec.msgpack.encode(value)
    elif last == "cbor":
        import cbor2

        data = cbor2.dumps(value)
    elif last == "text" and isinstance(value, str):
        data = value.encode("utf-8")
    elif isinstance(value, dict) and set(value) == {"base64"}:
        data = base64.b64decode(value["base64"])
    elif isinstance(value, str) and last in ("gzip", "zstd", "snappy", "lz4", "base64"):
        data = value.encode("utf-8")
    else:
        data = orjson.dumps(value, default=_default)
    for step in reversed(steps if last not in ("gzip", "zstd", "snappy", "lz4", "base64") else [*steps, last]):
        data = _encode_step(step, data)
    return data


def _encode_step(step: str, data: bytes) -> bytes:
    if step == "base64":
        return base64.b64encode(data)
    if step == "gzip":
        import gzip

        return gzip.compress(data)
    import cramjam

    if step == "zstd":
        return bytes(cramjam.zstd.compress(data))
    if step == "snappy":
        return bytes(cramjam.snappy.compress(data))
    return bytes(cramjam.lz4.compress(data))


def _plain(record: object) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for field in dataclasses.fields(record):  # type: ignore[arg-type]
        value = getattr(record, field.name)
        if isinstance(value, datetime):
            value = iso(value)
        elif isinstance(value, tuple):
            value = list(value)
        elif hasattr(value, "items"):
            value = dict(value)
        result[field.name] = value
    return result


def destination_record(destination: Destination) -> dict[str, Any]:
    """A destination with `jobs`: its job framework's counts (null ones unknown), null for other rows."""
    record = _plain(destination)
    jobs = job_counts(destination)
    record["jobs"] = jobs.record() if jobs else None
    return record


def time_lag(row: BacklogRow, now: datetime) -> float | None:
    """Seconds since a row's oldest unconsumed message was written; 0 when nothing waits; None when
    messages wait and the broker cannot say (`time_lag_unknown` says why). As `GroupLag.time_lag`."""
    if row.oldest_waiting_at is not None:
        return max(0.0, (now - row.oldest_waiting_at).total_seconds())
    return 0.0 if row.lag == 0 else None


def backlog_record(row: BacklogRow, now: datetime | None = None) -> dict[str, Any]:
    """A backlog row with its time lag in seconds (`time_lag_s`, to 0.1 s, null where unknown) beside
    `oldest_waiting_at` (ISO 8601) and `time_lag_unknown`."""
    record = _plain(row)
    seconds = time_lag(row, now or datetime.now(UTC))
    record["time_lag_s"] = None if seconds is None else round(seconds, 1)
    return record


def dlq_record(dlq: DeadLetterQueue) -> dict[str, Any]:
    return _plain(dlq)


def dead_letter_record(letter: DeadLetter, raw: bool = True) -> dict[str, Any]:
    record = _plain(letter)
    record["message"] = message_record(letter.message, raw)
    return record


_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def dumps(record: dict[str, Any]) -> bytes:
    """One JSON line that is safe to print on a terminal.

    orjson escapes C0 controls (ESC, BEL, CR) itself; DEL, C1 controls (a lone U+009B is a CSI on
    some terminals) and bidi overrides are escaped by `_terminal_safe`.
    """
    return bytes(_terminal_safe(orjson.dumps(record, default=_default, option=orjson.OPT_APPEND_NEWLINE)))


def dumps_many(records: Iterable[dict[str, Any]]) -> bytes | bytearray:
    """Many JSON lines at once, as `dumps` writes them: the terminal-safety scan runs once per batch.

    Each line goes into one buffer as soon as it is made: holding a batch of orjson's outputs for a
    join made every `orjson.dumps` about ten times slower (2.4 instead of 0.23 µs for a 400-byte line
    with 2,000 held; an effect of how those outputs are allocated), which was most of the JSON cost of
    `tail --json`.
    """
    encode, option = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    lines = bytearray()
    for record in records:
        lines += encode(record, default=_default, option=option)
    return _terminal_safe(lines)


def _terminal_safe(data: bytes | bytearray) -> bytes | bytearray:
    """Escape what orjson leaves raw and a terminal would act on, in one or many JSON lines.

    The common case, all ASCII without DEL, costs two fast scans; only data that holds DEL or the
    UTF-8 lead bytes of C1 controls or bidi overrides is decoded and rewritten. orjson escapes line
    breaks inside strings, so the substitution can never join or split lines.
    """
    if data.isascii() and b"\x7f" not in data:
        return data
    if b"\x7f" in data or b"\xc2" in data or b"\xe2\x80" in data or b"\xe2\x81" in data:
        text = _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", data.decode("utf-8"))
        return text.encode("utf-8")
    return data


def _default(value: object) -> Any:
    if isinstance(value, bytes):
        return header_value(value)
    if isinstance(value, datetime):
        return iso(value)
    return str(value)


json_default = _default
"""How orjson writes what JSON lacks (bytes, times, decimals): decoded trees are shown with it too."""
