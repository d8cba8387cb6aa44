"""Kafka's dead-letter topics: which topics are DLQs (the naming rules), their counts, their oldest
record's time, and their dead letters, read by assignment without consuming (see `tail`).

The oldest record of a partition is read once per low watermark and remembered, so a poll of the DLQ
list costs a read only where something was appended to an empty partition or trimmed away.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import datetime

from mqtui.brokers.kafka.client import KafkaClients
from mqtui.brokers.kafka.dlq import parse_dead_letter
from mqtui.brokers.kafka.tail import PartitionReader, Reads
from mqtui.brokers.kafka.topics import TopicRound, depth, is_internal
from mqtui.dlqnames import dlq_origin
from mqtui.model import DeadLetter, DeadLetterQueue, DestinationKind


class DlqTopics:
    """The DLQ topics of one broker, with the oldest-record times already read."""

    def __init__(self, reads: Reads, rules: Collection[str]) -> None:
        self.reads = reads
        self.rules = rules
        self.name = reads.name
        self._oldest: dict[tuple[str, int, int], datetime | None] = {}
        """(topic, partition, low watermark) -> timestamp of the record there: read once per low."""

    async def queues(self, clients: KafkaClients, round_: TopicRound) -> list[DeadLetterQueue]:
        metadata, low, high = round_
        names = [n for n in sorted(metadata.topics) if not is_internal(n) and dlq_origin(n, self.rules) is not None]
        oldest = await self._oldest_records(clients, names, round_)
        return [
            DeadLetterQueue(
                broker=self.name,
                name=name,
                kind=DestinationKind.TOPIC,
                origin=dlq_origin(name, self.rules),
                count=depth(name, metadata.topics[name].partitions, low, high),
                oldest=oldest.get(name),
            )
            for name in names
        ]

    async def _oldest_records(
        self, clients: KafkaClients, names: list[str], round_: TopicRound
    ) -> dict[str, datetime | None]:
        """Timestamp of each DLQ's oldest record: read once per partition and low watermark, then cached."""
        metadata, low, high = round_
        missing: dict[str, dict[int, int]] = {}
        for name in names:
            for p in metadata.topics[name].partitions:
                lo, hi = low.get((name, p)), high.get((name, p))
                if lo is not None and hi is not None and lo < hi and (name, p, lo) not in self._oldest:
                    missing.setdefault(name, {})[p] = lo
        if missing:
            readers = [
                PartitionReader(self.reads.settings(), self.name, name, starts, {p: o + 1 for p, o in starts.items()},
                                idle_timeout=clients.timeout)
                for name, starts in missing.items()
            ]  # fmt: skip
            answers = await asyncio.gather(*(self.reads.collect(clients, r) for r in readers))
            for reader, read in zip(readers, answers, strict=True):
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

    async def letters(self, clients: KafkaClients, dlq: str, limit: int) -> list[DeadLetter]:
        """The first `limit` dead letters, oldest first across partitions."""
        partitions = await clients.partitions(dlq)
        tps = [(dlq, p) for p in partitions]
        low, high = await clients.watermarks(tps)
        starts = {p: low.get((dlq, p)) or 0 for p in partitions}
        ends = {p: min(high.get((dlq, p)) or 0, starts[p] + limit) for p in partitions}
        reader = PartitionReader(self.reads.settings(), self.name, dlq, starts, ends, idle_timeout=clients.timeout)
        messages = await self.reads.collect(clients, reader)
        messages.sort(key=lambda m: (m.timestamp is None, m.timestamp or 0, m.partition, m.position))
        return [parse_dead_letter(m, self.rules) for m in messages[:limit]]
