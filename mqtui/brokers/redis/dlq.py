"""Dead letters in Redis: DLQ lists and streams, over-delivered stream entries, RQ failed jobs.

Four kinds of dead-letter queue, named the way `dlq show` takes them:
- a list or stream matching a naming rule (`jobs:dlq` holds the dead letters of `jobs`);
- `STREAM@GROUP`: entries of a consumer group's pending list delivered `max_deliveries` times or more;
- `rq:failed:<queue>`: RQ's failed-job registry (job ids; the job hash says why and where from).

Every move is one atomic server-side step, so a crash of mqtui or of Redis at any point leaves each
message either still a dead letter or at its destination, never both and never neither, and running
the replay again finishes the rest:
- list -> list: LMOVE (DLQ's oldest end to the target's newest end), one element per command;
- list -> stream, list by id, RQ: a Lua script per dead letter that first checks it is still there
  (so a repeated or retried call does nothing) and the target's type (so no write can fail after the
  source was changed), then copies and removes it;
- stream -> anything, pending -> anything: the same checks and moves, for a whole batch of BATCH
  entries in one script call (one call per entry cost more than the moves, on the client and on the
  server); the batch is atomic as a whole, and each entry gets its own answer;
- a stream entry of more than about 3,500 fields, which no Lua call can pass on: one MULTI/EXEC whose
  closing script keeps the copy only if the original was still a dead letter (see
  mqtui.brokers.redis.bigentry), moved after the rest of its batch of BATCH.

A target that does not exist yet is created as the kind the dead letters come from (a list from a
DLQ list, a stream otherwise). A stream entry sent to a list pushes its `data` field, or all its fields
as one JSON object when it has none (the value mqtui shows for it; an entry with the fields of the
{"id","type","payload","timestamp"} shape becomes that message); a list element sent to a stream
becomes the field `data`.

Ids: a stream dead letter's id is its entry id, an RQ one's the job id. A list element has no id of its
own: it is the `id` field of a JSON object element (the {"id","type","payload","timestamp"} shape), else
`sha1:` and 16 hex digits of the element's bytes. Identical elements share an id; `--id` selects all of
them. Elements are moved byte for byte, so a replayed JSON message keeps its id.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from typing import TYPE_CHECKING, Any, Literal

import orjson

from mqtui.brokers.redis import jobs
from mqtui.brokers.redis.bigentry import MAX_SCRIPT_VALUES, TOO_BIG, BigEntryMover
from mqtui.brokers.redis.client import text
from mqtui.brokers.redis.discovery import Collector, Snapshot
from mqtui.brokers.redis.streams import (
    PENDING_PAGE,
    PENDING_SCAN_LIMIT,
    compare_ids,
    dead_pending,
    id_time,
    next_after,
    stream_message,
)
from mqtui.config import RedisConfig
from mqtui.errors import NotFound
from mqtui.model import (
    DeadLetter,
    DeadLetterQueue,
    DestinationKind,
    Message,
    ProgressCallback,
    ReplayItem,
    ReplayResult,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

BATCH = 100
READ_CHUNK = 1000
_HINT_LIMIT = 1 << 20
_REASON_FIELDS = ("error", "reason", "exception", "last_error", "failure")
_ATTEMPT_FIELDS = ("attempts", "deliveries", "delivery_count", "retries", "retry_count")

#: KEYS: source stream, target. ARGV: target mode (stream|list), group ('' = DLQ stream), '1' to XDEL
#: the source entries, then per entry its id, and for a list target also '1' and the value to LPUSH
#: (read beforehand: entries never change), or '0' and '' when that read found no entry. Each entry is
#: checked and moved as if alone (nothing else runs during a script, so the batch is atomic as a whole).
#: The errors a check can raise (NOGROUP, WRONGTYPE) would come alike for every entry, so at the first,
#: before any write; and no write of an entry follows a check that could fail, so even an error midway
#: would leave the entries before it moved and the rest untouched. Returns one code per entry: 1 moved,
#: 0 no longer pending/present, -2 entry deleted from the stream, -3 target has another type, -5 the
#: entry was not there when its value was read (left alone), TOO_BIG: too many fields for one command
#: here (see redis_bigentry).
_MOVE_STREAM_ENTRIES = f"""
local mode, group, delete = ARGV[1], ARGV[2], ARGV[3]
local t = redis.call('TYPE', KEYS[2])['ok']
local wrong_type = t ~= 'none' and t ~= mode
local stride = 1
if mode == 'list' then stride = 3 end
local codes = {{}}
for i = 4, #ARGV, stride do
  local id = ARGV[i]
  local code = 1
  if wrong_type then
    code = -3
  elseif group ~= '' and #redis.call('XPENDING', KEYS[1], group, id, id, 1) == 0 then
    code = 0
  else
    local entry = redis.call('XRANGE', KEYS[1], id, id)
    if #entry == 0 then
      if group == '' then code = 0 else code = -2 end
    elseif mode == 'list' then
      if ARGV[i + 1] == '1' then redis.call('LPUSH', KEYS[2], ARGV[i + 2]) else code = -5 end
    elseif #entry[1][2] > {MAX_SCRIPT_VALUES} then
      code = {TOO_BIG}
    else
      redis.call('XADD', KEYS[2], '*', unpack(entry[1][2]))
    end
  end
  if code == 1 then
    if group ~= '' then redis.call('XACK', KEYS[1], group, id) end
    if delete == '1' then redis.call('XDEL', KEYS[1], id) end
  end
  codes[#codes + 1] = code
end
return codes
"""

#: KEYS: DLQ list, target. ARGV: element, target mode. Moves the oldest occurrence of that element.
_MOVE_LIST_VALUE = """
local t = redis.call('TYPE', KEYS[2])['ok']
if t ~= 'none' and t ~= ARGV[2] then return -3 end
if redis.call('LREM', KEYS[1], -1, ARGV[1]) == 0 then return 0 end
if ARGV[2] == 'stream' then
  redis.call('XADD', KEYS[2], '*', 'data', ARGV[1])
else
  redis.call('LPUSH', KEYS[2], ARGV[1])
end
return 1
"""

#: KEYS: DLQ list, target stream. Moves the DLQ's oldest element into the stream as field `data`.
_POP_LIST_TO_STREAM = """
local t = redis.call('TYPE', KEYS[2])['ok']
if t ~= 'none' and t ~= 'stream' then return -3 end
local value = redis.call('RPOP', KEYS[1])
if not value then return 0 end
redis.call('XADD', KEYS[2], '*', 'data', value)
return 1
"""

#: RQ's FailedJobRegistry.requeue in one step. KEYS: registry, job hash, queue list, rq:queues.
#: ARGV: job id, queue name, enqueued_at. Returns 1, 0 (not in the registry), -2 (job hash gone), -3.
_RQ_REQUEUE = """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 then return -2 end
local t = redis.call('TYPE', KEYS[3])['ok']
if t ~= 'none' and t ~= 'list' then return -3 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'status', 'queued', 'origin', ARGV[2], 'enqueued_at', ARGV[3],
           'started_at', '', 'ended_at', '')
redis.call('HDEL', KEYS[2], 'exc_info')
redis.call('RPUSH', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], KEYS[3])
return 1
"""

#: KEYS: registry, job hash, results stream, dependents set. ARGV: job id.
_RQ_DELETE = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
return 1
"""

_OUTCOMES = {
    0: "already gone from the dead-letter queue",
    -2: "the message no longer exists (deleted or trimmed)",
    -3: "the target changed type",
    -5: "the message changed while it was read (left in place)",
    -6: "the copy did not reach the target (nothing was removed)",
}


@dataclass(frozen=True)
class DlqRef:
    kind: Literal["list", "stream", "pending", "rq"]
    name: str
    key: bytes
    origin: str | None
    group: str | None = None


@dataclass
class Planned:
    item: ReplayItem
    value: bytes | None = None
    entry_id: str | None = None
    origin: str | None = None
    mode: str = "list"
    duplicate: bool = False


@dataclass
class _Hints:
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


def _json_hints(value: bytes) -> _Hints:
    """What a JSON object dead letter says about itself (id, error, attempts); nothing if not JSON."""
    if len(value) > _HINT_LIMIT or value.lstrip()[:1] != b"{":
        return _Hints()
    try:
        decoded = orjson.loads(value)
    except orjson.JSONDecodeError:
        return _Hints()
    if not isinstance(decoded, dict):
        return _Hints()
    return _hints_from({str(k): v for k, v in decoded.items()})


def _hints_from(fields: dict[str, Any]) -> _Hints:
    hints = _Hints()
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
    return _json_hints(value).id or f"sha1:{hashlib.sha1(value).hexdigest()[:16]}"


class DeadLetters:
    """Dead-letter reading and moving on one client; the adapter supplies names -> raw keys."""

    def __init__(self, client: Redis, config: RedisConfig, collector: Collector, raw: Any) -> None:
        self.client = client
        self.config = config
        self.broker = config.name
        self.collector = collector
        self.raw = raw
        self._move_entries = client.register_script(_MOVE_STREAM_ENTRIES)
        self._move_value = client.register_script(_MOVE_LIST_VALUE)
        self._pop_to_stream = client.register_script(_POP_LIST_TO_STREAM)
        self._rq_requeue = client.register_script(_RQ_REQUEUE)
        self._rq_delete = client.register_script(_RQ_DELETE)
        self._big = BigEntryMover(client)
        self.notices: list[str] = []
        """Groups whose dead letters were counted in their oldest pending entries only (last `queues`)."""

    # -- naming --------------------------------------------------------------------------------------
    async def resolve(self, name: str) -> DlqRef:
        key = self.raw(name)
        kind = text(await self.client.type(key))
        origin = self.collector.dlq_origin(name)
        rq_queue = jobs.rq_failed_queue(name)
        if kind in ("list", "stream"):
            return DlqRef(kind, name, key, origin)  # type: ignore[arg-type]
        if rq_queue is not None and kind in ("zset", "none"):
            return DlqRef("rq", name, key, jobs.rq_queue_key(rq_queue))
        if kind == "none" and origin is not None:
            return DlqRef("list", name, key, origin)
        stream, sep, group = name.rpartition("@")
        if kind == "none" and sep and stream and group:
            stream_key = self.raw(stream)
            if text(await self.client.type(stream_key)) == "stream":
                groups = {text(g["name"]) for g in await self.client.xinfo_groups(stream_key)}
                if group in groups:
                    return DlqRef("pending", name, stream_key, stream, group)
        raise NotFound(
            f"{self.broker}: no dead-letter queue {name!r} (expected a list, a stream, STREAM@GROUP "
            "or an RQ failed registry)"
        )

    # -- listing -------------------------------------------------------------------------------------
    async def queues(self, snap: Snapshot, stream_keys: dict[str, bytes]) -> list[DeadLetterQueue]:
        self.notices = []
        found: list[DeadLetterQueue] = []
        list_dlqs = [item for item in snap.lists.values() if item.is_dlq]
        oldest = await self._oldest_elements([self.raw(item.name) for item in list_dlqs])
        for item, element in zip(list_dlqs, oldest, strict=True):
            found.append(
                DeadLetterQueue(self.broker, item.name, DestinationKind.LIST, item.origin, item.depth,
                                oldest=_json_hints(element).time if element else None)
            )  # fmt: skip
        for stream in snap.streams.values():
            if stream.is_dlq:
                found.append(
                    DeadLetterQueue(self.broker, stream.name, DestinationKind.STREAM, stream.origin, stream.length,
                                    oldest=id_time(stream.first_id))
                )  # fmt: skip
        found += await self._pending_queues(snap, stream_keys)
        registries = sorted(snap.rq_failed.items())
        failed_at = await self._rq_oldest_failures([key for key, _ in registries])
        for (key, count), oldest_failure in zip(registries, failed_at, strict=True):
            queue = jobs.rq_failed_queue(key)
            found.append(
                DeadLetterQueue(self.broker, key, DestinationKind.QUEUE, jobs.rq_queue_key(queue or ""), count,
                                oldest=oldest_failure, detected_by="rq failed registry")
            )  # fmt: skip
        return found

    async def _oldest_elements(self, keys: list[bytes]) -> list[bytes | None]:
        """The element next to be requeued from each DLQ list (its oldest), in one pipeline of LINDEX."""
        if not keys:
            return []
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.lindex(key, -1)
        return [
            None if isinstance(answer, Exception) else answer for answer in await pipe.execute(raise_on_error=False)
        ]

    async def _rq_oldest_failures(self, registries: list[str]) -> list[datetime | None]:
        """When the oldest job of each failed registry failed: RQ scores the registry by expiry, failure
        time plus the same failure_ttl for every job, so the lowest score is the oldest failure, and
        its job hash has `ended_at`. Two pipelines whatever the number of registries."""
        if not registries:
            return []
        pipe = self.client.pipeline(transaction=False)
        for key in registries:
            pipe.zrange(key, 0, 0)
        firsts = [[] if isinstance(a, Exception) else a for a in await pipe.execute(raise_on_error=False)]
        pipe = self.client.pipeline(transaction=False)
        for first in firsts:
            pipe.hget(f"{jobs.RQ_JOB_PREFIX}{text(first[0]) if first else ''}", "ended_at")
        ended = await pipe.execute(raise_on_error=False)
        return [
            jobs.rq_time(end) if first and isinstance(end, bytes) else None
            for first, end in zip(firsts, ended, strict=True)
        ]

    async def _pending_queues(self, snap: Snapshot, stream_keys: dict[str, bytes]) -> list[DeadLetterQueue]:
        """One pipeline for every group's first page of XPENDING; longer pending lists page on alone."""
        groups = [(s, g) for s in snap.streams.values() for g in s.groups if g.pending]
        if not groups:
            return []
        pipe = self.client.pipeline(transaction=False)
        for stream, group in groups:
            pipe.xpending_range(stream_keys[stream.name], group.name, min="-", max="+", count=PENDING_PAGE)
        answers = await pipe.execute(raise_on_error=False)
        limit = self.config.max_deliveries
        found = []
        for (stream, group), page in zip(groups, answers, strict=True):
            if isinstance(page, Exception):
                continue
            dead = [e for e in page if int(e["times_delivered"]) >= limit]
            complete = len(page) < PENDING_PAGE
            if not complete:
                more, complete = await dead_pending(
                    self.client, stream_keys[stream.name], group.name, limit,
                    scan_limit=PENDING_SCAN_LIMIT - PENDING_PAGE, start=next_after(page[-1]["message_id"]),
                )  # fmt: skip
                dead += more
            name, detected_by = f"{stream.name}@{group.name}", f"max deliveries ({limit})"
            if not complete:
                detected_by += f", in the oldest {PENDING_SCAN_LIMIT:,} pending"
                self.notices.append(
                    f"{self.broker}: {name} has {group.pending:,} pending entries; its dead letters were counted in "
                    f"the oldest {PENDING_SCAN_LIMIT:,} only (at least {len(dead):,}; `dlq show` reads them all)"
                )
            if dead:
                found.append(
                    DeadLetterQueue(self.broker, name, DestinationKind.STREAM, stream.name, len(dead),
                                    oldest=id_time(dead[0]["message_id"]), detected_by=detected_by)
                )  # fmt: skip
        return found

    # -- reading -------------------------------------------------------------------------------------
    async def letters(self, ref: DlqRef, limit: int) -> list[DeadLetter]:
        if ref.kind == "list":
            return [self._list_letter(ref, pos, value) async for pos, value in self._list_elements(ref.key, limit)]
        if ref.kind == "stream":
            entries = await self.client.xrange(ref.key, "-", "+", count=limit)
            return [self._stream_letter(ref, entry) for entry in entries]
        if ref.kind == "pending":
            return await self._pending_letters(ref, limit)
        return await self._rq_letters(ref, limit)

    async def _list_elements(self, key: bytes, limit: int | None = None) -> AsyncIterator[tuple[int, bytes]]:
        """Elements oldest first (the LPUSH/BRPOP convention: the oldest is at the right end)."""
        position = 0
        while limit is None or position < limit:
            size = READ_CHUNK if limit is None else min(READ_CHUNK, limit - position)
            chunk = await self.client.lrange(key, -(position + size), -(position + 1))
            for value in reversed(chunk):
                yield position, value
                position += 1
            if len(chunk) < size:
                return

    def _list_letter(self, ref: DlqRef, position: int, value: bytes) -> DeadLetter:
        hints = _json_hints(value)
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

    async def _rq_job_ids(self, ref: DlqRef, limit: int | None) -> list[str]:
        stop = -1 if limit is None else limit - 1
        return [text(job) for job in await self.client.zrange(ref.key, 0, stop)]

    async def _rq_letters(self, ref: DlqRef, limit: int) -> list[DeadLetter]:
        job_ids = await self._rq_job_ids(ref, limit)
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
    async def _target_mode(self, target: str, fresh: str) -> tuple[str | None, str | None]:
        """How dead letters land in `target`: as its own type, or as `fresh` when it does not exist yet."""
        kind = text(await self.client.type(self.raw(target)))
        if kind == "none":
            return fresh, None
        if kind in ("list", "stream"):
            return kind, None
        return None, f"target {target} is a {kind}, not a list or stream"

    async def plan(
        self, ref: DlqRef, *, to: str | None, ids: Collection[str] | None, limit: int | None
    ) -> list[Planned]:
        wanted = set(ids) if ids else None
        if ref.kind == "rq":
            return await self._plan_rq(ref, to, wanted, limit)
        target = to or ref.origin
        if target is None:
            mode, reason = None, "no origin known for this dead-letter queue: pass --to"
        elif target == ref.name and ref.kind != "pending":
            mode, reason = None, "the target is the dead-letter queue itself"
        else:
            mode, reason = await self._target_mode(target, "list" if ref.kind == "list" else "stream")
        plans: list[Planned] = []

        def add(identifier: str, **details: Any) -> bool:
            if wanted is not None and identifier not in wanted:
                return False
            plans.append(Planned(ReplayItem(identifier, target or "", reason), mode=mode or "list", **details))
            return limit is not None and len(plans) >= limit

        if ref.kind == "list":
            async for _, value in self._list_elements(ref.key):
                if add(element_id(value), value=value if wanted is not None else None):  # moved by value only with ids
                    break
        elif ref.kind == "stream":
            start = "-"
            while True:
                entries = await self.client.xrange(ref.key, start, "+", count=READ_CHUNK)
                if any(add(text(entry_id), entry_id=text(entry_id)) for entry_id, _ in entries):
                    break
                if len(entries) < READ_CHUNK:
                    break
                start = next_after(entries[-1][0])
        else:
            await self._plan_pending(ref, target, add)
        return plans

    async def _plan_pending(self, ref: DlqRef, target: str | None, add: Any) -> None:
        assert ref.group is not None
        pending, _ = await dead_pending(self.client, ref.key, ref.group, self.config.max_deliveries, scan_limit=None)
        same_stream = target == ref.origin
        others = []
        if same_stream:
            others = [
                text(g["last-delivered-id"])
                for g in await self.client.xinfo_groups(ref.key)
                if text(g["name"]) != ref.group
            ]
        for entry in pending:
            entry_id = text(entry["message_id"])
            duplicate = any(compare_ids(last, entry_id) >= 0 for last in others)
            if add(entry_id, entry_id=entry_id, duplicate=duplicate):
                return

    async def _plan_rq(self, ref: DlqRef, to: str | None, wanted: set[str] | None, limit: int | None) -> list[Planned]:
        job_ids = [j for j in await self._rq_job_ids(ref, None) if wanted is None or j in wanted]
        if limit is not None:
            job_ids = job_ids[:limit]
        pipe = self.client.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hget(f"{jobs.RQ_JOB_PREFIX}{job_id}", "origin")
        origins = await pipe.execute(raise_on_error=False) if job_ids else []
        plans = []
        for job_id, origin in zip(job_ids, origins, strict=True):
            name = jobs.rq_queue_name(jobs.rq_queue_key(to)) if to else (text(origin) if origin else None)
            reason = None if name else "the job hash is gone or names no origin queue: pass --to"
            target = jobs.rq_queue_key(name) if name else ""
            plans.append(Planned(ReplayItem(job_id, target, reason), origin=name))
        return plans

    # -- moving ----------------------------------------------------------------------------------------
    async def replay(
        self,
        ref: DlqRef,
        *,
        to: str | None,
        ids: Collection[str] | None,
        limit: int | None,
        progress: ProgressCallback | None,
    ) -> ReplayResult:
        plans = await self.plan(ref, to=to, ids=ids, limit=limit)
        todo = [p for p in plans if p.item.skip_reason is None]
        sent = failed = duplicates = 0
        skipped = len(plans) - len(todo)
        errors = [f"{p.item.id}: {p.item.skip_reason}" for p in plans if p.item.skip_reason][:20]
        by_value = ref.kind == "list" and bool(ids)
        for start in range(0, len(todo), BATCH):
            batch = todo[start : start + BATCH]
            if ref.kind in ("stream", "pending"):
                outcomes = await self._move_stream_entries(ref, batch)
            else:
                pipe = self.client.pipeline(transaction=False)
                for planned in batch:
                    await self._queue_move(pipe, ref, planned, by_value)
                outcomes = await pipe.execute(raise_on_error=False)
            for planned, outcome in zip(batch, outcomes, strict=True):
                code = _code(outcome)
                if code == TOO_BIG:
                    outcome = await self._move_big(ref, planned)
                    code = _code(outcome)
                if code == 1:
                    sent += 1
                    duplicates += planned.duplicate
                elif code == 0:
                    skipped += 1
                else:
                    failed += 1
                    reason = str(outcome) if isinstance(outcome, Exception) else _OUTCOMES.get(code, str(code))
                    if len(errors) < 20:
                        errors.append(f"{planned.item.id}: {reason}")
            if progress is not None:
                progress(min(start + BATCH, len(todo)), len(todo))
        return ReplayResult(sent=sent, failed=failed, skipped=skipped, duplicates=duplicates, errors=tuple(errors))

    async def _move_stream_entries(self, ref: DlqRef, batch: list[Planned]) -> list[Any]:
        """One script call per run of entries with the same target (a plan has one): one outcome per
        entry, a code or the server's error. One call moves a whole batch, instead of one per entry: the
        per-call cost on both sides (packing, a reply, the script's set-up) was most of a move's time."""
        from redis.exceptions import ResponseError

        outcomes: list[Any] = []
        for (target, mode), entries in groupby(batch, key=lambda planned: (planned.item.target, planned.mode)):
            run = list(entries)
            values = await self._list_values(ref, run) if mode == "list" else {}
            delete = "1" if ref.kind == "stream" or target == ref.origin else "0"
            args: list[str | bytes] = [mode, ref.group or "", delete]
            for planned in run:
                assert planned.entry_id is not None
                args.append(planned.entry_id)
                if mode == "list":
                    value = values.get(planned.entry_id)
                    args += ["0", b""] if value is None else ["1", value]
            try:
                outcomes += await self._move_entries(keys=[ref.key, self.raw(target)], args=args)
            except ResponseError as exc:
                outcomes += [exc] * len(run)
        return outcomes

    async def _list_values(self, ref: DlqRef, batch: list[Planned]) -> dict[str, bytes]:
        """What each stream entry of `batch` going to a list becomes there: its `data` field, else all its
        fields as a JSON object (the value mqtui shows for it, so a {"id", ...} message keeps its id)."""
        wanted = [p.entry_id for p in batch if p.entry_id]
        if not wanted:
            return {}
        pipe = self.client.pipeline(transaction=False)
        for entry_id in wanted:
            pipe.xrange(ref.key, entry_id, entry_id)
        values = {}
        for entry_id, entries in zip(wanted, await pipe.execute(raise_on_error=False), strict=True):
            if entries and not isinstance(entries, Exception):
                values[entry_id] = stream_message(self.broker, ref.name, entries[0]).value
        return values

    async def _move_big(self, ref: DlqRef, planned: Planned) -> int | Exception:
        """The move of an entry the script refused as too big; a server error is an outcome, as in a pipeline."""
        from redis.exceptions import ResponseError

        assert planned.entry_id is not None
        delete = ref.kind == "stream" or planned.item.target == ref.origin
        target = self.raw(planned.item.target)
        try:
            return await self._big.move(ref.key, target, planned.entry_id, ref.group, delete)
        except ResponseError as exc:
            return exc

    async def _queue_move(self, pipe: Any, ref: DlqRef, planned: Planned, by_value: bool) -> None:
        target = self.raw(planned.item.target)
        if ref.kind == "list" and not by_value:
            if planned.mode == "list":
                pipe.lmove(ref.key, target, "RIGHT", "LEFT")
            else:
                await self._pop_to_stream(keys=[ref.key, target], client=pipe)
        elif ref.kind == "list":
            await self._move_value(keys=[ref.key, target], args=[planned.value, planned.mode], client=pipe)
        else:
            job_key = f"{jobs.RQ_JOB_PREFIX}{planned.item.id}"
            keys = [ref.key, job_key, planned.item.target, jobs.RQ_QUEUES_SET]
            await self._rq_requeue(keys=keys, args=[planned.item.id, planned.origin, jobs.rq_now()], client=pipe)

    async def delete(self, ref: DlqRef, ids: Collection[str]) -> int:
        wanted = set(ids)
        if ref.kind == "stream":
            return int(await self.client.xdel(ref.key, *wanted)) if wanted else 0
        if ref.kind == "pending":
            assert ref.group is not None
            return int(await self.client.xack(ref.key, ref.group, *wanted)) if wanted else 0
        pipe = self.client.pipeline(transaction=False)
        queued = 0
        if ref.kind == "list":
            async for _, value in self._list_elements(ref.key):
                if element_id(value) in wanted:
                    pipe.lrem(ref.key, -1, value)
                    queued += 1
        else:
            for job_id in wanted:
                keys = [ref.key, f"{jobs.RQ_JOB_PREFIX}{job_id}", f"rq:results:{job_id}",
                        f"{jobs.RQ_JOB_PREFIX}{job_id}:dependents"]  # fmt: skip
                await self._rq_delete(keys=keys, args=[job_id], client=pipe)
                queued += 1
        if not queued:
            return 0
        return sum(_code(outcome) == 1 for outcome in await pipe.execute(raise_on_error=False))


def _code(outcome: Any) -> int:
    """LMOVE answers the moved element (or nil); the scripts answer a number."""
    if isinstance(outcome, Exception):
        return -99
    if outcome is None:
        return 0
    if isinstance(outcome, bytes):
        return 1
    return int(outcome)
