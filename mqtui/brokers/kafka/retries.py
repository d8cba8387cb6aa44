"""Kafka retry topics: how many parked records are due now, due later, and when the next one is due.

A retry topic is named for the topic it retries: Spring Kafka's non-blocking retries create
`<topic>-retry-0`, `-retry-1`, ... (or `-retry-<delay>`, or one `<topic>-retry`), and the seed's services
park failed events on `<topic>.retry` / `<topic>-retry`. Each record says when it is due: Spring stamps
the header `retry_topic-backoff-timestamp`, the seed wraps the event in a retry envelope
(`{"type": "retry", "retry_at": ...}`); see `mqtui.brokers.retries` for both encodings.

The records still waiting are those past the consuming group's committed offset (the lowest of the
groups that committed on the topic, so none is missed), or every retained record where no group
committed. They are read with an assigned consumer (no group joined, nothing committed), at most
`PER_TOPIC_CAP` per topic and poll; a capped count is a lower bound (`at_least`). A record's due time
never changes, so each is read once: later polls read only what was appended since, and forget what
the group consumed.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mqtui.brokers.kafka import groups
from mqtui.brokers.kafka.client import TP, KafkaClients
from mqtui.brokers.kafka.tail import PartitionReader, Reads
from mqtui.brokers.kafka.topics import TopicRound, is_internal
from mqtui.brokers.retries import SPRING_BACKOFF_HEADER, count_due, envelope_due, spring_due
from mqtui.dlqnames import dlq_origin
from mqtui.errors import AuthenticationFailed, BrokerError, BrokerUnavailable
from mqtui.model import RetrySchedule

PER_TOPIC_CAP = 10_000
"""Records read per retry topic and poll at most: bounds a poll whatever a retry topic holds."""
RETRY_TOPIC = re.compile(r"^(?P<origin>.+?)[-._]retry(?:[-._][0-9]+[a-z]*)*$")
SPRING = "spring retry topic"
ENVELOPE = "retry envelope"
UNDATED = "retry topic"
"""A retry topic none of whose waiting records says when it is due (no header, no envelope)."""


def retry_origin(name: str) -> str | None:
    """`orders-retry-1` -> `orders`: the topic a retry topic's records go back to; None for other names."""
    found = RETRY_TOPIC.match(name)
    return found.group("origin") if found else None


@dataclass(frozen=True, slots=True)
class Due:
    """What one record says: when it is due (None: it does not say), and by which convention."""

    at: datetime | None
    convention: str


def record_due(record: Any) -> Due:
    """A librdkafka record's due time: Spring's header first (the last one, as Spring reads it), else a
    retry envelope in the value."""
    header: bytes | None = None
    for key, value in record.headers() or ():
        if key == SPRING_BACKOFF_HEADER:
            header = value
    if header is not None:
        return Due(spring_due(header), SPRING)
    at = envelope_due(record.value())
    return Due(at, ENVELOPE if at is not None else UNDATED)


def _read_dues(reader: PartitionReader, stop: threading.Event) -> dict[int, dict[int, Due]]:
    """Blocking: partition -> offset -> due of every record in the reader's ranges."""
    found: dict[int, dict[int, Due]] = {}
    for batch in reader.raw_batches(stop):
        for record in batch:
            found.setdefault(record.partition(), {})[record.offset()] = record_due(record)
    return found


class RetryTopics:
    """The retry topics of one broker, with the due times of the records already read."""

    def __init__(self, reads: Reads, rules: Collection[str], cap: int = PER_TOPIC_CAP) -> None:
        self.reads = reads
        self.rules = rules
        self.cap = cap
        self._dues: dict[TP, dict[int, Due]] = {}
        self.records_read = 0
        """Records asked of the broker so far (what remembering them saves)."""

    def names(self, round_: TopicRound) -> list[str]:
        metadata = round_[0]
        return [
            name for name in sorted(metadata.topics)
            if not is_internal(name) and retry_origin(name) is not None and dlq_origin(name, self.rules) is None
        ]  # fmt: skip

    async def schedules(
        self, clients: KafkaClients, round_: TopicRound, now: datetime | None = None
    ) -> list[RetrySchedule]:
        names = self.names(round_)
        if not names:
            return []
        metadata, low, high = round_
        starts = await self._starts(clients, names, round_)
        reads: dict[str, dict[int, tuple[int, int]]] = {}
        capped: set[str] = set()
        for name in names:
            partitions = sorted(metadata.topics[name].partitions)
            share = max(self.cap // max(len(partitions), 1), 1)
            for p in partitions:
                tp, end = (name, p), high.get((name, p)) or 0
                start = starts.get(tp, low.get(tp) or 0)
                known = self._dues.setdefault(tp, {})
                for offset in [o for o in known if o < start]:
                    del known[offset]  # consumed since: never asked about again
                if end - start > share:
                    capped.add(name)
                    end = start + share
                first = start
                while first < end and first in known:
                    first += 1
                if first < end:
                    reads.setdefault(name, {})[p] = (first, end)
        answered = await asyncio.gather(*(self._read(clients, name, ranges) for name, ranges in reads.items()))
        capped.update(name for name, done in zip(reads, answered, strict=True) if not done)
        moment = now or datetime.now(UTC)
        return [self._schedule(clients.name, name, metadata.topics[name].partitions, starts, round_, name in capped, moment)
                for name in names]  # fmt: skip

    async def _starts(self, clients: KafkaClients, names: list[str], round_: TopicRound) -> dict[TP, int]:
        """Each partition's first waiting offset: the lowest committed by any group on it. Only the retry
        topics' offsets are asked of each group (no describe: who the members are does not matter here)."""
        ids = await groups.group_ids(clients)
        if not ids:
            return {}
        metadata, low = round_[0], round_[1]
        tps = [(name, p) for name in names for p in sorted(metadata.topics[name].partitions)]
        answers = await asyncio.gather(*(clients.committed(group, tps) for group in ids), return_exceptions=True)
        starts: dict[TP, int] = {}
        for answer in answers:
            if isinstance(answer, BaseException):
                if not isinstance(answer, BrokerError) or isinstance(answer, BrokerUnavailable | AuthenticationFailed):
                    raise answer
                continue  # one group's offsets cannot be read (not authorized): the others still say
            for tp, position in answer.items():
                if position.offset >= 0:
                    starts[tp] = min(starts.get(tp, position.offset), position.offset)
        return {tp: max(offset, low.get(tp) or 0) for tp, offset in starts.items()}

    async def _read(self, clients: KafkaClients, topic: str, ranges: dict[int, tuple[int, int]]) -> bool:
        """Read the due times of `ranges` (partition -> first, end); False when the read failed, so the
        topic's counts are only what was read before (a lower bound) and the next poll tries again."""
        reader = PartitionReader(self.reads.settings(), self.reads.name, topic, {p: r[0] for p, r in ranges.items()},
                                 {p: r[1] for p, r in ranges.items()}, idle_timeout=clients.timeout)  # fmt: skip
        try:
            found = await self.reads.run(clients, _read_dues, reader)
        except BrokerError:
            return False
        for partition, dues in found.items():
            self.records_read += len(dues)
            self._dues.setdefault((topic, partition), {}).update(dues)
        return True

    def _schedule(self, broker: str, name: str, partitions: Collection[int], starts: dict[TP, int],
                  round_: TopicRound, capped: bool, now: datetime) -> RetrySchedule:  # fmt: skip
        low, high = round_[1], round_[2]
        dues: list[Due] = []
        for p in partitions:
            tp = (name, p)
            start, end = starts.get(tp, low.get(tp) or 0), high.get(tp) or 0
            known = self._dues.get(tp, {})
            dues.extend(known[o] for o in range(start, end) if o in known)
        counts = count_due((d.at for d in dues if d.at is not None), now)
        conventions = {d.convention for d in dues}
        undated = sum(1 for d in dues if d.at is None)
        convention = SPRING if SPRING in conventions else ENVELOPE if ENVELOPE in conventions else UNDATED
        return RetrySchedule(
            broker=broker,
            destination=name,
            convention=convention,
            origin=retry_origin(name),
            due_now=counts.due_now,
            due_later=counts.due_later,
            next_due_at=counts.next_due_at,
            overdue_since=counts.overdue_since,
            at_least=capped,
            unknown_reason=f"waiting records without a due time (not counted): {undated:,}" if undated else None,
        )
