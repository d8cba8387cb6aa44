"""Reading Redis dead letters: a DLQ as resolved from its name (`DlqRef`), and its dead letters as records.

A stream dead letter's id is its entry id, an RQ one's the job id. A list element has no id of its own:
it is the `id` field of a JSON object element (the {"id","type","payload","timestamp"} shape), else
`sha1:` and 16 hex digits of the element's bytes. Identical elements share an id; `--id` selects all of
them. What a JSON dead letter says about itself (error, attempts, time) fills in its reason.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import orjson

from mqtui.brokers.redis import jobs
from mqtui.brokers.redis.client import as_bytes, text
from mqtui.brokers.redis.streams import dead_pending, id_time, stream_message, xrange
from mqtui.config import RedisConfig
from mqtui.model import DeadLetter, Message

if TYPE_CHECKING:
    from redis.asyncio import Redis

READ_CHUNK = 1000
_HINT_LIMIT = 1 << 20
_REASON_FIELDS = ("error", "reason", "exception", "last_error", "failure")
_ATTEMPT_FIELDS = ("attempts", "deliveries", "delivery_count", "retries", "retry_count")


@dataclass(frozen=True)
class DlqRef:
    """A dead-letter queue as `DeadLetters.resolve` found it: what kind, its key, where its letters go."""

    kind: Literal["list", "stream", "pending", "rq", "dramatiq", "bullmq", "sidekiq"]
    name: str
    key: bytes
    origin: str | None
    group: str | None = None


@dataclass
class Hints:
    """What a JSON dead letter says about itself."""

    id: str | None = None
    reason: str | None = None
    attempts: int | None = None
    time: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)


def _json_time(value: Any) -> datetime | None:
    """A message's `timestamp`: ISO 8601 text, or epoch seconds or milliseconds."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            seconds = value / 1000 if value > 1e11 else value
            return datetime.fromtimestamp(seconds, tz=UTC) if seconds > 0 else None
        if isinstance(value, str):
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return None


def json_hints(value: bytes) -> Hints:
    """What a JSON object dead letter says about itself (id, error, attempts); nothing if not JSON."""
    if len(value) > _HINT_LIMIT or value.lstrip()[:1] != b"{":
        return Hints()
    try:
        decoded = orjson.loads(value)
    except orjson.JSONDecodeError:
        return Hints()
    if not isinstance(decoded, dict):
        return Hints()
    return _hints_from({str(k): v for k, v in decoded.items()})


def _hints_from(fields: dict[str, Any]) -> Hints:
    hints = Hints()
    found_id = fields.get("id")
    if isinstance(found_id, str | int) and not isinstance(found_id, bool):
        hints.id = str(found_id)[:200]
    for name in _REASON_FIELDS:
        if isinstance(fields.get(name), str | bytes) and fields[name]:
            hints.reason = text(fields[name])[:500]
            break
    for name in _ATTEMPT_FIELDS:
        try:
            hints.attempts = int(fields[name])
            break
        except (KeyError, TypeError, ValueError):
            continue
    hints.time = _json_time(fields.get("timestamp"))
    return hints


def element_id(value: bytes) -> str:
    """The id of a list element (see module doc)."""
    return json_hints(value).id or f"sha1:{hashlib.sha1(value).hexdigest()[:16]}"


class Letters:
    """Reads the dead letters of resolved DLQs on one client."""

    def __init__(self, client: Redis, config: RedisConfig) -> None:
        self.client = client
        self.config = config
        self.broker = config.name

    async def read(self, ref: DlqRef, limit: int) -> list[DeadLetter]:
        if ref.kind == "list":
            return [self._list_letter(ref, pos, value) async for pos, value in self.list_elements(ref.key, limit)]
        if ref.kind == "stream":
            entries = await xrange(self.client, ref.key, "-", "+", count=limit)
            return [self._stream_letter(ref, entry) for entry in entries]
        if ref.kind == "pending":
            return await self._pending_letters(ref, limit)
        return await self._rq_letters(ref, limit)

    async def list_elements(self, key: bytes, limit: int | None = None) -> AsyncIterator[tuple[int, bytes]]:
        """Elements oldest first (the LPUSH/BRPOP convention: the oldest is at the right end)."""
        position = 0
        while limit is None or position < limit:
            size = READ_CHUNK if limit is None else min(READ_CHUNK, limit - position)
            chunk = as_bytes(await self.client.lrange(key, -(position + size), -(position + 1)))
            for value in reversed(chunk):
                yield position, value
                position += 1
            if len(chunk) < size:
                return

    def _list_letter(self, ref: DlqRef, position: int, value: bytes) -> DeadLetter:
        hints = json_hints(value)
        message = Message(self.broker, ref.name, None, position, None, None, value)
        return DeadLetter(
            id=hints.id or element_id(value),
            message=message,
            origin=ref.origin,
            reason=hints.reason,
            attempts=hints.attempts,
        )

    def _stream_letter(self, ref: DlqRef, entry: tuple[bytes, list[tuple[bytes, bytes]]]) -> DeadLetter:
        message = stream_message(self.broker, ref.name, entry)
        fields = {text(k): text(v) for k, v in reversed(entry[1])}
        hints = _hints_from(fields)
        origin = ref.origin or fields.get("origin") or None
        return DeadLetter(
            id=text(entry[0]),
            message=message,
            origin=origin,
            reason=hints.reason,
            attempts=hints.attempts,
            first_failure=message.timestamp,
            last_failure=message.timestamp,
        )

    async def _pending_letters(self, ref: DlqRef, limit: int) -> list[DeadLetter]:
        assert ref.group is not None
        pending, _ = await dead_pending(
            self.client, ref.key, ref.group, self.config.max_deliveries, limit=limit, scan_limit=None
        )
        pipe = self.client.pipeline(transaction=False)
        for entry in pending:
            pipe.xrange(ref.key, entry["message_id"], entry["message_id"])
        bodies = await pipe.execute(raise_on_error=False) if pending else []
        now = time.time()
        letters = []
        for entry, body in zip(pending, bodies, strict=True):
            entry_id = text(entry["message_id"])
            gone = isinstance(body, Exception) or not body
            message = (
                Message(self.broker, ref.origin or "", None, entry_id, id_time(entry_id), None, b"")
                if gone
                else stream_message(self.broker, ref.origin or "", body[0])
            )
            deliveries = int(entry["times_delivered"])
            idle_ms = int(entry["time_since_delivered"])
            letters.append(
                DeadLetter(
                    id=entry_id,
                    message=message,
                    origin=ref.origin,
                    reason=f"delivered {deliveries} times without an ack (max_deliveries {self.config.max_deliveries})",
                    attempts=deliveries,
                    first_failure=None,
                    last_failure=datetime.fromtimestamp(now - idle_ms / 1000, tz=UTC),
                    origin_position=entry_id,
                    extra={"group": ref.group, "consumer": text(entry["consumer"]), "idle_ms": str(idle_ms)},
                    gone=gone,
                )
            )
        return letters

    async def rq_job_ids(self, ref: DlqRef, limit: int | None) -> list[str]:
        stop = -1 if limit is None else limit - 1
        return [text(job) for job in as_bytes(await self.client.zrange(ref.key, 0, stop))]

    async def _rq_letters(self, ref: DlqRef, limit: int) -> list[DeadLetter]:
        job_ids = await self.rq_job_ids(ref, limit)
        fields = ("origin", "description", "exc_info", "ended_at", "enqueued_at", "created_at", "status")
        pipe = self.client.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hmget(f"{jobs.RQ_JOB_PREFIX}{job_id}", fields)
            pipe.xrevrange(f"rq:results:{job_id}", "+", "-", count=1)
        answers = await pipe.execute(raise_on_error=False) if job_ids else []
        letters = []
        for index, job_id in enumerate(job_ids):
            values, results = answers[2 * index], answers[2 * index + 1]
            data = dict(zip(fields, values, strict=True)) if not isinstance(values, Exception) else {}
            traceback = jobs.rq_exc_text(data.get("exc_info"))
            if traceback is None and results and not isinstance(results, Exception):
                result_fields = dict(results[0][1])
                traceback = jobs.rq_result_exc_text(result_fields.get(b"exc_string"))
            origin = text(data["origin"]) if data.get("origin") else None
            status = text(data.get("status")) if data.get("status") else None
            headers = tuple((k, v) for k, v in (("origin", data.get("origin")), ("status", data.get("status"))) if v)
            message = Message(
                broker=self.broker,
                destination=ref.name,
                partition=None,
                position=job_id,
                timestamp=jobs.rq_time(data.get("enqueued_at")) or jobs.rq_time(data.get("created_at")),
                key=job_id.encode(),
                value=data.get("description") or b"",
                headers=headers,
            )
            letters.append(
                DeadLetter(
                    id=job_id,
                    message=message,
                    origin=jobs.rq_queue_key(origin) if origin else None,
                    reason=jobs.last_line(traceback),
                    last_failure=jobs.rq_time(data.get("ended_at")),
                    extra={"status": status or "", "traceback": (traceback or "")[-2000:]},
                    gone=not data.get("status") and not data.get("origin"),
                )
            )
        return letters

    # -- planning --------------------------------------------------------------------------------------
