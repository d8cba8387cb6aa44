"""Dead letters on JetStream, which has no DLQ of its own.

Two patterns are recognised:

(a) **advisory DLQ**: a stream capturing `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>` and/or
    `...MSG_TERMINATED.>`. Each entry is an advisory naming a stream and a sequence; the failed message
    itself stays in its stream until limits remove it, so every entry is resolved with STREAM.MSG.GET
    and marked `gone` once it has aged out. The replay id is `mqtui-replay:<stream>:<seq>:<stored time>`
    of the original, so two advisories for one message (two consumers gave up) still replay it once.
(b) **republish DLQ**: a stream an application copies failed messages into, found by the naming rules
    (`{name}_DLQ` names the origin stream, `DLQ.{name}` the origin subject in each message's subject).
    The origin subject of an entry is, in order: an `Original-Subject`, `X-Original-Subject` or
    `Nats-Original-Subject` header; the subject rule applied to the entry's subject; the origin stream's
    only literal subject; the origin stream's name. The replay id is `mqtui-replay:<dlq>:<seq>:<stored
    time>` of the entry.

Entries are read with STREAM.MSG.GET (never a consumer), so listing dead letters has no side effects
even on work-queue streams.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg

from mqtui.brokers.nats.connection import JetStreamApiError
from mqtui.brokers.nats.pipeline import Pipeline, Window, api_answer
from mqtui.brokers.nats.records import parse_time, stored_message
from mqtui.dlqnames import dlq_origin
from mqtui.model import DeadLetter, Message

MAX_DELIVERIES = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES"
MSG_TERMINATED = "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED"
ADVISORY_SUBJECTS = (f"{MAX_DELIVERIES}.>", f"{MSG_TERMINATED}.>")
ORIGIN_HEADERS = ("Original-Subject", "X-Original-Subject", "Nats-Original-Subject")
REPLAY_ID_PREFIX = "mqtui-replay"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
#: STREAM.MSG.GET requests in flight while reading a DLQ: enough to hide round trips, not a flood.
READ_WINDOW = 256


def subjects_overlap(a: str, b: str) -> bool:
    """Could one subject match both patterns (`*` one token, `>` one or more trailing tokens)?"""
    left, right = a.split("."), b.split(".")
    for index in range(max(len(left), len(right))):
        if index >= len(left) or index >= len(right):
            return False
        x, y = left[index], right[index]
        if x == ">" or y == ">":
            return True
        if x != y and "*" not in (x, y):
            return False
    return True


def subject_covers(pattern: str, subjects: str) -> bool:
    """Does `pattern` match every subject that `subjects` (itself possibly a wildcard) matches?"""
    outer, inner = pattern.split("."), subjects.split(".")
    for index, token in enumerate(outer):
        if token == ">":
            return index < len(inner)  # `>` takes one or more tokens; `inner` has at least one left
        if index >= len(inner) or inner[index] == ">":  # shorter, or matching any depth where we match one
            return False
        if token not in ("*", inner[index]):
            return False
    return len(outer) == len(inner)


def captures_advisories(subjects: Iterable[str]) -> bool:
    return any(s.startswith("$JS.") and subjects_overlap(s, adv) for s in subjects for adv in ADVISORY_SUBJECTS)


def advisory_origin_stream(subjects: Sequence[str]) -> str | None:
    """The one stream an advisory DLQ is limited to, when its subjects name one (…MAX_DELIVERIES.ORDERS.>)."""
    streams = set()
    for subject in subjects:
        tokens = subject.split(".")
        if len(tokens) < 6 or tokens[5] in ("*", ">"):
            return None
        streams.add(tokens[5])
    return streams.pop() if len(streams) == 1 else None


@dataclass(frozen=True)
class StreamFacts:
    """What DLQ handling needs to know about one stream, from STREAM.LIST or STREAM.INFO."""

    name: str
    subjects: tuple[str, ...]
    messages: int
    first_seq: int
    last_seq: int
    first_time: Any = None

    @classmethod
    def of(cls, info: Mapping[str, Any]) -> StreamFacts:
        config, state = info.get("config") or {}, info.get("state") or {}
        return cls(
            name=str(config.get("name") or ""),
            subjects=tuple(config.get("subjects") or ()),
            messages=int(state.get("messages") or 0),
            first_seq=int(state.get("first_seq") or 0),
            last_seq=int(state.get("last_seq") or 0),
            first_time=parse_time(state.get("first_ts")),
        )

    @property
    def literal_subject(self) -> str | None:
        literal = [s for s in self.subjects if "*" not in s and ">" not in s]
        return literal[0] if len(literal) == 1 and len(self.subjects) == 1 else None


@dataclass(frozen=True)
class DlqStreamPlan:
    """What creating the account's advisory DLQ stream may capture, given the streams that exist.

    JetStream refuses a stream whose subjects overlap another stream's, so an advisory family that some
    stream captures only in part (`...MAX_DELIVERIES.ORDERS.>`) cannot be captured whole by a new one.
    """

    subjects: tuple[str, ...]
    """Families no stream captures yet: the new stream's subjects (empty: create nothing)."""
    blocked: tuple[tuple[str, tuple[str, ...]], ...]
    """Families that cannot be captured whole, each with the streams holding a part of it."""


def plan_dlq_stream(streams: Iterable[StreamFacts]) -> DlqStreamPlan:
    """Per advisory family: already captured whole by a stream, free to capture, or blocked by a part."""
    streams = list(streams)
    free: list[str] = []
    blocked: list[tuple[str, tuple[str, ...]]] = []
    for family in ADVISORY_SUBJECTS:
        if any(subject_covers(s, family) for stream in streams for s in stream.subjects):
            continue
        parts = tuple(stream.name for stream in streams if any(subjects_overlap(s, family) for s in stream.subjects))
        if parts:
            blocked.append((family, parts))
        else:
            free.append(family)
    return DlqStreamPlan(subjects=tuple(free), blocked=tuple(blocked))


def republish_origin(stream: StreamFacts, rules: Sequence[str], streams: Mapping[str, StreamFacts]) -> str | None:
    """Pattern (b): the origin a DLQ stream points at by name (a stream) or by its subjects (a subject)."""
    origin = dlq_origin(stream.name, rules)
    if origin is not None and origin in streams:
        return origin
    if stream.subjects:
        origins = {dlq_origin(s, rules) for s in stream.subjects}
        if None not in origins and len(origins) == 1:
            return origins.pop()
    return None


def is_dlq_stream(
    stream: StreamFacts, streams: Mapping[str, StreamFacts], rules: Sequence[str], configured: str | None
) -> bool:
    """Whether `stream` holds dead letters: the configured `dlq_stream`, an advisory DLQ or a republish DLQ."""
    return (
        stream.name == configured
        or captures_advisories(stream.subjects)
        or (republish_origin(stream, rules, streams) is not None)
    )


async def read_stream(
    nc: Client, broker: str, stream: StreamFacts, *, start: int, limit: int, timeout: float
) -> list[Message]:
    """Up to `limit` stored messages from sequence `start` on, by STREAM.MSG.GET in pipelined windows.

    The next window is sent before the last one's answers are parsed, so the server works while this
    side decodes. Sequences that were deleted are skipped; no consumer is created, so nothing is
    acknowledged.
    """
    found: list[Message] = []
    seq = max(start, stream.first_seq, 1)
    async with Pipeline(nc) as pipeline:

        async def send_next(in_flight: int) -> Window | None:
            nonlocal seq
            wanted = limit - len(found) - in_flight
            if wanted <= 0 or seq > stream.last_seq:
                return None
            window = range(seq, min(seq + min(max(READ_WINDOW // 4, wanted), READ_WINDOW), stream.last_seq + 1))
            seq = window.stop
            return await pipeline.send(
                [pipeline.api_request(f"STREAM.MSG.GET.{stream.name}", {"seq": n}) for n in window]
            )

        current = await send_next(0)
        while current is not None:
            ahead = await send_next(len(current.replies))  # as if each request of `current` finds a message
            for answer in _answers(await pipeline.collect(current, timeout)):
                if answer is not None and len(found) < limit:
                    found.append(stored_message(broker, answer))
            current = ahead if ahead is not None else await send_next(0)
    return found


async def get_stored(nc: Client, wanted: Sequence[tuple[str, int]], timeout: float) -> list[dict[str, Any] | None]:
    """The stored messages at (stream, sequence), in order: None for one that (or whose stream) is gone.

    Used for the originals that advisories name and for dead letters picked by id.
    """
    answers: list[dict[str, Any] | None] = []
    async with Pipeline(nc) as pipeline:
        for begin in range(0, len(wanted), READ_WINDOW):
            answers += await _get_window(pipeline, wanted[begin : begin + READ_WINDOW], timeout)
    return answers


async def _get_window(
    pipeline: Pipeline, wanted: Sequence[tuple[str, int]], timeout: float
) -> list[dict[str, Any] | None]:
    requests = [pipeline.api_request(f"STREAM.MSG.GET.{stream}", {"seq": seq}) for stream, seq in wanted]
    return _answers(await pipeline.window(requests, timeout))


def _answers(replies: Sequence[Msg | None]) -> list[dict[str, Any] | None]:
    """STREAM.MSG.GET replies as stored messages (None for one that is gone); other errors raise."""
    answers: list[dict[str, Any] | None] = []
    for reply in replies:
        try:
            answers.append(api_answer(reply).get("message"))
        except JetStreamApiError as exc:
            if not exc.not_found:
                raise
            answers.append(None)
    return answers


def advisory_letter(
    broker: str, entry: Message, original: dict[str, Any] | None, advisory: dict[str, Any]
) -> DeadLetter:
    """Pattern (a): one advisory entry, resolved (or not) to the message it names."""
    stream = str(advisory.get("stream") or "")
    seq = int(advisory.get("stream_seq") or 0)
    consumer = str(advisory.get("consumer") or "")
    terminated = "terminated" in str(advisory.get("type") or "") or entry.destination.startswith(MSG_TERMINATED)
    deliveries = advisory.get("deliveries")
    reason = f"terminated by {consumer}" if terminated else f"max deliveries reached by {consumer}"
    if advisory.get("reason"):
        reason += f": {advisory['reason']}"
    when = parse_time(advisory.get("timestamp")) or entry.timestamp
    extra = {"stream": stream, "consumer": consumer, "advisory": entry.destination, "dlq_seq": str(entry.position)}
    if original is None:
        message = Message(broker=broker, destination=stream, partition=None, position=seq, timestamp=None,
                          key=None, value=b"")  # fmt: skip
        origin = None
    else:
        message = stored_message(broker, original)
        origin = message.destination
    return DeadLetter(
        id=str(entry.position),
        message=message,
        origin=origin,
        reason=reason,
        attempts=int(deliveries) if isinstance(deliveries, int) else None,
        last_failure=when,
        origin_position=seq,
        extra=extra,
        gone=original is None,
    )


def parse_advisory(entry: Message) -> dict[str, Any] | None:
    try:
        advisory = orjson.loads(entry.value)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(advisory, dict) or not advisory.get("stream") or not isinstance(advisory.get("stream_seq"), int):
        return None
    return advisory


def unreadable_letter(entry: Message) -> DeadLetter:
    """An entry of an advisory DLQ that is no advisory: shown as it is, never replayed."""
    return DeadLetter(id=str(entry.position), message=entry, origin=None, reason="not a JetStream advisory",
                      gone=True, extra={"dlq_seq": str(entry.position)})  # fmt: skip


def republished_letter(entry: Message, origin: str | None, headers: Mapping[str, str] | None = None) -> DeadLetter:
    """Pattern (b): the entry is the failed message itself (`headers`: its `header_texts`, if known)."""
    texts = header_texts(entry) if headers is None else headers
    extra = {"dlq_subject": entry.destination, "dlq_seq": str(entry.position)}
    return DeadLetter(
        id=str(entry.position),
        message=entry,
        origin=origin,
        reason=texts.get("nats-failure-reason") or texts.get("failure-reason"),
        attempts=None,
        last_failure=entry.timestamp,
        extra=extra,
    )


def header_texts(message: Message) -> dict[str, str]:
    """Header names in lower case -> the first value of each as text (names are case-insensitive)."""
    texts: dict[str, str] = {}
    for key, value in message.headers:
        if value is not None:
            lowered = key.lower()
            if lowered not in texts:
                texts[lowered] = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return texts


def entry_origin(
    entry: Message, rules: Sequence[str], origin_stream: StreamFacts | None, headers: Mapping[str, str] | None = None
) -> str | None:
    """Where a republished entry came from (see the module docstring for the order); `headers`: the
    entry's `header_texts`, when the caller has them already."""
    texts = header_texts(entry) if headers is None else headers
    for header in ORIGIN_HEADERS:
        value = texts.get(header.lower())
        if value:
            return value
    by_subject = dlq_origin(entry.destination, rules)
    if by_subject is not None and (origin_stream is None or by_subject != origin_stream.name):
        return by_subject
    if origin_stream is not None:
        return origin_stream.literal_subject or origin_stream.name
    return None


#: Provenance headers of a replayed copy (the same names as on Kafka).
REPLAYED_FROM, REPLAYED_AT = "mqtui-replayed-from", "mqtui-replayed-at"
#: The application's own Nats-Msg-Id of a replayed message, which the replay's id replaces.
ORIGINAL_MSG_ID = "mqtui-original-msg-id"


def replay_id(letter: DeadLetter, dlq: str) -> str:
    """The Nats-Msg-Id of a replay: the original's stream and sequence where known, else the DLQ entry's,
    with the stored message's time in microseconds.

    A sequence alone names a different message once its stream is deleted and made again: within the
    target's duplicate window that message would be dropped as a duplicate of the first one's copy, and
    its dead letter then deleted, lost. The store time is the same on every rerun for one message and
    differs for the next one to get that sequence.
    """
    stream = letter.extra.get("stream")
    if stream and letter.origin_position is not None:
        where = f"{stream}:{letter.origin_position}"
    else:
        where = f"{dlq}:{letter.id}"
    stored = letter.message.timestamp
    return f"{REPLAY_ID_PREFIX}:{where}:{(stored - _EPOCH) // _MICROSECOND if stored else '-'}"


def replay_headers(message: Message, msg_id: str, replayed_from: str, replayed_at: str) -> dict[str, str]:
    """The original headers minus the server-interpreted `Nats-*` ones, plus the replay's Nats-Msg-Id and
    where the copy came from, as on every broker: `mqtui-replayed-from: <dlq>/<entry>` and
    `mqtui-replayed-at`. The replay's Nats-Msg-Id (needed for the server's dedup of a rerun) replaces the
    application's own, which is kept as `mqtui-original-msg-id` so a consumer deduplicating by it still can.

    nats-py takes headers as a str dict, so a repeated header keeps its last value and bytes that are
    not UTF-8 are replaced.
    """
    headers: dict[str, str] = {}
    original_id: str | None = None
    for key, value in message.headers:
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        text = text.replace("\r", " ").replace("\n", " ")
        if key.lower() == "nats-msg-id":
            original_id = text
        if key.lower().startswith("nats-") or not key:
            continue
        headers[key] = text
    if original_id:
        headers[ORIGINAL_MSG_ID] = original_id
    headers[REPLAYED_FROM] = replayed_from
    headers[REPLAYED_AT] = replayed_at
    headers["Nats-Msg-Id"] = msg_id
    return headers
