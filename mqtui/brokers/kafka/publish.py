"""Publishing to Kafka: an idempotent producer, made on first use, waiting for every delivery report.

The only `--prop` is `partition`; without it, Java's key partitioner places each message. A publish
that reached no broker at all is one BrokerUnavailable rather than one failure per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka import Message as KafkaRecord

from mqtui.brokers.base import PublishOptions
from mqtui.brokers.kafka.client import UNAVAILABLE_CODES, KafkaClients, error_code, error_text, producer_settings
from mqtui.config import KafkaConfig
from mqtui.errors import BrokerUnavailable, NotFound, UsageError
from mqtui.model import OutgoingMessage, PublishResult

#: What a delivery report said: the error (None when delivered) and the record as delivered.
Report = tuple[KafkaError | BaseException | None, KafkaRecord | None]
#: librdkafka's RD_KAFKA_PARTITION_UA, `produce`'s default: the partitioner chooses.
_ANY_PARTITION = -1


class Publisher:
    """One adapter's producer, made on the first publish and flushed when the adapter closes."""

    def __init__(self, config: KafkaConfig) -> None:
        self.config = config
        self.name = config.name
        self._producer: Producer | None = None

    async def publish(
        self,
        clients: KafkaClients,
        destination: str,
        messages: Sequence[OutgoingMessage],
        options: PublishOptions | None,
    ) -> PublishResult:
        partition = _partition(options)
        partitions = await clients.partitions(destination)
        if partition is not None and partition not in partitions:
            raise NotFound(
                f"{self.name}: topic {destination!r} has no partition {partition} (it has {len(partitions)})"
            )
        if self._producer is None:
            self._producer = Producer(producer_settings(self.config))
        producer = self._producer
        result, unreachable = await asyncio.get_running_loop().run_in_executor(
            clients.pool, _produce_all, producer, destination, list(messages), partition, self.config.timeout
        )
        if unreachable:
            raise BrokerUnavailable(f"{self.name}: publish to {destination}: {result.failed[0][1]}")
        return result

    async def close(self, clients: KafkaClients | None) -> None:
        """Flush what is still queued (for a second at most) and drop the producer."""
        producer, self._producer = self._producer, None
        if producer is not None and clients is not None:
            with contextlib.suppress(Exception):
                await asyncio.get_running_loop().run_in_executor(clients.pool, producer.flush, 1.0)


def _partition(options: PublishOptions | None) -> int | None:
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
    reports: list[Report | None] = [None] * len(messages)

    def reporter(index: int) -> Callable[[KafkaError | None, KafkaRecord], None]:
        def report(error: KafkaError | None, record: KafkaRecord) -> None:
            reports[index] = (error, record)

        return report

    chosen = _ANY_PARTITION if partition is None else partition
    for index, message in enumerate(messages):
        headers = [(name, _header_value(value)) for name, value in message.headers] or None
        while True:
            try:
                producer.produce(topic, value=message.value, key=message.key, headers=headers,
                                 on_delivery=reporter(index), partition=chosen)  # fmt: skip
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
            assert record is not None  # a delivered message's report carries it
            positions.append(f"{record.partition()}:{record.offset()}")
    result = PublishResult(sent=len(positions), failed=tuple(failed), positions=tuple(positions))
    return result, bool(messages) and unreachable == len(messages)
