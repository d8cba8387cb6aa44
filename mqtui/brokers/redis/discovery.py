"""Reading the numbers of every list, stream and job-queue key found, in a few round trips per poll.

`Collector.snapshot` turns the keys `scan.KeyScanner` found into a `snapshot.Snapshot`: one pipeline
reads every key's numbers (plus one for stream consumers and one for pub/sub), never one round trip per
key. Processing lists are folded into their queue, RQ and Celery keys into theirs, and a stream group's
lag that Redis cannot say is counted (`lag`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mqtui.brokers.redis import bullmq, dramatiq, jobs, sidekiq
from mqtui.brokers.redis.client import as_bytes, text
from mqtui.brokers.redis.lag import LagCounter
from mqtui.brokers.redis.scan import glob_match
from mqtui.brokers.redis.snapshot import ListQueue, Snapshot, StreamInfo
from mqtui.brokers.redis.stream_groups import group_info, read_consumers
from mqtui.brokers.redis.streams import id_time
from mqtui.config import RedisConfig
from mqtui.dlqnames import dlq_origin, rules_for

if TYPE_CHECKING:
    from redis.asyncio import Redis

#: Suffixes of reliable-queue "processing" lists (BLMOVE/RPOPLPUSH pattern): `<queue><suffix>`.
PROCESSING_SUFFIXES = (
    ":processing",
    ":inprogress",
    ":in-progress",
    ":in_progress",
    ":inflight",
    ":in-flight",
    ":working",
    jobs.RQ_INTERMEDIATE_SUFFIX,
)
#: BullMQ-style pairs: `<prefix>:active` holds what was taken from `<prefix>:wait`.
PROCESSING_PAIRS = ((":active", ":wait"),)
#: Streams that belong to a library's internals (RQ keeps one result stream per job).
INTERNAL_STREAM_PREFIXES = ("rq:results:",)
#: MEMORY USAGE (default sampling, O(samples)) is asked for this many keys per snapshot, round-robin.
MEMORY_KEYS_PER_SNAPSHOT = 64
#: PUBSUB CHANNELS can name every per-user channel of a big deployment; show this many.
CHANNEL_LIMIT = 1000


class IdleTracker:
    """Last activity of keys from OBJECT IDLETIME, corrected for our own reads.

    Redis before 7.2 counts every read as an access (mqtui turns CLIENT NO-TOUCH on where the server
    has it), so after our first poll the idle time would only measure the time since our previous poll.
    When the idle time says the key was last touched at about our own previous read, nobody else touched
    it and the last activity we knew still holds. The LRU clock ticks in seconds: activity within ~1.5 s
    after our read is missed. Reads by other clients (another mqtui, other monitoring) count as activity.
    """

    TOLERANCE = 1.5

    def __init__(self) -> None:
        self._seen: dict[bytes, tuple[float, float]] = {}

    def update(self, key: bytes, idle_seconds: int | None, read_at: float) -> datetime | None:
        if idle_seconds is None:
            self._seen.pop(key, None)
            return None
        candidate = read_at - idle_seconds
        previous = self._seen.get(key)
        activity = candidate
        if previous is not None:
            our_read, known_activity = previous
            if candidate <= our_read + self.TOLERANCE:
                activity = known_activity
        self._seen[key] = (read_at, activity)
        return datetime.fromtimestamp(activity, tz=UTC)


def processing_base(name: str, existing: set[str]) -> str | None:
    """The queue a processing list belongs to (`jobs:processing` -> `jobs`), else None."""
    for suffix in PROCESSING_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    for suffix, queue_suffix in PROCESSING_PAIRS:
        if name.endswith(suffix):
            base = name[: -len(suffix)] + queue_suffix
            if base in existing:
                return base
    return None


class Collector:
    """Turns the scanner's keys into a Snapshot; keeps the idle-time and memory state between polls."""

    def __init__(self, config: RedisConfig) -> None:
        self.config = config
        self.rules = rules_for("redis", config.dlq_patterns)
        self.idle = IdleTracker()
        self.lags = LagCounter()
        self._memory: dict[str, tuple[int, float]] = {}
        self._next: dict[tuple[str, str], tuple[tuple[str, int, int | None], str]] = {}

    def dlq_origin(self, name: str) -> str | None:
        return dlq_origin(name, self.rules)

    async def snapshot(
        self,
        client: Redis,
        known: dict[bytes, str],
        *,
        consumers: bool = False,
        channels: bool = False,
        internal: bool = False,
    ) -> Snapshot:
        patterns = self.config.key_patterns or ["*"]
        list_keys = {text(k): k for k, t in known.items() if t == "list"}
        stream_keys = {
            text(k): k
            for k, t in known.items()
            if t == "stream" and (internal or not text(k).startswith(INTERNAL_STREAM_PREFIXES))
        }
        set_keys = [k for k, t in known.items() if t == "set"]
        failed_zsets = [text(k) for k, t in known.items() if t == "zset"]

        members = await _smembers(client, set_keys)
        rq_names = {n for n in (jobs.rq_queue_name(name) for name in list_keys) if n}
        rq_names |= {n for n in (jobs.rq_failed_queue(z) for z in failed_zsets) if n}
        for key, values in members.items():
            if key == jobs.RQ_QUEUES_SET:
                rq_names |= {n for n in (jobs.rq_queue_name(text(v)) for v in values) if n}
        rq_names = {n for n in rq_names if glob_match(jobs.rq_keys(n)["queue"], patterns)}
        celery_queues = sorted(
            {
                queue
                for key, values in members.items()
                if key.startswith(jobs.KOMBU_BINDING_PREFIX)
                for queue in jobs.celery_binding_queues(values)
                if glob_match(queue, patterns)
            }
        )

        extra_lists = {jobs.rq_keys(n)[part] for n in rq_names for part in ("queue", "intermediate")}
        extra_lists |= set(celery_queues) | {p for q in celery_queues for p in jobs.celery_priority_keys(q)}
        all_lists = sorted(set(list_keys) | extra_lists)

        read_at = time.time()
        pipe = client.pipeline(transaction=False)
        reads: list[tuple[str, str]] = []

        def queue(kind: str, name: str, call: Any) -> None:
            call(pipe)
            reads.append((kind, name))

        for name in all_lists:
            raw = list_keys.get(name, name)
            if name in list_keys:
                queue("idle", name, lambda p, r=raw: p.object("idletime", r))
            queue("llen", name, lambda p, r=raw: p.llen(r))
        for name in sorted(rq_names):
            keys = jobs.rq_keys(name)
            queue("wip", name, lambda p, k=keys["wip"]: p.zcard(k))
            queue("failed", keys["failed"], lambda p, k=keys["failed"]: p.zcard(k))
            queue("failed", keys["legacy_failed"], lambda p, k=keys["legacy_failed"]: p.zcard(k))
        if celery_queues:
            queue("unacked", jobs.CELERY_UNACKED, lambda p: p.hlen(jobs.CELERY_UNACKED))
        for name, raw in sorted(stream_keys.items()):
            queue("idle", name, lambda p, r=raw: p.object("idletime", r))
            queue("xinfo", name, lambda p, r=raw: p.xinfo_stream(r))
            queue("groups", name, lambda p, r=raw: p.xinfo_groups(r))
        for name in self._memory_round(list(list_keys) + list(stream_keys)):
            raw = list_keys.get(name) or stream_keys[name]
            queue("memory", name, lambda p, r=raw: p.memory_usage(r))
        answers = await pipe.execute(raise_on_error=False) if reads else []

        lengths: dict[str, int] = {}
        idle: dict[str, int | None] = {}
        wip: dict[str, int] = {}
        failed: dict[str, int] = {}
        unacked = 0
        xinfo: dict[str, dict[str, Any]] = {}
        groups: dict[str, list[dict[str, Any]]] = {}
        for (kind, name), answer in zip(reads, answers, strict=True):
            if isinstance(answer, Exception):
                if kind in ("xinfo", "groups"):
                    xinfo.pop(name, None)
                    groups[name] = []
                continue
            if kind == "llen":
                lengths[name] = int(answer)
            elif kind == "idle":
                idle[name] = None if answer is None else int(answer)
            elif kind == "wip":
                wip[name] = int(answer)
            elif kind == "failed":
                failed[name] = int(answer)
            elif kind == "unacked":
                unacked = int(answer)
            elif kind == "xinfo":
                xinfo[name] = answer
            elif kind == "groups":
                groups[name] = list(answer)
            elif kind == "memory" and answer is not None:
                self._memory[name] = (int(answer), read_at)

        snap = Snapshot(taken_at=read_at, rq_failed={k: v for k, v in failed.items() if v})
        for name, raw in list_keys.items():
            if lengths.get(name, 0) == 0:
                self.idle.update(raw, None, read_at)
                snap.gone.append(raw)
        self._assemble_lists(snap, list_keys, lengths, idle, read_at)
        self._fold_rq(snap, rq_names, lengths, wip, failed)
        await jobs.fold_rq_workers(client, snap, rq_names)
        await self._fold_celery(client, snap, celery_queues, lengths, unacked)
        await dramatiq.fold(client, snap, {text(k): t for k, t in known.items()}, read_at)
        self._assemble_streams(snap, stream_keys, xinfo, groups, idle, read_at)
        await bullmq.fold(client, snap, {text(k): t for k, t in known.items()})
        await sidekiq.fold(client, snap, members)
        if consumers:
            await self.lags.fill(client, snap, stream_keys)
            self._next = await read_consumers(client, snap, stream_keys, self._next)
        if channels:
            snap.channels = await _channels(client, patterns)
        return snap

    def _memory_round(self, names: list[str]) -> list[str]:
        present = set(names)
        self._memory = {k: v for k, v in self._memory.items() if k in present}
        return sorted(names, key=lambda n: self._memory.get(n, (0, 0.0))[1])[:MEMORY_KEYS_PER_SNAPSHOT]

    def memory_of(self, name: str) -> int | None:
        found = self._memory.get(name)
        return found[0] if found else None

    def _assemble_lists(
        self,
        snap: Snapshot,
        list_keys: dict[str, bytes],
        lengths: dict[str, int],
        idle: dict[str, int | None],
        read_at: float,
    ) -> None:
        existing = {name for name in list_keys if lengths.get(name, 0) > 0}
        processing: dict[str, list[str]] = {}
        for name in sorted(existing):
            if jobs.celery_priority_base(name) is not None:
                continue
            activity = self.idle.update(list_keys[name], idle.get(name), read_at)
            item = ListQueue(
                name=name,
                depth=lengths[name],
                last_activity=activity,
                memory=self.memory_of(name),
            )
            base = processing_base(name, existing)
            origin = self.dlq_origin(name)
            if base is not None:
                item.internal = True
                item.extra["processing_of"] = base
                processing.setdefault(base, []).append(name)
            elif origin is not None:
                item.is_dlq = True
                item.origin = origin
            snap.lists[name] = item
        for base, names in processing.items():
            queue = snap.lists.get(base)
            if queue is None:
                queue = snap.lists[base] = ListQueue(name=base, depth=0)
            queue.processing = tuple(sorted(names))
            queue.in_flight = sum(snap.lists[n].depth for n in names)
            queue.extra["processing"] = ", ".join(queue.processing)

    def _fold_rq(
        self,
        snap: Snapshot,
        rq_names: set[str],
        lengths: dict[str, int],
        wip: dict[str, int],
        failed: dict[str, int],
    ) -> None:
        for name in sorted(rq_names):
            keys = jobs.rq_keys(name)
            queue = snap.lists.get(keys["queue"]) or ListQueue(name=keys["queue"], depth=0)
            snap.lists[keys["queue"]] = queue
            queue.convention = "rq"
            queue.depth = lengths.get(keys["queue"], 0)
            queue.in_flight = wip.get(name, 0) + lengths.get(keys["intermediate"], 0)
            queue.extra["rq_failed"] = str(failed.get(keys["failed"], 0) + failed.get(keys["legacy_failed"], 0))

    async def _fold_celery(
        self, client: Redis, snap: Snapshot, queues: list[str], lengths: dict[str, int], unacked: int
    ) -> None:
        if not queues:
            return
        split: dict[str, int] | None = None
        if len(queues) == 1:
            split = {queues[0]: unacked}
        elif unacked <= jobs.CELERY_UNACKED_SPLIT_LIMIT:
            values = as_bytes(await client.hvals(jobs.CELERY_UNACKED)) if unacked else []
            split = jobs.celery_unacked_by_queue(values, queues)
        for name in queues:
            queue = snap.lists.get(name) or ListQueue(name=name, depth=0)
            snap.lists[name] = queue
            queue.convention = "celery"
            queue.depth = lengths.get(name, 0) + sum(lengths.get(p, 0) for p in jobs.celery_priority_keys(name))
            queue.in_flight = split.get(name) if split is not None else None
            queue.extra["celery_unacked_total"] = str(unacked)

    def _assemble_streams(
        self,
        snap: Snapshot,
        stream_keys: dict[str, bytes],
        xinfo: dict[str, dict[str, Any]],
        groups: dict[str, list[dict[str, Any]]],
        idle: dict[str, int | None],
        read_at: float,
    ) -> None:
        for name, raw in stream_keys.items():
            info = xinfo.get(name)
            if info is None:
                self.idle.update(raw, None, read_at)
                snap.gone.append(raw)
                continue
            last_id = text(info.get("last-generated-id")) or "0-0"
            first = info.get("first-entry")
            activity = self.idle.update(raw, idle.get(name), read_at)
            written = id_time(last_id)
            if written is not None and (activity is None or written > activity):
                activity = written
            origin = self.dlq_origin(name)
            snap.streams[name] = StreamInfo(
                name=name,
                length=int(info.get("length") or 0),
                first_id=text(first[0]) if first else None,
                last_id=last_id,
                groups=[group_info(g) for g in groups.get(name, [])],
                entries_added=None if info.get("entries-added") is None else int(info["entries-added"]),
                last_activity=activity,
                memory=self.memory_of(name),
                is_dlq=origin is not None,
                origin=origin,
                internal=name.startswith(INTERNAL_STREAM_PREFIXES),
            )


async def _smembers(client: Redis, keys: list[bytes]) -> dict[str, list[bytes]]:
    if not keys:
        return {}
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.smembers(key)
    answers = await pipe.execute(raise_on_error=False)
    return {
        text(key): sorted(answer)
        for key, answer in zip(keys, answers, strict=True)
        if not isinstance(answer, Exception)
    }


async def _channels(client: Redis, patterns: list[str]) -> list[tuple[str, int]]:
    """Channels with at least one subscriber (that is all PUBSUB CHANNELS can see) and their counts."""
    found: set[bytes] = set()
    for pattern in patterns:
        found.update(as_bytes(await client.pubsub_channels(pattern)))
    names = sorted(found)[:CHANNEL_LIMIT]
    if not names:
        return []
    counts = await client.pubsub_numsub(*names)
    return [(text(name), int(count)) for name, count in counts]
