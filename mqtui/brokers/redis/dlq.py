"""Dead letters in Redis: DLQ lists and streams, over-delivered stream entries, RQ failed jobs.

Four kinds of dead-letter queue, named the way `dlq show` takes them:
- a list or stream matching a naming rule (`jobs:dlq` holds the dead letters of `jobs`);
- `STREAM@GROUP`: entries of a consumer group's pending list delivered `max_deliveries` times or more;
- `rq:failed:<queue>`: RQ's failed-job registry (job ids; the job hash says why and where from);
- `<ns>:<queue>.XQ`: Dramatiq's dead-letter set (ids; bodies in a hash beside it, see `dramatiq`);
- `bull:<queue>:failed`: BullMQ's failed set (`bullmq`, `bullmq_failed`);
- `sidekiq:retry`, `sidekiq:dead`: Sidekiq's retry and dead sets, keys `retry` and `dead` (`sidekiq`).

`DeadLetters` resolves a name to its kind, lists the DLQs of a poll's snapshot and plans a replay;
reading is in `letters`, moving in `requeue`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mqtui.brokers.redis import bullmq, dramatiq, jobs, sidekiq
from mqtui.brokers.redis.bullmq_failed import BullFailed
from mqtui.brokers.redis.client import text
from mqtui.brokers.redis.discovery import Collector
from mqtui.brokers.redis.letters import READ_CHUNK, DlqRef, Letters, element_id, json_hints
from mqtui.brokers.redis.requeue import Planned, Requeuer
from mqtui.brokers.redis.sidekiq import SidekiqSets
from mqtui.brokers.redis.snapshot import Snapshot
from mqtui.brokers.redis.streams import (
    PENDING_PAGE,
    PENDING_SCAN_LIMIT,
    compare_ids,
    dead_pending,
    id_time,
    next_after,
    xrange,
)
from mqtui.config import RedisConfig
from mqtui.errors import NotFound
from mqtui.model import (
    DeadLetter,
    DeadLetterQueue,
    DestinationKind,
    ProgressCallback,
    ReplayItem,
    ReplayResult,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis


class DeadLetters:
    """Dead-letter queues of one client: naming, listing, reading, planning and moving; the adapter
    supplies names -> raw keys."""

    def __init__(self, client: Redis, config: RedisConfig, collector: Collector, raw: Callable[[str], bytes]) -> None:
        self.client = client
        self.config = config
        self.broker = config.name
        self.collector = collector
        self.raw = raw
        self.letters = Letters(client, config)
        self.dramatiq = dramatiq.DeadMessages(client, config.name)
        self.requeuer = Requeuer(client, config.name, raw, self.letters, self.dramatiq)
        self.jobs: dict[str, BullFailed | SidekiqSets] = {
            "bullmq": BullFailed(client, config.name),
            "sidekiq": SidekiqSets(client, config.name),
        }
        """The failure stores of BullMQ and Sidekiq, by `DlqRef.kind`: each reads, plans, moves and deletes."""
        self.notices: list[str] = []
        """Groups whose dead letters were counted in their oldest pending entries only (last `queues`)."""

    # -- naming --------------------------------------------------------------------------------------
    async def resolve(self, name: str) -> DlqRef:
        sidekiq_set = sidekiq.set_key(name)
        if sidekiq_set is not None:
            return DlqRef("sidekiq", name, sidekiq_set.encode(), None)
        key = self.raw(name)
        kind = text(await self.client.type(key))
        origin = self.collector.dlq_origin(name)
        rq_queue = jobs.rq_failed_queue(name)
        if kind == "list":
            return DlqRef("list", name, key, origin)
        if kind == "stream":
            return DlqRef("stream", name, key, origin)
        if rq_queue is not None and kind in ("zset", "none"):
            return DlqRef("rq", name, key, jobs.rq_queue_key(rq_queue))
        bull_queue = bullmq.failed_queue(name)
        if bull_queue is not None and kind in ("zset", "none"):
            return DlqRef("bullmq", name, key, bull_queue.row)
        dead_set = dramatiq.dead_set(name)
        if dead_set is not None and kind in ("zset", "none"):
            return DlqRef("dramatiq", name, key, dead_set.origin)
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
            "an RQ failed registry or a Dramatiq .XQ)"
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
                                oldest=json_hints(element).time if element else None)
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
        dead_sets = sorted(snap.dramatiq_dead.items())
        died = await self.dramatiq.oldest([key for key, _ in dead_sets])
        for (key, count), oldest_death in zip(dead_sets, died, strict=True):
            origin = dramatiq.dead_set(key)
            found.append(
                DeadLetterQueue(self.broker, key, DestinationKind.QUEUE, origin.origin if origin else None, count,
                                oldest=oldest_death, detected_by=dramatiq.DETECTED_BY)
            )  # fmt: skip
        for store in snap.failure_sets:
            found.append(
                DeadLetterQueue(self.broker, store.name, DestinationKind.QUEUE, store.origin, store.count,
                                oldest=store.oldest, detected_by=store.detected_by)
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
    async def read(self, ref: DlqRef, limit: int) -> list[DeadLetter]:
        if ref.kind in self.jobs:
            return await self.jobs[ref.kind].read(ref, limit)
        if ref.kind == "dramatiq":
            return await self.dramatiq.read(self._dead_set(ref), limit)
        return await self.letters.read(ref, limit)

    @staticmethod
    def _dead_set(ref: DlqRef) -> dramatiq.DeadSet:
        found = dramatiq.dead_set(ref.name)
        assert found is not None  # resolve made a "dramatiq" ref only from such a name
        return found

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
        if ref.kind in self.jobs:
            return await self.jobs[ref.kind].plan(ref, to, wanted, limit)
        if ref.kind == "rq":
            return await self._plan_rq(ref, to, wanted, limit)
        if ref.kind == "dramatiq":
            return await self._plan_dramatiq(ref, to, wanted, limit)
        target = to or ref.origin
        mode: str | None
        reason: str | None
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
            async for _, value in self.letters.list_elements(ref.key):
                if add(element_id(value), value=value if wanted is not None else None):  # moved by value only with ids
                    break
        elif ref.kind == "stream":
            start = "-"
            while True:
                entries = await xrange(self.client, ref.key, start, "+", count=READ_CHUNK)
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
        job_ids = [j for j in await self.letters.rq_job_ids(ref, None) if wanted is None or j in wanted]
        if limit is not None:
            job_ids = job_ids[:limit]
        pipe = self.client.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hmget(f"{jobs.RQ_JOB_PREFIX}{job_id}", ["origin", "rate_limit_key"])
        answers = await pipe.execute(raise_on_error=False) if job_ids else []
        plans = []
        for job_id, answer in zip(job_ids, answers, strict=True):
            origin, rate_limited = answer if isinstance(answer, list) else (None, None)
            name = jobs.rq_queue_name(jobs.rq_queue_key(to)) if to else (text(origin) if origin else None)
            reason = None if name else "the job hash is gone or names no origin queue: pass --to"
            if rate_limited:  # rq 3's FailedJobRegistry.requeue makes such a job take its capacity again
                reason = jobs.RQ_RATE_LIMITED
            target = jobs.rq_queue_key(name) if name else ""
            plans.append(Planned(ReplayItem(job_id, target, reason), origin=name))
        return plans

    async def _plan_dramatiq(
        self, ref: DlqRef, to: str | None, wanted: set[str] | None, limit: int | None
    ) -> list[Planned]:
        """Every dead message goes back to its own queue (`--to` another Dramatiq queue list)."""
        found = [i for i, _ in await self.dramatiq.ids(self._dead_set(ref), None) if wanted is None or i in wanted]
        target = to or ref.origin or ""
        reason = None if dramatiq.dead_set(f"{target}.XQ") else f"{target!r} is not a Dramatiq queue (namespace:queue)"
        return [Planned(ReplayItem(i, target, reason), origin=target) for i in found[:limit]]

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
        if ref.kind in self.jobs:
            return await self.jobs[ref.kind].move(ref, plans, progress)
        return await self.requeuer.move(ref, plans, by_value=ref.kind == "list" and bool(ids), progress=progress)

    async def delete(self, ref: DlqRef, ids: Collection[str]) -> int:
        if ref.kind in self.jobs:
            return await self.jobs[ref.kind].delete(ref, ids)
        return await self.requeuer.delete(ref, ids)
