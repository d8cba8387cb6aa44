"""Reading Kafka partitions without consuming them from anyone: by assignment, in batches, in a thread.

The consumer is assigned its partitions directly, so it never joins a group and nobody's rebalance is
disturbed; auto-commit is off and nothing is ever committed, so every group's offsets stay as they were.
librdkafka's consumer blocks, so it lives in a worker thread that hands whole batches to the event loop
through a bounded handover (at most `depth` batches in flight): a reader that stops pulling stops the
thread from fetching, and memory stays bounded by `depth` batches plus librdkafka's own pre-fetch.

This is the hot path of `mqtui tail --json`, so converting librdkafka's messages costs as little Python
as possible: timestamps are converted once per distinct millisecond and `Message` records are built
through their slot descriptors rather than the frozen dataclass `__init__` (half the cost per record).

`Reads` runs these readers for the adapter: bounded reads on its pool, live tails from a start position,
each stopped when the adapter closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
import time
import uuid
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import OffsetSpec

from mqtui.brokers.kafka.client import TP, KafkaClients, broker_error, consumer_settings
from mqtui.config import KafkaConfig
from mqtui.errors import BrokerUnavailable, UsageError
from mqtui.model import Message, StartPosition

BATCH_SIZE = 2000
"""Messages asked of librdkafka per call; one batch is also what the UI draws at once."""
POLL_SECONDS = 0.1
"""How long one `consume()` waits: the longest a stop request waits to be noticed."""
BOUNDED_POLL_SECONDS = 0.01
"""The same for a read that stops at given ends. `consume()` waits its whole timeout unless a full batch
arrives, so a bounded read's last, partial batch cost 0.1 s: every replay reads two or three of them."""
FETCH_QUEUE_BACKOFF_MS = 10
"""How long librdkafka holds back a partition's next fetch once its pre-fetch queue is full. Its default
(1000 ms) stalls any reader that does Python work per record: the queue fills while a batch is being
converted, and then nothing is fetched for a second (a 200,000-record read took 1.3 s instead of 0.3 s)."""
_END = object()
T = TypeVar("T")
_FIELDS = ("broker", "destination", "partition", "position", "timestamp", "key", "value", "headers", "redelivered")


def _message_builder() -> Callable[..., Message]:
    """Build `Message(*fields)` without the frozen dataclass's per-field `object.__setattr__` calls."""
    if tuple(f.name for f in dataclasses.fields(Message)) != _FIELDS:  # the model changed: stay correct
        return Message
    setters = [getattr(Message, name).__set__ for name in _FIELDS]
    s0, s1, s2, s3, s4, s5, s6, s7, s8 = setters
    new = object.__new__

    def build(broker: str, destination: str, partition: int, position: int, timestamp: datetime | None,
              key: bytes | None, value: bytes, headers: tuple, redelivered: int) -> Message:  # fmt: skip
        message = new(Message)
        s0(message, broker)
        s1(message, destination)
        s2(message, partition)
        s3(message, position)
        s4(message, timestamp)
        s5(message, key)
        s6(message, value)
        s7(message, headers)
        s8(message, redelivered)
        return message

    return build


build_message = _message_builder()


class PartitionReader:
    """Reads partitions of one topic from given offsets, forever or up to given end offsets.

    With `ends`, a partition is finished at its end offset (or when librdkafka reports the end of the
    partition, which also covers offsets that hold no record, such as transaction markers), and
    records at or past the end are not returned, so a reader started at a snapshot's watermarks
    returns exactly that snapshot. `idle_timeout` makes a reader that should finish give up with
    BrokerUnavailable instead of waiting forever for a broker that went away.

    `not_before` (epoch milliseconds) skips, on each partition, the records before the first one
    stamped at or after it: what a start offset found by time means. On a broker that answers
    ListOffsets-by-time correctly this drops nothing; tansu answers offset 0 for a partition whose
    records are all older, and this keeps such a tail from replaying the whole partition.
    """

    def __init__(
        self,
        settings: dict[str, Any],
        broker: str,
        topic: str,
        starts: dict[int, int],
        ends: dict[int, int] | None = None,
        *,
        idle_timeout: float | None = None,
        not_before: int | None = None,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.settings = settings
        self.broker = broker
        self.topic = topic
        self.starts = starts
        self.ends = ends
        self.idle_timeout = idle_timeout
        self.not_before = not_before
        self.batch_size = batch_size

    def batches(self, stop: threading.Event) -> Iterator[list[Message]]:
        """Blocking: yields non-empty batches of messages until finished or `stop` is set."""
        for raw in self.raw_batches(stop):
            yield self._convert(raw)

    def raw_batches(self, stop: threading.Event) -> Iterator[list[Any]]:
        """Like `batches`, as librdkafka's own records (for readers that only look at a header)."""
        ends = self.ends
        if ends is None:
            assigned = dict(self.starts)
        else:
            assigned = {p: o for p, o in self.starts.items() if o < ends.get(p, 0)}
            if not assigned:
                return
        # fetch.wait.max.ms stays librdkafka's 500 ms. A bounded read finishes a partition at the record
        # before its end offset, so it rarely waits for an empty fetch to learn of the end; and tansu
        # answers nothing at all when it takes longer than that wait to reach records deep in a long
        # partition (at 20 ms a search of the demo's 150,000-record topics read 0 records in 5 s).
        bounded = {"enable.partition.eof": True}
        settings = (
            self.settings | {"fetch.queue.backoff.ms": FETCH_QUEUE_BACKOFF_MS} | (bounded if ends is not None else {})
        )
        consumer = Consumer(settings)
        try:
            consumer.assign([TopicPartition(self.topic, p, o) for p, o in sorted(assigned.items())])
            pending = set(assigned)
            seeking = set(assigned) if self.not_before is not None else set()
            last_progress = time.monotonic()
            wait = POLL_SECONDS if ends is None else BOUNDED_POLL_SECONDS
            while not stop.is_set():
                raw = consumer.consume(self.batch_size, wait)
                if not raw:
                    if self.idle_timeout is not None and time.monotonic() - last_progress > self.idle_timeout:
                        raise BrokerUnavailable(
                            f"{self.broker}: reading {self.topic}: nothing arrived for {self.idle_timeout:g}s"
                        )
                    continue
                last_progress = time.monotonic()
                if ends is None:
                    raw = [record for record in raw if (error := record.error()) is None or self._fail(error)]
                else:
                    raw, finished = self._bounded(raw, ends, pending)
                    if finished:
                        pending -= finished
                        consumer.pause([TopicPartition(self.topic, p) for p in finished])
                if seeking:
                    raw = self._skip_older(raw, seeking)
                if raw:
                    yield raw
                if ends is not None and not pending:
                    return
        finally:
            with contextlib.suppress(Exception):
                consumer.close()

    def _fail(self, error: KafkaError) -> bool:
        """A consume error: ends of partitions are the caller's business, anything fatal raises."""
        code = error.code()
        if error.fatal() or code in (
            KafkaError.UNKNOWN_TOPIC_OR_PART,
            KafkaError._UNKNOWN_TOPIC,
            KafkaError._UNKNOWN_PARTITION,
            KafkaError.TOPIC_AUTHORIZATION_FAILED,
            KafkaError._AUTHENTICATION,
        ):
            raise broker_error(self.broker, f"reading {self.topic}", error)
        return False

    def _skip_older(self, raw: list[Any], seeking: set[int]) -> list[Any]:
        """Drop records older than `not_before` until each partition shows its first newer one."""
        kept = []
        for record in raw:
            partition = record.partition()
            if partition in seeking:
                if record.timestamp()[1] < self.not_before:
                    continue
                seeking.discard(partition)
            kept.append(record)
        return kept

    def _convert(self, raw: list[Any]) -> list[Message]:
        """librdkafka records (without errors) as Messages: the per-record hot loop of every tail."""
        broker, topic, build = self.broker, self.topic, build_message
        last_millis: int | None = None
        last_time: datetime | None = None
        batch: list[Message] = []
        append = batch.append
        for record in raw:
            millis = record.timestamp()[1]
            if millis != last_millis:
                last_millis = millis
                last_time = datetime.fromtimestamp(millis / 1000, UTC) if millis > 0 else None
            headers = record.headers()
            append(build(broker, topic, record.partition(), record.offset(), last_time, record.key(),
                         record.value() or b"", tuple(headers) if headers else (), 0))  # fmt: skip
        return batch

    def _bounded(self, raw: list[Any], ends: dict[int, int], pending: set[int]) -> tuple[list[Any], set[int]]:
        """The records before each partition's end, and the partitions this batch finished."""
        kept: list[Any] = []
        finished: set[int] = set()
        for record in raw:
            error = record.error()
            partition = record.partition()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF and partition in pending:
                    finished.add(partition)
                else:
                    self._fail(error)
                continue
            if partition not in pending or partition in finished:
                continue
            offset = record.offset()
            end = ends[partition]
            if offset >= end:
                finished.add(partition)
                continue
            kept.append(record)
            if offset >= end - 1:
                finished.add(partition)
        return kept, finished


def first_offsets_since(reader: PartitionReader, stop: threading.Event) -> dict[int, int]:
    """Blocking: each partition's offset of its first record stamped at or after `reader.not_before`.

    Used to check a ListOffsets-by-time answer: on Apache Kafka it reads one record per partition; on
    tansu, which answers by append time rather than record time, it walks on to the right record. A
    partition without such a record before its end maps to its end.
    """
    assert reader.ends is not None and reader.not_before is not None
    found: dict[int, int] = {}
    wanted = {p for p, o in reader.starts.items() if o < reader.ends.get(p, 0)}
    for batch in reader.batches(stop):
        for message in batch:
            found.setdefault(message.partition or 0, int(message.position))
        if wanted <= set(found):
            break
    return {p: found.get(p, reader.ends[p]) for p in reader.starts}


async def stream_batches(
    reader: PartitionReader, stop: threading.Event, depth: int = 4
) -> AsyncGenerator[list[Message], None]:
    """Run `reader` in its own thread and yield its batches; closing the iterator stops the thread."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()
    slots = threading.Semaphore(depth)

    def hand_over(item: object) -> bool:
        while not slots.acquire(timeout=POLL_SECONDS):
            if stop.is_set():
                return False
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is gone: nobody is listening any more
            stop.set()
            return False
        return True

    def pump() -> None:
        final: object = _END
        try:
            for batch in reader.batches(stop):
                if not hand_over(batch):
                    break
        except BaseException as exc:
            final = exc
        finally:  # always tell the reader we are done, even when stopped from outside
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(queue.put_nowait, final)

    thread = threading.Thread(target=pump, name=f"mqtui-kafka-tail-{reader.topic}", daemon=True)
    thread.start()
    try:
        while True:
            item = await queue.get()
            slots.release()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        await asyncio.to_thread(thread.join, 5.0)


def time_offset(found: int | None, low: int, high: int) -> int:
    """ListOffsets by time answers -1 when every record is older: then the position is the end."""
    if found is None or found < 0:
        return high
    return min(max(found, low), high)


async def kind_offsets(
    clients: KafkaClients, tps: list[TP], start: StartPosition, lows: dict[int, int], highs: dict[int, int]
) -> dict[int, int]:
    """Where each partition starts for `start` (beginning, end, an offset, a time), kept inside what it
    holds: a tail and a search start the same way."""
    if start.kind == "beginning":
        return dict(lows)
    if start.kind == "end":
        return dict(highs)
    if start.kind == "offset":
        offset = start.offset
        if not isinstance(offset, int):
            raise UsageError(f"a Kafka offset is a number, not {offset!r}")
        # The same offset on every partition (like kcat -o N), kept inside what each partition holds.
        return {p: min(max(offset, lows[p]), highs[p]) for p in lows}
    assert start.time is not None
    millis = int(start.time.timestamp() * 1000)
    found = await clients.offsets(tps, OffsetSpec.for_timestamp(millis), "find offsets by time")
    return {p: time_offset(found.get((t, p)), lows[p], highs[p]) for t, p in tps}


def _collect(reader: PartitionReader, stop: threading.Event) -> list[Message]:
    return [message for batch in reader.batches(stop) for message in batch]


class Reads:
    """One adapter's partition reads: bounded ones on the clients' pool and live tails, every one
    stopped when the adapter closes (`stop_all`)."""

    def __init__(self, config: KafkaConfig) -> None:
        self.config = config
        self.name = config.name
        self._stops: set[threading.Event] = set()

    def settings(self) -> dict[str, Any]:
        """A consumer under a throwaway group id: it is only assigned partitions, never joins or commits."""
        return consumer_settings(self.config, f"mqtui-read-{uuid.uuid4().hex[:12]}")

    def stop_all(self) -> None:
        for stop in list(self._stops):
            stop.set()

    async def collect(self, clients: KafkaClients, reader: PartitionReader) -> list[Message]:
        """Every message of a bounded reader, read on the pool (never on the event loop)."""
        return await self.run(clients, _collect, reader)

    async def run(
        self, clients: KafkaClients, func: Callable[[PartitionReader, threading.Event], T], reader: PartitionReader
    ) -> T:
        """Run a blocking read on the pool; closing the adapter or cancelling the caller stops it."""
        return await self.call(clients, f"reading {reader.topic}", lambda stop: func(reader, stop))

    async def call(self, clients: KafkaClients, action: str, func: Callable[[threading.Event], T]) -> T:
        """Run `func(stop)` on the pool; closing the adapter or cancelling the caller sets `stop`."""
        stop = threading.Event()
        self._stops.add(stop)
        try:
            return await asyncio.get_running_loop().run_in_executor(clients.pool, func, stop)
        except KafkaException as exc:
            raise broker_error(self.name, action, exc) from None
        finally:
            stop.set()
            self._stops.discard(stop)

    async def tail(
        self, clients: KafkaClients, destination: str, *, start: StartPosition, stop_at_end: bool
    ) -> AsyncGenerator[Sequence[Message], None]:
        """Batches of `destination` from `start`, read by assignment (no group joined, nothing committed)."""
        partitions = await clients.partitions(destination)
        tps = [(destination, p) for p in partitions]
        lows, highs = await clients.bounds(destination, tps)
        starts = await kind_offsets(clients, tps, start, lows, highs)
        for partition, offset in start.partition_offsets:
            if partition in starts:
                # Past the end: the partition was truncated or the topic recreated, so all it holds is new.
                starts[partition] = lows[partition] if offset > highs[partition] else max(offset, lows[partition])
        ends = dict(highs) if stop_at_end else None
        not_before = int(start.time.timestamp() * 1000) if start.kind == "time" and start.time else None
        # A live tail waits for new messages for as long as it runs; one that should end must not wait
        # forever for a broker that went away.
        idle = self.config.timeout if stop_at_end else None
        reader = PartitionReader(
            self.settings(), self.name, destination, starts, ends, not_before=not_before, idle_timeout=idle
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
