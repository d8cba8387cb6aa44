"""Kafka topics as destinations and their details: partitions, watermarks, replicas and configs.

A poll asks for destinations and DLQs at the same moment; `TopicRounds` lets them share one round of
requests (one metadata request and one batched ListOffsets per offset kind), never reused afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from typing import Any

from confluent_kafka.admin import ClusterMetadata, ConfigResource, PartitionMetadata, ResourceType

from mqtui.brokers.kafka.client import TP, KafkaClients
from mqtui.dlqnames import dlq_origin
from mqtui.errors import BrokerError
from mqtui.model import Destination, DestinationKind, Detail, DetailSection

#: Metadata, then every partition's low and high watermarks.
TopicRound = tuple[ClusterMetadata, dict[TP, int | None], dict[TP, int | None]]


class TopicRounds:
    """Metadata plus every partition's watermarks; concurrent callers share one round of requests."""

    def __init__(self) -> None:
        self._task: asyncio.Future[TopicRound] | None = None

    async def get(self, clients: KafkaClients) -> TopicRound:
        task = self._task
        if task is None:
            task = self._task = asyncio.ensure_future(self._fetch(clients))
            task.add_done_callback(self._forget)
        return await asyncio.shield(task)

    def _forget(self, task: asyncio.Future[Any]) -> None:
        """A finished round is never reused (the next poll wants fresh numbers) nor kept (its error would be)."""
        if self._task is task:
            self._task = None
        if not task.cancelled():
            task.exception()  # retrieved here: its awaiters may all have been cancelled

    @staticmethod
    async def _fetch(clients: KafkaClients) -> TopicRound:
        metadata = await clients.metadata()
        tps = [(name, p) for name, topic in metadata.topics.items() for p in topic.partitions]
        low, high = await clients.watermarks(tps)
        return metadata, low, high


def is_internal(name: str) -> bool:
    return name.startswith("__")


def destinations(round_: TopicRound, broker: str, rules: Collection[str], *, show_internal: bool) -> list[Destination]:
    metadata, low, high = round_
    found = []
    for name in sorted(metadata.topics):
        internal = is_internal(name)
        if internal and not show_internal:
            continue
        partitions = metadata.topics[name].partitions
        found.append(
            Destination(
                broker=broker,
                name=name,
                kind=DestinationKind.TOPIC,
                depth=depth(name, partitions, low, high),
                partitions=len(partitions),
                is_dlq=not internal and dlq_origin(name, rules) is not None,
                internal=internal,
                extra={"replication": str(_replication(partitions))},
                appended=_appended(name, partitions, high),
            )
        )
    return found


async def describe(clients: KafkaClients, rules: Collection[str], destination: str) -> Detail:
    partitions = await clients.partitions(destination)
    metadata = clients.metadata_cache
    assert metadata is not None  # partitions() has just read it
    topic = metadata.topics[destination]
    tps = [(destination, p) for p in partitions]
    (low, high), configs = await asyncio.gather(clients.watermarks(tps), _configs(clients, destination))
    rows = []
    for p in partitions:
        meta = topic.partitions[p]
        lo, hi = low.get((destination, p)), high.get((destination, p))
        rows.append((str(p), _text(lo), _text(hi), _text(None if lo is None or hi is None else max(0, hi - lo)),
                     str(meta.leader), ",".join(map(str, meta.replicas)), ",".join(map(str, meta.isrs))))  # fmt: skip
    summary = [
        ("partitions", str(len(partitions))),
        ("replication", str(_replication(topic.partitions))),
        ("messages", _text(depth(destination, topic.partitions, low, high))),
    ]
    origin = dlq_origin(destination, rules)
    if origin is not None and not is_internal(destination):
        summary.append(("dead letters of", origin))
    sections = [
        DetailSection("Partitions", ("PARTITION", "LOW", "HIGH", "MESSAGES", "LEADER", "REPLICAS", "ISR"), tuple(rows))
    ]
    if isinstance(configs, str):
        summary.append(("configs", configs))
    else:
        sections.append(DetailSection("Configs", ("NAME", "VALUE", "SOURCE"), configs))
    return Detail(broker=clients.name, name=destination, summary=tuple(summary), sections=tuple(sections))


async def _configs(clients: KafkaClients, topic: str) -> tuple[tuple[str, str, str], ...] | str:
    """The topic's configs, or a sentence saying why there are none to show."""
    resource = ConfigResource(ResourceType.TOPIC, topic)
    try:
        futures = clients.admin.describe_configs([resource], request_timeout=clients.timeout)
        answer = await clients.answer("describe topic configs", next(iter(futures.values())))
    except BrokerError as exc:
        return f"not available ({exc})"
    return config_rows(answer)


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


def depth(
    topic: str, partitions: Mapping[int, PartitionMetadata], low: dict[TP, int | None], high: dict[TP, int | None]
) -> int | None:
    """Messages the topic holds (None if one partition's watermarks are unknown)."""
    total = 0
    for p in partitions:
        lo, hi = low.get((topic, p)), high.get((topic, p))
        if lo is None or hi is None:
            return None
        total += max(0, hi - lo)
    return total


def _replication(partitions: Mapping[int, PartitionMetadata]) -> int:
    return max((len(p.replicas) for p in partitions.values()), default=0)


def _appended(topic: str, partitions: Mapping[int, PartitionMetadata], high: dict[TP, int | None]) -> int | None:
    """Sum of the high watermarks: every record ever appended to the topic (None if one is unknown)."""
    highs = [high.get((topic, p)) for p in partitions]
    return None if any(h is None for h in highs) else sum(h for h in highs if h is not None)


def _text(value: object) -> str:
    return "-" if value is None else str(value)
