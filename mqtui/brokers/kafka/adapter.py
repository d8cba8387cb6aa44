"""Kafka over confluent-kafka: topics, consumer-group lag, tail, publish, dead letters, offset resets.

Every poll is a handful of batched requests whatever the cluster's size: one metadata request, one
ListOffsets per offset kind for all partitions, one DescribeConsumerGroups for all groups and one
OffsetFetch per group (the API takes one group at a time), sent concurrently. Reads assign partitions
and never join a group or commit (see `tail`); replays record their progress in a consumer group
of their own (see `replay`). Blocking client calls run on the adapter's threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from datetime import datetime
from typing import Any, TypeVar

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import ClusterMetadata, ConfigResource, OffsetSpec, ResourceType

from mqtui.brokers.base import BrokerAdapter, PublishOptions
from mqtui.brokers.kafka.client import (
    TP,
    UNAVAILABLE_CODES,
    KafkaClients,
    broker_error,
    consumer_settings,
    error_code,
    error_text,
    producer_settings,
)
from mqtui.brokers.kafka.dlq import parse_dead_letter
from mqtui.brokers.kafka.replay import Replayer
from mqtui.brokers.kafka.tail import PartitionReader, first_offsets_since, stream_batches
from mqtui.config import KafkaConfig
from mqtui.dlqnames import dlq_origin, rules_for
from mqtui.errors import AuthenticationFailed, BrokerError, BrokerUnavailable, NotFound, UsageError
from mqtui.model import (
    BacklogRow,
    Capability,
    DeadLetter,
    DeadLetterQueue,
    Destination,
    DestinationKind,
    Detail,
    DetailSection,
    Message,
    OutgoingMessage,
    ProgressCallback,
    PublishResult,
    ReplayItem,
    ReplayResult,
    StartPosition,
)

T = TypeVar("T")

#: The only group states in which offsets may be moved: nobody is consuming, nor joining (an allow-list,
#: so a rebalancing group, a state librdkafka reports as "unknown" or one it does not know yet is refused).
_RESETTABLE_STATES = frozenset({"empty", "dead"})


class KafkaAdapter(BrokerAdapter):
    kind = "kafka"
    capabilities = Capability.TAIL | Capability.PUBLISH | Capability.REPLAY | Capability.RESET_OFFSETS

    def __init__(self, config: KafkaConfig) -> None:
        super().__init__(config)
        self.config: KafkaConfig = config
        self.rules = rules_for("kafka", config.dlq_patterns)
        self._clients: KafkaClients | None = None
        self._producer: Producer | None = None
        self._stops: set[threading.Event] = set()
        self._topics_task: asyncio.Future[tuple[ClusterMetadata, dict, dict]] | None = None
        self._oldest: dict[tuple[str, int, int], datetime | None] = {}
        """(topic, partition, low watermark) -> timestamp of the record there: read once per low."""

    # -- lifecycle ---------------------------------------------------------------------------------
    @property
    def clients(self) -> KafkaClients:
        if self._clients is None:
            raise BrokerUnavailable(f"{self.name}: not connected")
        return self._clients

    async def connect(self) -> None:
        clients = KafkaClients(self.config)
        try:
            await clients.connect()
        except BaseException:
            clients.close()
            raise
        self._clients = clients

    async def close(self) -> None:
        for stop in list(self._stops):
            stop.set()
        clients, self._clients = self._clients, None
        producer, self._producer = self._producer, None
        if producer is not None and clients is not None:
            with contextlib.suppress(Exception):
                await asyncio.get_running_loop().run_in_executor(clients.pool, producer.flush, 1.0)
        if clients is not None:
            clients.close()

    # -- topics ------------------------------------------------------------------------------------
    async def _topics(self) -> tuple[ClusterMetadata, dict[TP, int | None], dict[TP, int | None]]:
        """Metadata plus every partition's watermarks; concurrent callers share one round of requests."""
        task = self._topics_task
        if task is None:
            task = self._topics_task = asyncio.ensure_future(self._fetch_topics(self.clients))
            task.add_done_callback(self._forget_topics_task)
        return await asyncio.shield(task)

    def _forget_topics_task(self, task: asyncio.Future[Any]) -> None:
        """A finished round is never reused (the next poll wants fresh numbers) nor kept (its error would be)."""
        if self._topics_task is task:
            self._topics_task = None
        if not task.cancelled():
            task.exception()  # retrieved here: its awaiters may all have been cancelled

    @staticmethod
    async def _fetch_topics(clients: KafkaClients) -> tuple[ClusterMetadata, dict, dict]:
        metadata = await clients.metadata()
        tps = [(name, p) for name, topic in metadata.topics.items() for p in topic.partitions]
        low, high = await clients.watermarks(tps)
        return metadata, low, high

    def _internal(self, name: str) -> bool:
        return name.startswith("__")

    async def destinations(self, *, include_internal: bool = False) -> list[Destination]:
        metadata, low, high = await self._topics()
        show_internal = include_internal or self.config.show_internal
        found = []
        for name in sorted(metadata.topics):
            internal = self._internal(name)
            if internal and not show_internal:
                continue
            partitions = metadata.topics[name].partitions
            found.append(
                Destination(
                    broker=self.name,
                    name=name,
                    kind=DestinationKind.TOPIC,
                    depth=_depth(name, partitions, low, high),
                    partitions=len(partitions),
                    is_dlq=not internal and dlq_origin(name, self.rules) is not None,
                    internal=internal,
                    extra={"replication": str(_replication(partitions))},
                    appended=_appended(name, partitions, high),
                )
            )
        return found

    async def describe(self, destination: str) -> Detail:
        clients = self.clients
        partitions = await clients.partitions(destination)
        topic = clients.metadata_cache.topics[destination]  # type: ignore[union-attr]
        tps = [(destination, p) for p in partitions]
        (low, high), configs = await asyncio.gather(clients.watermarks(tps), self._configs(destination))
        rows = []
        for p in partitions:
            meta = topic.partitions[p]
            lo, hi = low.get((destination, p)), high.get((destination, p))
            rows.append((str(p), _text(lo), _text(hi), _text(None if lo is None or hi is None else max(0, hi - lo)),
                         str(meta.leader), ",".join(map(str, meta.replicas)), ",".join(map(str, meta.isrs))))  # fmt: skip
        summary = [
            ("partitions", str(len(partitions))),
            ("replication", str(_replication(topic.partitions))),
            ("messages", _text(_depth(destination, topic.partitions, low, high))),
        ]
        origin = dlq_origin(destination, self.rules)
        if origin is not None and not self._internal(destination):
            summary.append(("dead letters of", origin))
        sections = [
            DetailSection(
                "Partitions", ("PARTITION", "LOW", "HIGH", "MESSAGES", "LEADER", "REPLICAS", "ISR"), tuple(rows)
            )
        ]
        if isinstance(configs, str):
            summary.append(("configs", configs))
        else:
            sections.append(DetailSection("Configs", ("NAME", "VALUE", "SOURCE"), configs))
        return Detail(broker=self.name, name=destination, summary=tuple(summary), sections=tuple(sections))

    async def _configs(self, topic: str) -> tuple[tuple[str, str, str], ...] | str:
        """The topic's configs, or a sentence saying why there are none to show."""
        resource = ConfigResource(ResourceType.TOPIC, topic)
        try:
            futures = self.clients.admin.describe_configs([resource], request_timeout=self.config.timeout)
            answer = await self.clients.answer("describe topic configs", next(iter(futures.values())))
        except BrokerError as exc:
            return f"not available ({exc})"
        return config_rows(answer)

    # -- consumer groups ---------------------------------------------------------------------------
    async def _group_ids(self) -> list[str]:
        listing = await self.clients.answer(
            "list consumer groups", self.clients.admin.list_consumer_groups(request_timeout=self.config.timeout)
        )
        if listing.errors and not listing.valid:  # errors come back inside the answer, not raised
            raise broker_error(self.name, "list consumer groups", listing.errors[0])
        return sorted(group.group_id for group in listing.valid)

    async def _descriptions(self, groups: Sequence[str]) -> dict[str, Any]:
        """DescribeConsumerGroups for every group in one request; a group that failed maps to its error
        (an offset reset must tell "no such group" from "could not tell", see `reset_refusal`)."""
        if not groups:
            return {}
        futures = self.clients.admin.describe_consumer_groups(list(groups), request_timeout=self.config.timeout)
        return await self.clients.answers("describe consumer groups", futures)

    async def _group_state(self, groups: Sequence[str]) -> tuple[dict[str, Any], dict[str, dict[TP, TopicPartition]]]:
        """Descriptions and committed offsets of many groups, fetched together.

        A group whose offsets cannot be read (not authorized, say) shows without offsets when many are
        asked for, so one group does not blank the whole lag view; asked for alone, it raises.
        """
        descriptions, answers = await asyncio.gather(
            self._descriptions(groups),
            asyncio.gather(*(self.clients.committed(group) for group in groups), return_exceptions=True),
        )
        offsets: dict[str, dict[TP, TopicPartition]] = {}
        for group, answer in zip(groups, answers, strict=True):
            if isinstance(answer, BaseException):
                if (
                    len(groups) == 1
                    or not isinstance(answer, BrokerError)
                    or isinstance(answer, BrokerUnavailable | AuthenticationFailed)
                ):
                    raise answer
                answer = {}
            offsets[group] = answer
        return descriptions, offsets

    async def _require_group(self, group: str, description: Any, committed: dict[TP, TopicPartition]) -> None:
        """NotFound unless the group exists (brokers describe unknown groups as empty or dead)."""
        if _members(description) or any(tp.offset >= 0 for tp in committed.values()):
            return
        if group not in await self._group_ids():
            raise NotFound(f"{self.name}: no consumer group {group!r}")

    async def backlog(self, *, group: str | None = None) -> list[BacklogRow]:
        groups = [group] if group is not None else await self._group_ids()
        if not groups:
            return []
        (descriptions, offsets), metadata = await asyncio.gather(self._group_state(groups), self.clients.metadata())
        if group is not None:
            await self._require_group(group, descriptions.get(group), offsets[group])
        layout: dict[str, list[TP]] = {}
        for name in groups:
            topics = {t for (t, _p) in offsets[name]} | {t for (t, _p) in _assignments(descriptions.get(name))}
            layout[name] = [
                (t, p) for t in sorted(topics) if t in metadata.topics for p in sorted(metadata.topics[t].partitions)
            ]
        involved = sorted({tp for tps in layout.values() for tp in tps})
        uncommitted = sorted(
            {tp for name, tps in layout.items() for tp in tps if _committed(offsets[name].get(tp)) is None}
        )
        high, low = await asyncio.gather(
            self.clients.offsets(involved, OffsetSpec.latest(), "list latest offsets"),
            self.clients.offsets(uncommitted, OffsetSpec.earliest(), "list earliest offsets"),
        )
        rows = []
        for name in groups:
            description = descriptions.get(name)
            members = _members(description)
            owners = _owners(description)
            state = _state(description)
            for tp in layout[name]:
                committed = _committed(offsets[name].get(tp))
                end = high.get(tp)
                rows.append(
                    BacklogRow(
                        broker=self.name,
                        destination=tp[0],
                        group=name,
                        partition=tp[1],
                        committed=committed,
                        end=end,
                        lag=_lag(committed, low.get(tp), end),
                        consumers=len(members),
                        state=state,
                        members=owners.get(tp, ()),
                    )
                )
        return rows

    async def describe_group(self, group: str) -> Detail:
        descriptions, offsets = await self._group_state([group])
        description = descriptions.get(group)
        await self._require_group(group, description, offsets[group])
        return group_detail(self.name, group, description, await self.backlog(group=group))

    async def reset_offsets(self, group: str, *, to: StartPosition, destination: str | None = None) -> list[BacklogRow]:
        descriptions, offsets = await self._group_state([group])
        description = descriptions.get(group)
        refusal = reset_refusal(self.name, group, description)
        if refusal is not None:
            raise BrokerError(refusal)
        committed = offsets[group]
        if destination is not None:
            tps = [(destination, p) for p in await self.clients.partitions(destination)]
        else:
            tps = sorted(tp for tp, value in committed.items() if value.offset >= 0)
            if not tps:
                await self._require_group(group, description, committed)
                raise NotFound(f"{self.name}: group {group!r} has no committed offsets: name a topic to reset")
        targets = await self._reset_targets(tps, to)
        request = ConsumerGroupTopicPartitions(
            group, [TopicPartition(t, p, o) for (t, p), o in sorted(targets.items())]
        )
        futures = self.clients.admin.alter_consumer_group_offsets([request], request_timeout=self.config.timeout)
        answer = await self.clients.answer(f"reset offsets of group {group!r}", futures[group])
        for tp in answer.topic_partitions or ():
            if tp.error is not None:
                raise broker_error(self.name, f"reset offsets of {tp.topic}[{tp.partition}]", tp.error)
        changed = set(targets)
        return [row for row in await self.backlog(group=group) if (row.destination, row.partition) in changed]

    async def _reset_targets(self, tps: list[TP], to: StartPosition) -> dict[TP, int]:
        low, high = await self.clients.watermarks(tps)
        for tp in tps:
            if low.get(tp) is None or high.get(tp) is None:
                raise BrokerUnavailable(f"{self.name}: no watermarks for {tp[0]}[{tp[1]}]")
        lows = {tp: int(low[tp]) for tp in tps}  # type: ignore[arg-type]
        highs = {tp: int(high[tp]) for tp in tps}  # type: ignore[arg-type]
        if to.kind == "beginning":
            return lows
        if to.kind == "end":
            return highs
        if to.kind == "offset":
            if not isinstance(to.offset, int):
                raise UsageError(f"a Kafka offset is a number, not {to.offset!r}")
            return {tp: min(max(to.offset, lows[tp]), highs[tp]) for tp in tps}
        assert to.time is not None
        millis = int(to.time.timestamp() * 1000)
        found = await self.clients.offsets(tps, OffsetSpec.for_timestamp(millis), "find offsets by time")
        targets = {tp: _time_offset(found.get(tp), lows[tp], highs[tp]) for tp in tps}
        for topic in sorted({t for t, _p in tps}):
            starts = {p: o for (t, p), o in targets.items() if t == topic}
            ends = {p: highs[(topic, p)] for p in starts}
            reader = PartitionReader(self._read_settings(), self.name, topic, starts, ends,
                                     idle_timeout=self.config.timeout, not_before=millis)  # fmt: skip
            checked = await self._blocking_read(first_offsets_since, reader)
            targets.update({(topic, p): o for p, o in checked.items()})
        return targets

    # -- reading messages --------------------------------------------------------------------------
    def _read_settings(self) -> dict[str, Any]:
        """A consumer under a throwaway group id: it is only assigned partitions, never joins or commits."""
        return consumer_settings(self.config, f"mqtui-read-{uuid.uuid4().hex[:12]}")

    async def tail(
        self, destination: str, *, start: StartPosition, stop_at_end: bool = False
    ) -> AsyncIterator[Sequence[Message]]:
        partitions = await self.clients.partitions(destination)
        tps = [(destination, p) for p in partitions]
        low, high = await self.clients.watermarks(tps)
        starts = await self._start_offsets(destination, tps, start, low, high)
        ends = None
        if stop_at_end:
            ends = {p: high.get((destination, p)) or 0 for p in partitions}
        not_before = int(start.time.timestamp() * 1000) if start.kind == "time" and start.time else None
        # A live tail waits for new messages for as long as it runs; one that should end must not wait
        # forever for a broker that went away.
        idle = self.config.timeout if stop_at_end else None
        reader = PartitionReader(
            self._read_settings(), self.name, destination, starts, ends, not_before=not_before, idle_timeout=idle
        )
        stop = threading.Event()
        self._stops.add(stop)
        batches = stream_batches(reader, stop)
        try:
            async for batch in batches:
                yield batch
        finally:
            stop.set()
            await batches.aclose()  # joins the reader thread: closing the tail really stops it
            self._stops.discard(stop)

    async def _start_offsets(
        self, topic: str, tps: list[TP], start: StartPosition, low: dict[TP, int | None], high: dict[TP, int | None]
    ) -> dict[int, int]:
        starts = await self._kind_offsets(topic, tps, start, low, high)
        for partition, offset in start.partition_offsets:
            lo, hi = low.get((topic, partition)), high.get((topic, partition))
            if partition in starts and lo is not None and hi is not None:
                # Past the end: the partition was truncated or the topic recreated, so all it holds is new.
                starts[partition] = lo if offset > hi else max(offset, lo)
        return starts

    async def _kind_offsets(
        self, topic: str, tps: list[TP], start: StartPosition, low: dict[TP, int | None], high: dict[TP, int | None]
    ) -> dict[int, int]:
        for tp in tps:
            if low.get(tp) is None or high.get(tp) is None:
                raise BrokerUnavailable(f"{self.name}: no watermarks for {topic}[{tp[1]}]")
        if start.kind == "beginning":
            return {p: low[(t, p)] for t, p in tps}  # type: ignore[misc]
        if start.kind == "end":
            return {p: high[(t, p)] for t, p in tps}  # type: ignore[misc]
        if start.kind == "offset":
            if not isinstance(start.offset, int):
                raise UsageError(f"a Kafka offset is a number, not {start.offset!r}")
            # The same offset on every partition (like kcat -o N), kept inside what each partition holds.
            return {p: min(max(start.offset, low[(t, p)]), high[(t, p)]) for t, p in tps}  # type: ignore[type-var]
        assert start.time is not None
        millis = int(start.time.timestamp() * 1000)
        found = await self.clients.offsets(tps, OffsetSpec.for_timestamp(millis), "find offsets by time")
        return {p: _time_offset(found.get((t, p)), low[(t, p)], high[(t, p)]) for t, p in tps}  # type: ignore[arg-type]

    async def _read(self, reader: PartitionReader) -> list[Message]:
        """Every message of a bounded reader, read on the pool (never on the event loop)."""
        return await self._blocking_read(_collect, reader)

    async def _blocking_read(self, func: Callable[[PartitionReader, threading.Event], T], reader: PartitionReader) -> T:
        """Run a blocking read on the pool; closing the adapter or cancelling the caller stops it."""
        stop = threading.Event()
        self._stops.add(stop)
        try:
            return await asyncio.get_running_loop().run_in_executor(self.clients.pool, func, reader, stop)
        except KafkaException as exc:
            raise broker_error(self.name, f"reading {reader.topic}", exc) from None
        finally:
            stop.set()
            self._stops.discard(stop)

    # -- publishing --------------------------------------------------------------------------------
    async def publish(
        self, destination: str, messages: Sequence[OutgoingMessage], *, options: PublishOptions | None = None
    ) -> PublishResult:
        partition = _publish_partition(options)
        partitions = await self.clients.partitions(destination)
        if partition is not None and partition not in partitions:
            raise NotFound(
                f"{self.name}: topic {destination!r} has no partition {partition} (it has {len(partitions)})"
            )
        if self._producer is None:
            self._producer = Producer(producer_settings(self.config))
        producer = self._producer
        result, unreachable = await asyncio.get_running_loop().run_in_executor(
            self.clients.pool, _produce_all, producer, destination, list(messages), partition, self.config.timeout
        )
        if unreachable:
            raise BrokerUnavailable(f"{self.name}: publish to {destination}: {result.failed[0][1]}")
        return result

    # -- dead letters ------------------------------------------------------------------------------
    async def dead_letter_queues(self) -> list[DeadLetterQueue]:
        metadata, low, high = await self._topics()
        names = [n for n in sorted(metadata.topics) if not self._internal(n) and dlq_origin(n, self.rules) is not None]
        oldest = await self._oldest_records(names, metadata, low, high)
        return [
            DeadLetterQueue(
                broker=self.name,
                name=name,
                kind=DestinationKind.TOPIC,
                origin=dlq_origin(name, self.rules),
                count=_depth(name, metadata.topics[name].partitions, low, high),
                oldest=oldest.get(name),
            )
            for name in names
        ]

    async def _oldest_records(
        self, names: list[str], metadata: ClusterMetadata, low: dict[TP, int | None], high: dict[TP, int | None]
    ) -> dict[str, datetime | None]:
        """Timestamp of each DLQ's oldest record: read once per partition and low watermark, then cached."""
        missing: dict[str, dict[int, int]] = {}
        for name in names:
            for p in metadata.topics[name].partitions:
                lo, hi = low.get((name, p)), high.get((name, p))
                if lo is not None and hi is not None and lo < hi and (name, p, lo) not in self._oldest:
                    missing.setdefault(name, {})[p] = lo
        if missing:
            readers = [
                PartitionReader(self._read_settings(), self.name, name, starts, {p: o + 1 for p, o in starts.items()},
                                idle_timeout=self.config.timeout)
                for name, starts in missing.items()
            ]  # fmt: skip
            for reader, read in zip(readers, await asyncio.gather(*(self._read(r) for r in readers)), strict=True):
                for message in read:
                    self._oldest[(reader.topic, message.partition or 0, int(message.position))] = message.timestamp
        oldest: dict[str, datetime | None] = {}
        for name in names:
            times = [
                self._oldest.get((name, p, low.get((name, p)) or 0))
                for p in metadata.topics[name].partitions
                if (low.get((name, p)) or 0) < (high.get((name, p)) or 0)
            ]
            known = [t for t in times if t is not None]
            oldest[name] = min(known) if known else None
        return oldest

    async def dead_letters(self, dlq: str, *, limit: int = 100) -> list[DeadLetter]:
        partitions = await self.clients.partitions(dlq)
        tps = [(dlq, p) for p in partitions]
        low, high = await self.clients.watermarks(tps)
        starts = {p: low.get((dlq, p)) or 0 for p in partitions}
        ends = {p: min(high.get((dlq, p)) or 0, starts[p] + limit) for p in partitions}
        reader = PartitionReader(self._read_settings(), self.name, dlq, starts, ends, idle_timeout=self.config.timeout)
        messages = await self._read(reader)
        messages.sort(key=lambda m: (m.timestamp is None, m.timestamp or 0, m.partition, m.position))  # type: ignore[arg-type,return-value]
        return [parse_dead_letter(m, self.rules) for m in messages[:limit]]

    def _replayer(self) -> Replayer:
        return Replayer(self.clients, self.rules, self.config.replay_group)

    async def plan_replay(
        self, dlq: str, *, to: str | None = None, ids: Collection[str] | None = None, limit: int | None = None
    ) -> list[ReplayItem]:
        plan = await self._replayer().plan(dlq, to=to, ids=ids, limit=limit)
        return [entry.item() for entry in plan.entries]

    async def replay(
        self,
        dlq: str,
        *,
        to: str | None = None,
        ids: Collection[str] | None = None,
        limit: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> ReplayResult:
        return await self._replayer().replay(dlq, to=to, ids=ids, limit=limit, progress=progress)


# -- helpers ---------------------------------------------------------------------------------------
def _collect(reader: PartitionReader, stop: threading.Event) -> list[Message]:
    return [message for batch in reader.batches(stop) for message in batch]


def _text(value: object) -> str:
    return "-" if value is None else str(value)


def _replication(partitions: dict) -> int:
    return max((len(p.replicas) for p in partitions.values()), default=0)


def _depth(topic: str, partitions: dict, low: dict[TP, int | None], high: dict[TP, int | None]) -> int | None:
    total = 0
    for p in partitions:
        lo, hi = low.get((topic, p)), high.get((topic, p))
        if lo is None or hi is None:
            return None
        total += max(0, hi - lo)
    return total


def _appended(topic: str, partitions: dict, high: dict[TP, int | None]) -> int | None:
    """Sum of the high watermarks: every record ever appended to the topic (None if one is unknown)."""
    highs = [high.get((topic, p)) for p in partitions]
    return None if any(h is None for h in highs) else sum(h for h in highs if h is not None)


def _committed(tp: TopicPartition | None) -> int | None:
    return tp.offset if tp is not None and tp.offset >= 0 else None


def _lag(committed: int | None, low: int | None, high: int | None) -> int | None:
    """Never negative; with nothing committed, everything the partition holds is still to be read."""
    if high is None:
        return None
    if committed is None:
        return None if low is None else max(0, high - low)
    return max(0, high - committed)


def _time_offset(found: int | None, low: int, high: int) -> int:
    """ListOffsets by time answers -1 when every record is older: then the position is the end."""
    if found is None or found < 0:
        return high
    return min(max(found, low), high)


def group_detail(broker: str, group: str, description: Any, rows: Sequence[BacklogRow]) -> Detail:
    """A group's detail from its description and lag rows: pure, so the member and assignment tables
    are tested with fake answers (tansu lists no members, see test_tansu_deviations.py)."""
    summary = [("state", _state(description) or "unknown"), ("members", str(len(_members(description))))]
    described = _described(description)
    if described is not None:
        if described.partition_assignor:
            summary.append(("assignor", described.partition_assignor))
        coordinator = described.coordinator
        if coordinator is not None:
            summary.append(("coordinator", f"{coordinator.host}:{coordinator.port} (id {coordinator.id})"))
    summary.append(("total lag", str(sum(r.lag or 0 for r in rows))))
    member_rows = tuple((m.member_id, m.client_id, m.host, _assignment_text(m)) for m in _members(description))
    offset_rows = tuple(
        (r.destination, str(r.partition), _text(r.committed), _text(r.end), _text(r.lag), ", ".join(r.members))
        for r in rows
    )  # fmt: skip
    return Detail(
        broker=broker,
        name=group,
        summary=tuple(summary),
        sections=(
            DetailSection("Members", ("MEMBER", "CLIENT", "HOST", "ASSIGNED"), member_rows),
            DetailSection("Offsets", ("TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "MEMBER"), offset_rows),
        ),
    )


def config_rows(answer: dict[str, Any]) -> tuple[tuple[str, str, str], ...] | str:
    """DescribeConfigs entries as (name, value, source) rows, secrets masked, or why there are none
    (pure: tansu answers no configs, so the table is tested with fake entries)."""
    if not answer:
        return "none reported (the broker answered DescribeConfigs with no entries)"
    rows = []
    for name, entry in sorted(answer.items()):
        value = "(sensitive)" if entry.is_sensitive else ("" if entry.value is None else str(entry.value))
        source = getattr(entry.source, "name", str(entry.source)).lower().replace("_config", "")
        rows.append((name, value, source))
    return tuple(rows)


def reset_refusal(broker: str, group: str, description: Any) -> str | None:
    """Why `group`'s offsets must not be moved now (one line naming its state), or None if they may.

    Allowed only when the broker says the group is empty or dead with no members, or that it does not
    exist (GROUP_ID_NOT_FOUND): a reset may create a group, as kafka-consumer-groups' does. Anything
    else is refused, including a rebalance, librdkafka's "unknown" and a description that failed:
    moving offsets under consumers that are running or joining would be overwritten by their next
    commit, or would make them skip or reread messages. (Apache Kafka also rejects an admin commit
    for a group with members; this check is what says so before anything is sent, on every broker.)
    """
    if isinstance(description, NotFound):
        return None
    if isinstance(description, BaseException):
        return f"{description}: cannot tell whether group {group!r} has members, so its offsets were not reset"
    if description is None:
        return f"{broker}: group {group!r} was not described, so its offsets were not reset"
    state = _state(description)
    members = _members(description)
    if state in _RESETTABLE_STATES and not members:
        return None
    return (
        f"{broker}: group {group!r} is {state} with {len(members)} member(s) reported: "
        "stop its consumers before resetting its offsets (a reset needs the group empty)"
    )


def _described(description: Any) -> Any:
    """The description, or None when there is none (a failed one is its error)."""
    return None if description is None or isinstance(description, BaseException) else description


def _state(description: Any) -> str | None:
    if _described(description) is None:
        return None
    state = getattr(description.state, "name", str(description.state))
    return state.lower()


def _members(description: Any) -> list[Any]:
    return list(description.members or ()) if _described(description) is not None else []


def _assignments(description: Any) -> set[TP]:
    return set(_owners(description))


def _owners(description: Any) -> dict[TP, tuple[str, ...]]:
    """Partition -> the members assigned to it, as client-id@host."""
    owners: dict[TP, tuple[str, ...]] = {}
    for member in _members(description):
        assignment = getattr(member, "assignment", None)
        for tp in getattr(assignment, "topic_partitions", None) or ():
            key = (tp.topic, tp.partition)
            owners[key] = (*owners.get(key, ()), f"{member.client_id}@{member.host}")
    return owners


def _assignment_text(member: Any) -> str:
    assignment = getattr(member, "assignment", None)
    by_topic: dict[str, list[int]] = {}
    for tp in getattr(assignment, "topic_partitions", None) or ():
        by_topic.setdefault(tp.topic, []).append(tp.partition)
    return "; ".join(f"{t}[{','.join(map(str, sorted(ps)))}]" for t, ps in sorted(by_topic.items())) or "-"


def _publish_partition(options: PublishOptions | None) -> int | None:
    partition: int | None = None
    for key, value in (options or {}).items():
        if key != "partition":
            raise UsageError(f"unknown Kafka publish property {key!r} (known: partition)")
        if not value.strip().isdigit():
            raise UsageError(f"partition must be a number, not {value!r}")
        partition = int(value)
    return partition


def _header_value(value: object) -> bytes | str | None:
    if value is None or isinstance(value, bytes | str):
        return value
    return str(value)


def _produce_all(
    producer: Producer, topic: str, messages: list[OutgoingMessage], partition: int | None, timeout: float
) -> tuple[PublishResult, bool]:
    """Produce every message and wait for every delivery report (bounded by message.timeout.ms).

    Also says whether nothing was delivered because the broker could not be reached, which is one
    BrokerUnavailable for the caller rather than one failure line per message.
    """
    reports: list[tuple[Any, Any] | None] = [None] * len(messages)

    def reporter(index: int):  # type: ignore[no-untyped-def]
        def report(error: Any, record: Any) -> None:
            reports[index] = (error, record)

        return report

    extra = {"partition": partition} if partition is not None else {}
    for index, message in enumerate(messages):
        headers = [(name, _header_value(value)) for name, value in message.headers] or None
        while True:
            try:
                producer.produce(topic, value=message.value, key=message.key, headers=headers,
                                 on_delivery=reporter(index), **extra)  # fmt: skip
                break
            except BufferError:  # the local queue is full: let deliveries drain it
                producer.poll(0.05)
            except KafkaException as exc:
                reports[index] = (exc.args[0] if exc.args else exc, None)
                break
    deadline = time.monotonic() + timeout + 2
    while any(report is None for report in reports) and time.monotonic() < deadline:
        producer.flush(min(0.5, max(0.0, deadline - time.monotonic())))
    failed: list[tuple[int, str]] = []
    positions: list[str] = []
    unreachable = 0
    for index, report in enumerate(reports):
        if report is None:
            failed.append((index, f"no delivery report within {timeout:g}s"))
            unreachable += 1
            continue
        error, record = report
        if error is not None:
            failed.append((index, error_text(error)))
            unreachable += error_code(error) in UNAVAILABLE_CODES
        else:
            positions.append(f"{record.partition()}:{record.offset()}")
    result = PublishResult(sent=len(positions), failed=tuple(failed), positions=tuple(positions))
    return result, bool(messages) and unreachable == len(messages)
