"""Sending a Kafka replay's dead letters: a window of copies in flight, settled in the order they were sent.

Each copy carries its key, its headers and `mqtui-replayed-from: <dlq>/<partition>/<offset>` plus
`mqtui-replayed-at`. Up to `WINDOW` are in flight at once (the idempotent producer keeps their order
per partition): waiting for each report before sending the next would cap a replay at one broker round
trip per dead letter. Each planned dead letter (`Entry`) is its own delivery callback.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka import Message as KafkaRecord

from mqtui.brokers.kafka.dlq import original_value
from mqtui.errors import BrokerUnavailable
from mqtui.model import ProgressCallback, ReplayItem

#: Record headers as librdkafka hands them over and takes them.
Headers = list[tuple[str, bytes | str | None]]

REPLAYED_FROM = "mqtui-replayed-from"
REPLAYED_AT = "mqtui-replayed-at"
WINDOW = 5000
"""Dead letters sent and not yet confirmed at any moment. Fewer hold the producer back: on tansu a bare
producer loop with 2,000 in flight sent 200,000 records in 0.74-0.84 s, 0.55-0.62 s unbounded or with
5,000 (500 held a replay to 0.4x of the bare producer)."""
POLL_EVERY = 200
"""Sends between two collections of delivery reports, while the window is not full."""


@dataclass(slots=True)
class Entry:
    """One dead letter in a plan (one per dead letter listed: slots keep 200,000 of them small)."""

    partition: int
    offset: int
    timestamp_ms: int | None
    target: str | None
    skip: str | None = None
    copy_found: bool = False
    """Its copy is already at the target but was never recorded (a run died before committing)."""
    unverified: bool = False
    """It may have been in flight when a run died and the copy search could not look back far enough."""
    envelope: bool = False
    """Its value is a JSON dead-letter envelope: what is sent is the envelope's original message."""
    reported: bool = False
    """Its delivery report came (while it is being sent)."""
    error: KafkaError | None = None
    """What its delivery report said went wrong, if anything."""

    def __call__(self, error: KafkaError | None, _record: KafkaRecord) -> None:
        """Its own delivery callback: no closure or bound method to make (and collect) per send."""
        self.error = error
        self.reported = True

    @property
    def id(self) -> str:
        return f"{self.partition}:{self.offset}"

    def item(self) -> ReplayItem:
        return ReplayItem(id=self.id, target=self.target or "?", skip_reason=self.skip)


GIVE_UP = {KafkaError._MSG_TIMED_OUT, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN, KafkaError._AUTHENTICATION}


class Window:
    """Dead letters sent but not yet confirmed, settled in the order they were sent.

    Delivery reports are collected every `POLL_EVERY` sends and whenever the window is full, and handed
    to `settle` as one list: polling librdkafka after every send cost more than the send itself. Each
    dead letter is its own delivery callback (`Entry.__call__`). After each collection `pace` may hold
    the next send back (the progress commits) and `halted` may stop the sending.
    """

    def __init__(
        self, producer: Producer, broker: str, dlq: str, timeout: float, settle: Callable[[list[Entry]], None],
        pace: Callable[[], None], halted: Callable[[], bool],
    ) -> None:  # fmt: skip
        self.producer = producer
        self.broker = broker
        self.dlq = dlq
        self.timeout = timeout
        self.settle = settle
        self.pace = pace
        self.halted = halted
        self.in_flight: collections.deque[Entry] = collections.deque()
        self.unpolled = 0
        self.prefixes: dict[int, bytes] = {}
        """DLQ partition -> b"<dlq>/<partition>/", the start of its `mqtui-replayed-from` values."""

    def send(self, batch: list[KafkaRecord], unsent: dict[int, dict[int, Entry]], replayed_at: bytes) -> None:
        """Produce the dead letters of `batch` (librdkafka's records) that `unsent` holds, taking each out of
        it as it goes, with the replay headers; stops early once `halted()` says so.

        The per-dead-letter hot loop of a replay: what the producer gets is built inline, and only every
        `POLL_EVERY` sends (or a full window) costs more.
        """
        produce, in_flight, prefixes = self.producer.produce, self.in_flight, self.prefixes
        at = (REPLAYED_AT, replayed_at)
        for record in batch:
            partition, offset = record.partition(), record.offset()
            assert partition is not None and offset is not None  # a consumed record has both
            entry = unsent[partition].pop(offset, None)
            if entry is None:
                continue
            assert entry.target is not None  # only entries with a target are sent
            prefix = prefixes.get(partition) or prefixes.setdefault(partition, f"{self.dlq}/{partition}/".encode())
            replayed_from = (REPLAYED_FROM, b"%s%d" % (prefix, entry.offset))
            headers = record.headers()
            headers = [*headers, replayed_from, at] if headers else [replayed_from, at]
            value = record.value() or b""
            if entry.envelope:
                value = original_value(value) or b""  # the plan checked it has one (records never change)
            try:
                produce(entry.target, value, record.key(), on_delivery=entry, headers=headers)
            except (BufferError, KafkaException):
                self._produce_slowly(entry, value, record.key(), headers)
            in_flight.append(entry)
            self.unpolled += 1
            if self.unpolled >= POLL_EVERY or len(in_flight) >= WINDOW:
                self._collect()
                if self.halted():
                    return

    def _produce_slowly(self, entry: Entry, value: bytes, key: bytes | None, headers: Headers) -> None:
        """`produce` again while librdkafka's queue is full, or the refusal as the dead letter's report."""
        assert entry.target is not None
        while True:
            try:
                self.producer.produce(entry.target, value, key, on_delivery=entry, headers=headers)
                return
            except BufferError:  # librdkafka's queue is full: let deliveries drain it
                self.producer.poll(0.05)
            except KafkaException as exc:  # refused before sending (too large for the producer, say)
                error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
                entry.error, entry.reported = error or KafkaError(KafkaError._FAIL, str(exc)), True
                return

    def _collect(self) -> None:
        """Settle the reports that came, wait while the window is full, then `pace`."""
        self.unpolled = 0
        self.producer.poll(0)
        self._settle_ready()
        if len(self.in_flight) >= WINDOW:
            deadline = time.monotonic() + self.timeout + 1
            while len(self.in_flight) >= WINDOW and time.monotonic() < deadline:
                self.producer.poll(0.05)
                self._settle_ready()
            if len(self.in_flight) >= WINDOW:
                raise BrokerUnavailable(
                    f"{self.broker}: replay of {self.dlq}: no delivery report within {self.timeout:g}s"
                )
        self.pace()

    def drain(self) -> None:
        """Wait for every report still due (bounded by message.timeout.ms) and settle them."""
        deadline = time.monotonic() + self.timeout + 1
        while self.in_flight and time.monotonic() < deadline:
            self.producer.flush(min(0.1, max(0.0, deadline - time.monotonic())))
            self._settle_ready()

    def abandon(self) -> None:
        """Settle what already has a report; the rest failed as far as anyone can know here."""
        self._settle_ready()
        lost = KafkaError(KafkaError._MSG_TIMED_OUT, "no delivery report")
        for entry in self.in_flight:
            entry.error = lost
        self.settle(list(self.in_flight))
        self.in_flight.clear()

    def _settle_ready(self) -> None:
        in_flight = self.in_flight
        ready: list[Entry] = []
        while in_flight and in_flight[0].reported:
            ready.append(in_flight.popleft())
        if ready:
            self.settle(ready)


@dataclass
class Tally:
    """Counts of a replay in progress, reported to the caller a few times a second at most."""

    total: int
    report: ProgressCallback | None
    sent: int = 0
    failed: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)
    last_report: float = 0.0

    def tick(self, *, force: bool = False) -> None:
        if self.report is None:
            return
        now = time.monotonic()
        if force or now - self.last_report >= 0.1:
            self.last_report = now
            self.report(self.sent + self.failed, self.total)
