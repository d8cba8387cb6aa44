"""Kafka over confluent-kafka: topics, consumer-group lag, tail, publish, dead letters, offset resets.

The adapter holds one broker's clients (`client`) and delegates each method to the module of its
concern: `topics`, `groups` (lag and group details), `reset`, `tail` (reads by assignment that never
join a group or commit), `publish`, `dlq_topics` and `replay` (replays record their progress in a
consumer group of their own) and `retries` (retry topics and when their records are due). Every poll
is a handful of batched requests whatever the cluster's size; blocking client calls run on the
adapter's threads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence

from mqtui.brokers.base import BrokerAdapter, PublishOptions
from mqtui.brokers.kafka import groups, ranges, reset, topics
from mqtui.brokers.kafka.client import KafkaClients
from mqtui.brokers.kafka.dlq_topics import DlqTopics
from mqtui.brokers.kafka.publish import Publisher
from mqtui.brokers.kafka.replay import Replayer
from mqtui.brokers.kafka.retries import RetryTopics
from mqtui.brokers.kafka.tail import Reads
from mqtui.brokers.kafka.time_lag import OldestWaiting
from mqtui.brokers.kafka.topics import TopicRounds
from mqtui.config import KafkaConfig
from mqtui.dlqnames import rules_for
from mqtui.errors import BrokerUnavailable
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


class KafkaAdapter(BrokerAdapter[KafkaConfig]):
    kind = "kafka"
    capabilities = (
        Capability.TAIL | Capability.PUBLISH | Capability.REPLAY | Capability.RESET_OFFSETS | Capability.GROUPS
    )

    def __init__(self, config: KafkaConfig) -> None:
        super().__init__(config)
        self.rules = rules_for("kafka", config.dlq_patterns)
        self._clients: KafkaClients | None = None
        self.reads = Reads(config)
        self.rounds = TopicRounds()
        self.dlqs = DlqTopics(self.reads, self.rules)
        self.retries = RetryTopics(self.reads, self.rules)
        self.waiting = OldestWaiting(self.reads)
        self.publisher = Publisher(config)

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
        self.reads.stop_all()
        clients, self._clients = self._clients, None
        await self.publisher.close(clients)
        if clients is not None:
            clients.close()

    # -- topics and groups -------------------------------------------------------------------------
    async def destinations(self, *, include_internal: bool = False) -> list[Destination]:
        round_ = await self.rounds.get(self.clients)
        show_internal = include_internal or self.config.show_internal
        return topics.destinations(round_, self.name, self.rules, show_internal=show_internal)

    async def describe(self, destination: str) -> Detail:
        return await topics.describe(self.clients, self.rules, destination)

    async def backlog(self, *, group: str | None = None) -> list[BacklogRow]:
        return await groups.backlog(self.clients, group, self.waiting)

    async def describe_group(self, group: str) -> Detail:
        return await groups.describe_group(self.clients, group)

    async def reset_offsets(self, group: str, *, to: StartPosition, destination: str | None = None) -> list[BacklogRow]:
        return await reset.reset_offsets(self.clients, self.reads, group, to=to, destination=destination)

    # -- messages ----------------------------------------------------------------------------------
    async def tail(
        self, destination: str, *, start: StartPosition, stop_at_end: bool = False
    ) -> AsyncIterator[Sequence[Message]]:
        batches = self.reads.tail(self.clients, destination, start=start, stop_at_end=stop_at_end)
        try:
            async for batch in batches:
                yield batch
        finally:
            await batches.aclose()  # stops the reader thread now, not when the generator is collected

    async def plan_range(self, destination: str, *, start: StartPosition, end: StartPosition | None) -> RangePlan:
        return await ranges.plan_range(self.clients, destination, start, end)

    async def read_range(self, plan: RangePlan) -> AsyncIterator[Sequence[Message]]:
        batches = ranges.read_range(self.reads, plan)
        try:
            async for batch in batches:
                yield batch
        finally:
            await batches.aclose()

    async def publish(
        self, destination: str, messages: Sequence[OutgoingMessage], *, options: PublishOptions | None = None
    ) -> PublishResult:
        return await self.publisher.publish(self.clients, destination, messages, options)

    # -- dead letters ------------------------------------------------------------------------------
    async def dead_letter_queues(self) -> list[DeadLetterQueue]:
        clients = self.clients
        return await self.dlqs.queues(clients, await self.rounds.get(clients))

    async def retry_schedules(self) -> list[RetrySchedule]:
        clients = self.clients
        return await self.retries.schedules(clients, await self.rounds.get(clients))

    async def dead_letters(self, dlq: str, *, limit: int = 100) -> list[DeadLetter]:
        return await self.dlqs.letters(self.clients, dlq, limit)

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
