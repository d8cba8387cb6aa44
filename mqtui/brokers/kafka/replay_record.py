"""What a Kafka replay records in its consumer group, and the commits that record it.

The replay group's committed offset on a DLQ partition is a floor: every dead letter below it was
replayed. Dead letters replayed out of order (`--id`) go into the commit's metadata as spans, which
Apache Kafka keeps (tansu drops it). `Recorder` sends those commits with explicit offsets
(AlterConsumerGroupOffsets: the group never has members) without holding up the sending.
"""

from __future__ import annotations

import concurrent.futures
import time
from dataclasses import dataclass, field

import orjson
from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

from mqtui.brokers.kafka.client import KafkaClients, error_text
from mqtui.errors import BrokerUnavailable

_METADATA_VERSION = 1


@dataclass
class Progress:
    """What the replay group says was replayed from one DLQ partition."""

    floor: int = 0
    """Committed offset: every dead letter below it was replayed."""
    done: set[int] = field(default_factory=set)
    """Replayed offsets at or above the floor (kept in commit metadata where the broker stores it)."""
    committed_at_ms: int | None = None

    @classmethod
    def from_commit(cls, committed: TopicPartition | None) -> Progress:
        if committed is None or committed.offset < 0:
            return cls()
        progress = cls(floor=committed.offset)
        try:
            record = orjson.loads(committed.metadata or "")
        except orjson.JSONDecodeError:
            return progress
        if not isinstance(record, dict) or record.get("v") != _METADATA_VERSION:
            return progress
        if isinstance(record.get("t"), int):
            progress.committed_at_ms = record["t"]
        for span in record.get("done") or ():
            if isinstance(span, list) and len(span) == 2 and all(isinstance(x, int) for x in span):
                progress.done.update(range(max(span[0], progress.floor), span[1] + 1))
        return progress

    def record(self, offset: int) -> None:
        if offset == self.floor and not self.done:  # the usual case: dead letters replayed in order
            self.floor += 1
            return
        self.done.add(offset)
        while self.floor in self.done:
            self.done.discard(self.floor)
            self.floor += 1

    def record_all(self, offsets: list[int]) -> None:
        """`record` of each of `offsets`, which increase: a run starting at the floor moves it at once."""
        if offsets and not self.done and offsets[0] == self.floor and offsets[-1] - self.floor == len(offsets) - 1:
            self.floor = offsets[-1] + 1
            return
        for offset in offsets:
            self.record(offset)

    def metadata(self) -> str:
        spans: list[list[int]] = []
        for offset in sorted(self.done):
            if spans and spans[-1][1] == offset - 1:
                spans[-1][1] = offset
            else:
                spans.append([offset, offset])
        return orjson.dumps({"v": _METADATA_VERSION, "t": int(time.time() * 1000), "done": spans}).decode()


class Recorder:
    """Commits replay progress for the replay group with explicit offsets (AlterConsumerGroupOffsets).

    A commit is cumulative (a floor per partition), so one is in flight at a time and those asked for
    meanwhile are merged into the next: the send loop does not wait for commits, except that it calls
    `keep_within(MAX_UNRECORDED)` before each send, so it never runs more than that many delivered dead
    letters ahead of the last acknowledged commit, which bounds what a crash can leave unrecorded.
    `record(wait=True)` waits, bounded by the broker's timeout, until
    everything asked for so far is committed, and raises BrokerUnavailable if it is not. Admin requests
    carry their own timeout, so nothing here hangs on a broker that died (a consumer's commit or close
    can).
    """

    def __init__(self, clients: KafkaClients, group: str) -> None:
        self.clients = clients
        self.group = group
        self.waiting: dict[tuple[str, int], Progress] = {}
        self.waiting_count = 0
        self.in_flight: concurrent.futures.Future | None = None
        self.in_flight_count = 0

    def record(self, dlq: str, partition: int, progress: Progress, *, wait: bool = True, count: int = 1) -> None:
        """Ask for `progress` (`count` more dead letters delivered) to be committed; never blocks
        unless `wait`."""
        self.waiting[(dlq, partition)] = progress  # read when the commit is sent: the newest state goes
        self.waiting_count += count
        self._pump()
        if wait:
            self._settle(f"{dlq}[{partition}]", limit=0)

    def keep_within(self, limit: int, dlq: str) -> None:
        """Wait until at most `limit` recorded dead letters are not yet acknowledged by a commit."""
        if self.waiting_count + self.in_flight_count > limit:
            self._settle(dlq, limit=limit)

    def _settle(self, what: str, *, limit: int) -> None:
        deadline = time.monotonic() + self.clients.timeout
        while self.in_flight is not None and self.waiting_count + self.in_flight_count > limit:
            failure = self._answer(self.in_flight, max(0.0, deadline - time.monotonic()))
            if failure is not None:
                raise BrokerUnavailable(f"{self.clients.name}: could not record replay progress of {what}: {failure}")
            self.in_flight, self.in_flight_count = None, 0
            self._pump()

    @staticmethod
    def _answer(future: concurrent.futures.Future, timeout: float) -> str | None:
        """None when the commit was accepted for every partition, else why not."""
        try:
            answer = future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            return "no answer in time"
        except Exception as exc:
            return error_text(exc)
        errors = [tp.error for tp in answer.topic_partitions or () if tp.error is not None]
        return error_text(errors[0]) if errors else None

    def _pump(self) -> None:
        """Send what is waiting unless a commit is still in flight (its answer lets the next go)."""
        if self.in_flight is not None:
            if not self.in_flight.done():
                return
            # A failed commit is superseded by the next one; only the last one has to succeed.
            self.in_flight, self.in_flight_count = None, 0
        if not self.waiting:
            return
        offsets = [
            TopicPartition(t, p, progress.floor, metadata=progress.metadata())
            for (t, p), progress in self.waiting.items()
        ]
        request = ConsumerGroupTopicPartitions(self.group, offsets)
        futures = self.clients.admin.alter_consumer_group_offsets([request], request_timeout=self.clients.timeout)
        self.in_flight, self.in_flight_count = futures[self.group], self.waiting_count
        self.waiting, self.waiting_count = {}, 0
