"""Dramatiq's keys on its Redis broker, read and moved the way its own `dispatch.lua` does.

Checked against dramatiq 2.x (`dramatiq/brokers/redis/dispatch.lua`), namespace `dramatiq` by default:
- `<ns>:<queue>` is a list of message ids (RPUSH, LPOP) and `<ns>:<queue>.msgs` the hash id -> body;
  `<ns>:<queue>.DQ` (+ `.DQ.msgs`) is the delay queue (ETAs and retries with backoff wait there);
- `<ns>:__acks__.<worker>.<queue>` is a set of the ids a worker fetched and has not acked: in progress,
  or, for `<queue>.DQ`, delayed messages a worker holds until their time comes (still delayed);
- `<ns>:__heartbeats__` is a sorted set of broker ids scored by their last call (ms): every process whose
  broker ran `dispatch.lua` (workers fetching, and senders too), shown as the heartbeats of the last minute;
- `<ns>:<queue>.XQ` is the dead-letter sorted set (ids scored by when they died, ms) and
  `<ns>:<queue>.XQ.msgs` the hash of their bodies. A body is JSON: `queue_name`, `actor_name`, `args`,
  `kwargs`, `options` (the Retries middleware leaves `retries` and `traceback` there), `message_id`,
  `message_timestamp`.

Dramatiq has no API to requeue a dead letter, so mqtui does what `dispatch.lua`'s `enqueue` would, in
one script that first checks the message is still dead: body into `<queue>.msgs`, id onto the list,
then gone from the XQ. The body moves byte for byte (its `retries` count too, so `max_retries` still
bounds a job that keeps failing). Deleting removes the id and its body.

The Redis broker stores a message's body when it is enqueued and never again, so the dead-letter hash
holds the body as last enqueued: the Retries middleware's `retries` and `traceback` of the attempt
before the last one when the message was retried, nothing about the last failure. That exception is
kept only by the Results middleware (`store_results=True`): a list under md5 of `dramatiq-results:<queue>:<actor>:<id>`
(or that text itself with `use_namespace_prefix_keys`) holding `{"exn": {"type", "msg"}}`; mqtui reads it
there when it is in the same database, and otherwise says that the broker kept no exception.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import orjson

from mqtui.brokers.redis.client import text
from mqtui.model import DeadLetter, Detail, Message
from mqtui.safetext import safe_line

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from mqtui.brokers.redis.snapshot import Snapshot

#: Dramatiq's queue names (`dramatiq.common` checks `[a-zA-Z_][a-zA-Z0-9._-]*`), under a namespace.
_XQ = re.compile(r"^(?P<ns>.+):(?P<queue>[A-Za-z_][A-Za-z0-9._-]*)\.XQ$")
_ACKS = re.compile(r"^(?P<ns>.+):__acks__\.(?P<worker>[^.]+)\.(?P<queue>[A-Za-z_][A-Za-z0-9._-]*)$")
HEARTBEATS = "__heartbeats__"
#: Dramatiq's default heartbeat timeout: a worker silent longer than this is taken as gone.
HEARTBEAT_TIMEOUT_MS = 60_000
DETECTED_BY = "dramatiq dead-letter set"
RESULTS_NAMESPACE = "dramatiq-results"
#: The Results middleware's keys in its default namespace: md5 hex of `dramatiq-results:<queue>:<actor>:<id>`
#: (the default) or that text itself (`use_namespace_prefix_keys`); each a list holding one result.
_RESULT_KEY = re.compile(rf"^(?:[0-9a-f]{{32}}|{RESULTS_NAMESPACE}:.+)$")
#: The Results middleware keeps an exception only for its result_ttl (10 minutes by default): a letter
#: older than that reads this even where store_results=True (the demo's did, saying to turn it on).
NO_EXCEPTION = (
    "dead-lettered by Dramatiq (its Redis broker keeps no exception; store_results=True keeps one "
    "for the Results middleware's result_ttl, 10 minutes by default)"
)
_MAX_TRACEBACK = 4000

#: KEYS: XQ, XQ.msgs, queue list, queue.msgs. ARGV: message id. 1 moved, 0 not dead any more, -2 no body,
#: -3 the queue key is not a list.
_REQUEUE = """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local body = redis.call('HGET', KEYS[2], ARGV[1])
if not body then return -2 end
local t = redis.call('TYPE', KEYS[3])['ok']
if t ~= 'none' and t ~= 'list' then return -3 end
redis.call('HSET', KEYS[4], ARGV[1], body)
redis.call('RPUSH', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
"""

#: KEYS: XQ, XQ.msgs. ARGV: message id.
_DELETE = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
"""


@dataclass(frozen=True, slots=True)
class DeadSet:
    """One queue's dead-letter set and the keys around it."""

    namespace: str
    queue: str

    @property
    def xq(self) -> str:
        return f"{self.namespace}:{self.queue}.XQ"

    @property
    def bodies(self) -> str:
        return f"{self.xq}.msgs"

    @property
    def origin(self) -> str:
        """The queue's list, the name mqtui shows for the queue (`dramatiq:default`)."""
        return f"{self.namespace}:{self.queue}"


def dead_set(name: str) -> DeadSet | None:
    """`dramatiq:default.XQ` -> its DeadSet; None for other names."""
    match = _XQ.match(name)
    return DeadSet(match["ns"], match["queue"]) if match else None


def interesting(name: str, kind: str) -> bool:
    """Keys the scanner keeps for Dramatiq: dead-letter sets, ack sets and the heartbeats."""
    if kind == "zset":
        return dead_set(name) is not None or name.endswith(f":{HEARTBEATS}")
    return kind == "set" and _ACKS.match(name) is not None


async def fold(client: Redis, snap: Snapshot, known: dict[str, str], taken_at: float) -> None:
    """Mark each Dramatiq queue of the snapshot as one, with in progress, delayed, dead and workers read in
    one pipeline; its `.DQ` list becomes part of it. Queues are found by their dead-letter sets, ack sets
    and lists `<ns>:<queue>` whose namespace has heartbeats (a queue that is empty and never failed has
    no key at all)."""
    from mqtui.brokers.redis.snapshot import ListQueue

    names = list(known)
    lists = [name for name, kind in known.items() if kind == "list"]
    namespaces = {n[: -len(HEARTBEATS) - 1] for n in names if n.endswith(f":{HEARTBEATS}")}
    queues: dict[str, DeadSet] = {}
    acks: dict[tuple[str, bool], list[str]] = {}
    for name, kind in known.items():  # only the scanner's sets and sorted sets are matched (few)
        found = dead_set(name) if kind == "zset" else None
        if found is not None:
            queues[found.origin] = found
            namespaces.add(found.namespace)
        match = _ACKS.match(name) if kind == "set" else None
        if match:
            queue = match["queue"].removesuffix(".DQ")
            origin = f"{match['ns']}:{queue}"
            acks.setdefault((origin, queue != match["queue"]), []).append(name)
            queues.setdefault(origin, DeadSet(match["ns"], queue))
            namespaces.add(match["ns"])
    for name in lists if namespaces else ():  # a queue's list or its delay list (an empty queue has no key)
        ns, sep, queue = name.removesuffix(".DQ").rpartition(":")
        if sep and ns in namespaces and _XQ.match(f"{ns}:{queue}.XQ"):
            queues.setdefault(f"{ns}:{queue}", DeadSet(ns, queue))
    if namespaces:
        _hide_results(snap)
    if not queues:
        return
    pipe = client.pipeline(transaction=False)
    ordered = sorted(queues.items())
    for origin, dead in ordered:
        pipe.llen(origin)
        pipe.llen(f"{origin}.DQ")
        pipe.zcard(dead.xq)
        for ack in acks.get((origin, False), []) + acks.get((origin, True), []):
            pipe.scard(ack)
    alive_since = taken_at * 1000 - HEARTBEAT_TIMEOUT_MS
    for ns in sorted(namespaces):
        pipe.zcount(f"{ns}:{HEARTBEATS}", alive_since, "+inf")
    answers = [0 if isinstance(a, Exception) else int(a or 0) for a in await pipe.execute(raise_on_error=False)]
    position = 0
    workers_at = len(answers) - len(namespaces)
    workers = dict(zip(sorted(namespaces), answers[workers_at:], strict=True))
    for origin, dead in ordered:
        depth, delayed, failed = answers[position : position + 3]
        running, held = len(acks.get((origin, False), [])), len(acks.get((origin, True), []))
        position += 3
        taken = sum(answers[position : position + running])
        delayed += sum(answers[position + running : position + running + held])
        position += running + held
        item = snap.lists.get(origin) or ListQueue(name=origin, depth=0)
        snap.lists[origin] = item
        item.convention = "dramatiq"
        item.depth = depth
        item.in_flight = taken
        item.is_dlq, item.origin, item.internal = False, None, False
        item.extra.update({"dramatiq_delayed": str(delayed), "dramatiq_dead": str(failed),
                           "dramatiq_heartbeats": str(workers.get(dead.namespace, 0))})  # fmt: skip
        delay_list = snap.lists.get(f"{origin}.DQ")
        if delay_list is not None:
            delay_list.internal = True
            delay_list.extra["delay_queue_of"] = origin
        if failed:
            snap.dramatiq_dead[dead.xq] = failed


async def describe(client: Redis, broker: str, name: str) -> Detail | None:
    """A Dramatiq queue's details, read as a poll reads it; None where nothing of Dramatiq's names it.
    Redis deletes a queue's list while it is empty, so without this `ls` showed `dramatiq:<queue>` and
    `describe` of that row said there was no such key."""
    from mqtui.brokers.redis.snapshot import Snapshot

    ns, sep, queue = name.rpartition(":")
    if not sep or not _XQ.match(f"{name}.XQ"):
        return None
    dead, beats = DeadSet(ns, queue), f"{ns}:{HEARTBEATS}"
    pipe = client.pipeline(transaction=False)
    pipe.type(name)
    pipe.exists(dead.xq)
    pipe.exists(beats)
    found = await pipe.execute()
    kinds = [text(found[0]), "zset" if found[1] else None, "zset" if found[2] else None]
    known = {key: kind for key, kind in zip((name, dead.xq, beats), kinds, strict=True) if kind}
    pattern = re.sub(r"([*?\[\]\\])", r"\\\1", f"{ns}:__acks__.") + f"*.{queue}*"
    async for key in client.scan_iter(match=pattern, count=1000, _type="set"):
        if _ACKS.match(text(key)):
            known[text(key)] = "set"
    snap = Snapshot()
    await fold(client, snap, known, time.time())
    row = snap.lists.get(name)
    if row is None or row.convention != "dramatiq":
        return None
    extra = row.extra
    summary = (("framework", "dramatiq"), ("waiting", str(row.depth)), ("in progress", str(row.in_flight)),
               ("delayed", extra["dramatiq_delayed"]), ("dead", extra["dramatiq_dead"]),
               ("heartbeats", extra["dramatiq_heartbeats"]), ("dead letters", dead.xq))  # fmt: skip
    return Detail(broker, name, tuple((safe_line(k), safe_line(v)) for k, v in summary))


def _hide_results(snap: Snapshot) -> None:
    """Where Dramatiq runs, its Results middleware leaves one short-lived list per message (the demo's
    receipts alone made hundreds of 32-hex-digit rows in `ls`): they are no queue anybody consumes, so
    they are internal (shown with --all), like a BullMQ queue's own keys."""
    for item in snap.lists.values():
        if _RESULT_KEY.match(item.name) and not item.is_dlq:
            item.internal = True
            item.extra["dramatiq_results"] = "true"


def _time(milliseconds: Any) -> datetime | None:
    if isinstance(milliseconds, int | float) and not isinstance(milliseconds, bool) and milliseconds > 0:
        return datetime.fromtimestamp(milliseconds / 1000, tz=UTC)
    return None


def _last_line(traceback: str | None) -> str | None:
    lines = [line.strip() for line in (traceback or "").strip().splitlines() if line.strip()]
    return lines[-1][:500] if lines else None


def _decoded(body: bytes | None) -> dict[str, Any]:
    try:
        decoded = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        decoded = None
    return decoded if isinstance(decoded, dict) else {}


def result_keys(fields: dict[str, Any]) -> tuple[str, str]:
    """Where the Results middleware keeps a message's outcome: hashed (its default) and readable keys."""
    queue = str(fields.get("queue_name") or "").removesuffix(".DQ").removesuffix(".XQ")
    readable = f"{RESULTS_NAMESPACE}:{queue}:{fields.get('actor_name')}:{fields.get('message_id')}"
    return hashlib.md5(readable.encode()).hexdigest(), readable


def stored_exception(raw: bytes | None) -> str | None:
    """`Type: message` from a stored outcome that is an exception, else None."""
    found = _decoded(raw).get("exn")
    if isinstance(found, dict) and found.get("type"):
        return f"{found['type']}: {found.get('msg', '')}"[:500]
    return None


def letter(
    broker: str, dead: DeadSet, message_id: str, died_ms: float, body: bytes | None, error: str | None = None
) -> DeadLetter:
    """One dead message as mqtui shows it: the actor, its arguments, the exception (`error`, stored by the
    Results middleware) or the traceback of an earlier attempt, the attempts made (its runs: the retries
    the body counts, plus the last) and when it died; the body is the message's value (what a replay moves)."""
    fields = _decoded(body)
    options = fields.get("options") if isinstance(fields.get("options"), dict) else {}
    assert isinstance(options, dict)
    traceback = options.get("traceback") if isinstance(options.get("traceback"), str) else None
    actor = str(fields.get("actor_name") or "")
    arguments = orjson.dumps(fields.get("args", [])).decode() if "args" in fields else ""
    keywords = orjson.dumps(fields.get("kwargs", {})).decode() if fields.get("kwargs") else ""
    retries = options.get("retries")
    headers = tuple((k, v.encode()) for k, v in (("actor", actor), ("queue", str(fields.get("queue_name") or ""))) if v)
    message = Message(broker, dead.xq, None, message_id, _time(fields.get("message_timestamp")),
                      message_id.encode(), body or b"", headers=headers)  # fmt: skip
    extra = {"framework": "dramatiq", "actor": actor, "args": arguments, "kwargs": keywords,
             "traceback": (traceback or "")[-_MAX_TRACEBACK:]}  # fmt: skip
    return DeadLetter(
        id=message_id,
        message=message,
        origin=dead.origin,
        reason=error
        or _last_line(traceback)
        or (NO_EXCEPTION if body else "its body is gone from the dead-letter hash"),
        attempts=(retries + 1 if isinstance(retries, int) and not isinstance(retries, bool) else 1) if body else None,
        last_failure=_time(died_ms),
        extra={k: v for k, v in extra.items() if v},
        gone=body is None,
    )


class DeadMessages:
    """Reading, requeueing and deleting the dead messages of Dramatiq queues on one client."""

    def __init__(self, client: Redis, broker: str) -> None:
        self.client = client
        self.broker = broker
        self._requeue = client.register_script(_REQUEUE)
        self._delete = client.register_script(_DELETE)

    async def ids(self, dead: DeadSet, limit: int | None) -> list[tuple[str, float]]:
        """Dead message ids, oldest death first, with when they died (ms)."""
        stop = -1 if limit is None else limit - 1
        found = cast("list[tuple[bytes, float]]", await self.client.zrange(dead.xq, 0, stop, withscores=True))
        return [(text(member), float(score)) for member, score in found]

    async def read(self, dead: DeadSet, limit: int) -> list[DeadLetter]:
        found = await self.ids(dead, limit)
        bodies = cast(
            "list[bytes | None]", await self.client.hmget(dead.bodies, [i for i, _ in found]) if found else []
        )
        errors = await self._errors(bodies)
        return [
            letter(self.broker, dead, i, died, body, error)
            for (i, died), body, error in zip(found, bodies, errors, strict=True)
        ]

    async def _errors(self, bodies: list[bytes | None]) -> list[str | None]:
        """The exception the Results middleware stored for each message, if any (one pipeline)."""
        pipe = self.client.pipeline(transaction=False)
        for body in bodies:
            for key in result_keys(_decoded(body)):
                pipe.lindex(key, 0)
        answers = await pipe.execute(raise_on_error=False) if bodies else []
        errors = []
        for hashed, readable in zip(answers[::2], answers[1::2], strict=True):
            found = [stored_exception(a) for a in (hashed, readable) if isinstance(a, bytes)]
            errors.append(next((e for e in found if e), None))
        return errors

    async def oldest(self, names: list[str]) -> list[datetime | None]:
        """When the oldest dead message of each set died, in one pipeline."""
        if not names:
            return []
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            pipe.zrange(name, 0, 0, withscores=True)
        answers = await pipe.execute(raise_on_error=False)
        return [_time(a[0][1]) if a and not isinstance(a, Exception) else None for a in answers]

    async def queue_requeue(self, pipe: Any, dead: DeadSet, message_id: str, target: str) -> None:
        """Queue the one-step requeue of a dead message into `target` (a Dramatiq queue list) on `pipe`."""
        keys = [dead.xq, dead.bodies, target, f"{target}.msgs"]
        await self._requeue(keys=keys, args=[message_id], client=pipe)

    async def delete(self, dead: DeadSet, ids: Iterable[str]) -> int:
        wanted = sorted(set(ids))
        if not wanted:
            return 0
        pipe = self.client.pipeline(transaction=False)
        for message_id in wanted:
            await self._delete(keys=[dead.xq, dead.bodies], args=[message_id], client=pipe)
        return sum(1 for outcome in await pipe.execute(raise_on_error=False) if outcome == 1)
