"""Redis as a message broker: lists (LPUSH/BRPOP queues), streams with consumer groups, pub/sub channels,
and the RQ and Celery job-queue conventions, through redis.asyncio (every call is a task on the loop).

What each kind of destination shows:
- a list: depth; its reliable-queue processing lists (`<queue>:processing` and similar) as in-flight; a
  backlog row with the group `(list)` (`(rq)`, `(celery)` for those conventions) whose lag is the depth;
- a stream: length, and per consumer group lag, entries-read, pending and last-delivered id;
- a channel: its subscribers (PUBSUB NUMSUB) as consumers.

The adapter delegates to `keyspace` (the keys found by `scan`, read by `discovery`, as destinations and
backlog rows), `describe`, `tail`, `publish`, `dlq` (dead letters of lists, streams, consumer groups
and RQ) and `retries` (sorted-set retry schedules: RQ's scheduled registry, Sidekiq, named ones).

`purge` empties a list (DEL) or a stream. A stream is trimmed with XTRIM MAXLEN 0 instead of deleted, so
its consumer groups and their positions survive the purge, as a RabbitMQ queue's bindings do.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Collection, Sequence
from typing import TYPE_CHECKING

from mqtui.brokers.base import BrokerAdapter, PublishOptions
from mqtui.brokers.redis import bullmq, dramatiq, jobs, retries, sidekiq
from mqtui.brokers.redis import publish as publishing
from mqtui.brokers.redis import ranges as range_reads
from mqtui.brokers.redis.client import build_client, text, translated
from mqtui.brokers.redis.describe import describe_group, describe_list, describe_stream
from mqtui.brokers.redis.discovery import PROCESSING_SUFFIXES
from mqtui.brokers.redis.dlq import DeadLetters
from mqtui.brokers.redis.keyspace import Keyspace
from mqtui.brokers.redis.streams import use_raw_entries
from mqtui.brokers.redis.tail import is_pattern, peek_list, peek_stream, tail_channel, tail_list, tail_stream
from mqtui.config import RedisConfig
from mqtui.dlqnames import dlq_names_for
from mqtui.errors import BrokerUnavailable, NotFound, NotPossible
from mqtui.model import (
    BacklogRow,
    Capability,
    DeadLetter,
    DeadLetterQueue,
    Destination,
    Detail,
    Message,
    OutgoingMessage,
    ProgressCallback,
    PublishResult,
    RangePlan,
    ReplayItem,
    ReplayResult,
    RetrySchedule,
    StartPosition,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis


class RedisAdapter(BrokerAdapter[RedisConfig]):
    kind = "redis"
    capabilities = (
        Capability.TAIL
        | Capability.PEEK
        | Capability.PEEK_ONLY_READS
        | Capability.PUBLISH
        | Capability.REPLAY
        | Capability.DELETE_DEAD_LETTER
        | Capability.PURGE
        | Capability.GROUPS
    )
    replay_verb = "requeue"

    def __init__(self, config: RedisConfig) -> None:
        super().__init__(config)
        self._client: Redis | None = None
        self.keys = Keyspace(config)
        self._dead: DeadLetters | None = None

    # -- lifecycle ---------------------------------------------------------------------------------
    async def connect(self) -> None:
        if self._client is not None:
            return
        client = build_client(self.config)
        use_raw_entries(client)
        try:
            with translated(self.config):
                await asyncio.wait_for(client.ping(), timeout=self.config.timeout)
        except BaseException:
            with contextlib.suppress(Exception):
                await client.aclose()
            raise
        self._client = client
        self._dead = DeadLetters(client, self.config, self.keys.collector, self.keys.raw)

    async def close(self) -> None:
        client, self._client, self._dead = self._client, None, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()

    @property
    def client(self) -> Redis:
        if self._client is None:
            raise BrokerUnavailable(f"{self.name}: not connected")
        return self._client

    @property
    def dead(self) -> DeadLetters:
        if self._dead is None:
            raise BrokerUnavailable(f"{self.name}: not connected")
        return self._dead

    @property
    def notices(self) -> list[str]:
        """What the last answers left out, one line each: keys a bounded scan has not reached or kept,
        dead letters past the pending entries examined (see `BrokerAdapter.notices`)."""
        return self.keys.notices + (self._dead.notices if self._dead is not None else [])

    async def _type(self, name: str) -> str:
        return text(await self.client.type(self.keys.raw(name)))

    async def _type_or_channel(self, name: str) -> str:
        """The key's type, or "channel" for a name with no key that is a glob pattern or has subscribers:
        a channel keeps nothing, so it is no key, yet tails follow it and searches must say why they cannot."""
        kind = await self._type(name)
        if kind == "none":
            counts = dict(await self.client.pubsub_numsub(name))
            if is_pattern(name) or any(int(n) for n in counts.values()):
                return "channel"
        return kind

    # -- reading -----------------------------------------------------------------------------------
    async def destinations(self, *, include_internal: bool = False) -> list[Destination]:
        with translated(self.config):
            snap = await self.keys.snapshot(self.client, channels=True, internal=include_internal)
        return self.keys.destinations(snap, include_internal=include_internal)

    async def backlog(self, *, group: str | None = None) -> list[BacklogRow]:
        with translated(self.config):
            snap = await self.keys.snapshot(self.client, consumers=True)
        return [row for row in self.keys.backlog(snap) if group is None or row.group == group]

    async def describe(self, destination: str) -> Detail:
        with translated(self.config):
            key, kind = self.keys.raw(destination), await self._type(destination)
            if kind in ("list", "none") and (queue := await dramatiq.describe(self.client, self.name, destination)):
                return queue
            if kind == "list":
                helpers = [f"{destination}{suffix}" for suffix in PROCESSING_SUFFIXES]
                helpers += dlq_names_for(destination, self.keys.collector.rules)
                newest_at_right = destination.startswith(jobs.RQ_QUEUE_PREFIX)
                return await describe_list(self.client, self.name, destination, key, helpers=helpers,
                                           newest_at_right=newest_at_right)  # fmt: skip
            if kind == "stream":
                return await describe_stream(self.client, self.name, destination, key)
            if kind == "none":
                framework = await bullmq.describe(self.client, self.name, destination) or await sidekiq.describe(
                    self.client, self.name, destination
                )
                if framework is not None:
                    return framework
                counts = dict(await self.client.pubsub_numsub(destination))
                subscribers = int(next(iter(counts.values()), 0))
                if subscribers or is_pattern(destination):
                    return Detail(self.name, destination, (("type", "channel"), ("subscribers", str(subscribers))))
                raise NotFound(f"{self.name}: no key or channel with subscribers named {destination!r}")
            return Detail(self.name, destination, (("type", kind),))

    async def describe_group(self, group: str) -> Detail:
        """A consumer group on every stream that has one by this name (or `STREAM@GROUP` for one)."""
        with translated(self.config):
            stream, sep, name = group.rpartition("@")
            if sep and await self._type(stream) == "stream":
                streams = [stream]
            else:
                name = group
                snap = await self.keys.snapshot(self.client)
                streams = [s.name for s in snap.streams.values() if any(g.name == group for g in s.groups)]
            keys = {stream: self.keys.raw(stream) for stream in streams}
            detail = await describe_group(self.client, self.name, group, name, keys, self.config.max_deliveries)
        if detail is None:
            raise NotFound(f"{self.name}: no stream has a consumer group named {group!r}")
        return detail

    async def tail(
        self,
        destination: str,
        *,
        start: StartPosition,
        stop_at_end: bool = False,
    ) -> AsyncIterator[Sequence[Message]]:
        """Streams, lists and channels; see mqtui.brokers.redis.tail for what each can and cannot show.

        A name that does not exist is tailed as a list (Redis deletes a list when it empties, so an idle
        queue has no key), unless it is a glob pattern or a channel with subscribers.
        """
        with translated(self.config):
            destination = await self._job_queue_list(destination)
            key = self.keys.raw(destination)
            kind = await self._type_or_channel(destination)
            if kind == "stream":
                block_ms = int(max(100, min(1000, self.config.timeout * 500)))
                source = tail_stream(self.client, self.name, destination, key, start, stop_at_end=stop_at_end,
                                     block_ms=block_ms)  # fmt: skip
            elif kind in ("list", "none"):
                source = tail_list(self.client, self.name, destination, key, start, stop_at_end=stop_at_end,
                                   newest_at_right=destination.startswith(jobs.RQ_QUEUE_PREFIX))  # fmt: skip
            elif kind == "channel":
                source = tail_channel(self.client, self.name, destination, stop_at_end=stop_at_end)
            else:
                raise NotPossible(f"{self.name}: {destination} is a {kind}; only lists, streams and channels tail")
            try:
                async for batch in source:
                    yield batch
            finally:
                await source.aclose()

    async def plan_range(self, destination: str, *, start: StartPosition, end: StartPosition | None) -> RangePlan:
        with translated(self.config):
            key, kind = self.keys.raw(destination), await self._type_or_channel(destination)
            return await range_reads.plan_range(self.client, self.name, destination, key, kind, start, end)

    async def read_range(self, plan: RangePlan) -> AsyncIterator[Sequence[Message]]:
        with translated(self.config):
            newest_at_right = plan.destination.startswith(jobs.RQ_QUEUE_PREFIX)
            source = range_reads.read_range(self.client, self.name, self.keys.raw(plan.destination), plan,
                                            newest_at_right=newest_at_right)  # fmt: skip
            try:
                async for batch in source:
                    yield batch
            finally:
                await source.aclose()

    async def peek(self, destination: str, *, limit: int = 10) -> list[Message]:
        """The oldest `limit` messages of a list (LRANGE) or stream (XRANGE); nothing changes, so this needs
        no confirmation and runs in a readonly profile (Capability.PEEK_ONLY_READS)."""
        with translated(self.config):
            destination = await self._job_queue_list(destination)
            key, kind = self.keys.raw(destination), await self._type(destination)
            if kind in ("list", "none"):  # an emptied list has no key
                newest_at_right = destination.startswith(jobs.RQ_QUEUE_PREFIX)
                return await peek_list(self.client, self.name, destination, key, limit, newest_at_right=newest_at_right)
            if kind == "stream":
                return await peek_stream(self.client, self.name, destination, key, limit)
            raise NotPossible(
                f"{self.name}: {destination} is a {kind}; only lists and streams hold messages to peek at"
            )

    async def _job_queue_list(self, destination: str) -> str:
        """The list a job framework's row reads from: a Sidekiq row's `queue:<name>` (JSON jobs); a BullMQ
        row's jobs are hashes (its lists hold only ids), so it is refused with where to look instead.
        A name that is a key of its own stays itself."""
        sidekiq_list = sidekiq.queue_list(destination)
        bull = bullmq.row_queue(destination)
        if (sidekiq_list is None and bull is None) or await self._type(destination) != "none":
            return destination
        if sidekiq_list is not None and await self.client.sismember(sidekiq.QUEUES, destination[len("sidekiq:") :]):
            return sidekiq_list
        if bull is not None and await self.client.exists(bull.part("meta"), bull.part("id")):
            raise NotPossible(f"{self.name}: {destination} is a BullMQ queue; its lists hold job ids only "
                              f"(`describe` counts its jobs, `dlq show {destination}:failed` reads failed ones)")  # fmt: skip
        return destination

    # -- writing -----------------------------------------------------------------------------------
    async def publish(
        self,
        destination: str,
        messages: Sequence[OutgoingMessage],
        *,
        options: PublishOptions | None = None,
    ) -> PublishResult:
        return await publishing.publish(
            self.client, self.config, self.keys.scanner, destination, self.keys.raw(destination), messages, options
        )

    async def purge(self, destination: str) -> int:
        with translated(self.config):
            key = self.keys.raw(destination)
            kind = await self._type(destination)
            if kind == "list":
                pipe = self.client.pipeline(transaction=True)
                pipe.llen(key)
                pipe.delete(key)
                removed, _ = await pipe.execute()
                return int(removed)
            if kind == "stream":
                return int(await self.client.xtrim(key, maxlen=0, approximate=False))
            if kind == "none":
                raise NotFound(f"{self.name}: no list or stream named {destination!r}")
            raise NotPossible(f"{self.name}: {destination} is a {kind}; only lists and streams can be purged")

    # -- dead letters ------------------------------------------------------------------------------
    async def dead_letter_queues(self) -> list[DeadLetterQueue]:
        with translated(self.config):
            snap = await self.keys.snapshot(self.client)
            keys = {name: self.keys.raw(name) for name in snap.streams}
            return await self.dead.queues(snap, keys)

    async def retry_schedules(self) -> list[RetrySchedule]:
        with translated(self.config):
            known = await self.keys.scanner.step(self.client)
            zsets = {text(key): key for key, kind in known.items() if kind == "zset"}
            return await retries.schedules(self.client, self.name, zsets)

    async def dead_letters(self, dlq: str, *, limit: int = 100) -> list[DeadLetter]:
        with translated(self.config):
            return await self.dead.read(await self.dead.resolve(dlq), limit)

    async def plan_replay(
        self,
        dlq: str,
        *,
        to: str | None = None,
        ids: Collection[str] | None = None,
        limit: int | None = None,
    ) -> list[ReplayItem]:
        with translated(self.config):
            ref = await self.dead.resolve(dlq)
            return [planned.item for planned in await self.dead.plan(ref, to=to, ids=ids, limit=limit)]

    async def replay(
        self,
        dlq: str,
        *,
        to: str | None = None,
        ids: Collection[str] | None = None,
        limit: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> ReplayResult:
        """Requeue atomically, one dead letter per server-side step (see mqtui.brokers.redis.dlq).

        `duplicates` counts stream entries requeued into their own stream that another consumer group
        had already read: that group will see the copy too.
        """
        with translated(self.config):
            ref = await self.dead.resolve(dlq)
            return await self.dead.replay(ref, to=to, ids=ids, limit=limit, progress=progress)

    async def delete_dead_letters(self, dlq: str, ids: Collection[str]) -> int:
        """Lists: remove the elements; streams: XDEL; `STREAM@GROUP`: XACK; RQ: the job and its keys."""
        with translated(self.config):
            return await self.dead.delete(await self.dead.resolve(dlq), ids)
