"""Kafka time lag: when the oldest record a group has not consumed yet was written.

That record is the one at the group's committed offset (or at the low watermark where nothing was
committed). Its timestamp is read with one consumer assigned to every partition that needs it, at
those offsets (no group joined, nothing committed), polling until each partition gave its first
record or the broker's timeout passed. Timestamps are remembered per (topic, partition, offset), so a
group that did not move costs no read on the next poll; only the offsets that moved are read again.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, KafkaError, TopicPartition

from mqtui.brokers.kafka.client import TP, KafkaClients
from mqtui.brokers.kafka.tail import BOUNDED_POLL_SECONDS, Reads
from mqtui.errors import BrokerError

CACHE_LIMIT = 100_000
"""Timestamps remembered at most; the oldest remembered go first (a few MB at the limit)."""
BATCH_SIZE = 5000
"""Records asked of librdkafka per call while looking for each partition's first record."""
ROUNDS = 4
"""Reads at most sent side by side for one poll (the adapter's pool has four threads)."""
READ_SHARE = 0.5
"""Share of the broker's timeout the read may take: the poller bounds the whole backlog call by that
timeout, so a slow read (tansu under the demo's load) leaves the rest untold this poll rather than
failing the lag counts with it."""
KEY = tuple[str, int, int]
"""(topic, partition, offset): where a waiting record is."""


def first_timestamps(settings: dict[str, Any], wanted: dict[TP, int], timeout: float,
                     stop: threading.Event) -> dict[TP, datetime | None]:  # fmt: skip
    """Blocking: the timestamp of each partition's first record at or after its offset in `wanted`.

    One consumer is assigned every partition; a partition is paused once its first record (or its
    end) showed. A partition answered with its end, or whose record carries no timestamp, maps to
    None; one that answered nothing within `timeout` is left out.
    """
    if not wanted:
        return {}
    consumer = Consumer(
        settings
        | {
            "enable.partition.eof": True,
            # fetch.wait.max.ms stays librdkafka's 500: a broker answers as soon as a record is there,
            # but tansu gives nothing when it takes longer than the wait to reach an offset deep in a
            # partition (at 20 ms no demo group 60,000 records in ever had a time lag).
            # Only the first record of each partition is wanted: keep every fetch small.
            "max.partition.fetch.bytes": 64 * 1024,
            "queued.max.messages.kbytes": 8 * 1024,
        }
    )
    found: dict[TP, datetime | None] = {}
    try:
        consumer.assign([TopicPartition(t, p, o) for (t, p), o in wanted.items()])
        deadline = time.monotonic() + timeout
        while len(found) < len(wanted) and not stop.is_set() and time.monotonic() < deadline:
            done: list[TopicPartition] = []
            for record in consumer.consume(BATCH_SIZE, BOUNDED_POLL_SECONDS):
                tp = (record.topic(), record.partition())
                if tp in found or tp not in wanted:
                    continue
                error = record.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        continue  # this partition stays untold; the lag itself does not depend on it
                    if (record.offset() or 0) < wanted[tp]:
                        continue  # an end reported before the assigned offset was even fetched
                    found[tp] = None
                elif (record.offset() or 0) < wanted[tp]:
                    continue
                else:
                    millis = record.timestamp()[1]
                    found[tp] = datetime.fromtimestamp(millis / 1000, UTC) if millis > 0 else None
                done.append(TopicPartition(*tp))
            if done:
                consumer.pause(done)
    finally:
        with contextlib.suppress(Exception):
            consumer.close()
    return found


class OldestWaiting:
    """One adapter's reader of oldest-waiting timestamps, with its cache."""

    def __init__(self, reads: Reads, limit: int = CACHE_LIMIT) -> None:
        self.reads = reads
        self.limit = limit
        self._times: dict[KEY, datetime] = {}
        self.partitions_read = 0
        """Partitions asked of the broker so far (what the cache saves)."""

    async def times(self, clients: KafkaClients, positions: Collection[KEY]) -> Mapping[KEY, datetime]:
        """The timestamp of the first record at each (topic, partition, offset), read where not known
        yet; a position that could not be read is missing (the next poll tries again)."""
        wanted: dict[TP, set[int]] = {}
        for key in positions:
            if key not in self._times:
                wanted.setdefault((key[0], key[1]), set()).add(key[2])
        # A consumer reads a partition from one offset: groups at different offsets of one partition
        # need one read each, sent side by side (at most ROUNDS per poll; the rest on the next ones).
        rounds: list[dict[TP, int]] = []
        for tp, offsets in wanted.items():
            for depth, offset in enumerate(sorted(offsets)[:ROUNDS]):
                if depth == len(rounds):
                    rounds.append({})
                rounds[depth][tp] = offset
        if rounds:
            await asyncio.gather(*(self._read(clients, missing) for missing in rounds))
        return self._times

    async def _read(self, clients: KafkaClients, missing: dict[TP, int]) -> None:
        self.partitions_read += len(missing)
        settings = self.reads.settings()
        try:
            found = await self.reads.call(
                clients, "reading oldest waiting records",
                lambda stop: first_timestamps(settings, missing, clients.timeout * READ_SHARE, stop),
            )  # fmt: skip
        except BrokerError:
            return  # time lag stays untold this poll; the counts are still right
        for tp, when in found.items():
            if when is not None:
                self._times[(*tp, missing[tp])] = when
        while len(self._times) > self.limit:
            del self._times[next(iter(self._times))]
