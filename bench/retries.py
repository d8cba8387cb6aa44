"""Retry schedules: what counting parked retries adds to a poll, against the least a client could do.

Kafka: a Spring retry topic `orders-retry-0` of 4 partitions holding 10,000 records, each with a
`retry_topic-backoff-timestamp` header (BigInteger bytes), no group committed (all are waiting: exactly
the per-topic cap). mqtui: `KafkaAdapter.retry_schedules()` on a fresh adapter (the first poll reads
every record) and again on the same adapter (a steady poll: nothing appended, every due time
remembered). Baseline: one bare confluent-kafka consumer assigned the four partitions, reading every
record to its end and decoding the header, the least any reader of due times has to do.

Redis: the sorted set `jobs:retry` with 100,000 members scored in epoch ms. mqtui:
`RedisAdapter.retry_schedules()` (a bounded SCAN step, then two pipelined rounds). Baseline: one
pipeline of ZCARD, ZCOUNT and ZRANGEBYSCORE LIMIT 1 on the key, already known.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from common import QUIET, figure, header, local_brokers, median, note
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from kafka_data import BULK, SINGLE, create_topics

from mqtui.brokers.kafka.adapter import KafkaAdapter
from mqtui.brokers.redis.adapter import RedisAdapter
from mqtui.brokers.retries import SPRING_BACKOFF_HEADER
from mqtui.config import KafkaConfig, RedisConfig

TOPIC, PARTITIONS, RECORDS = "orders-retry-0", 4, 10_000
ZSET, MEMBERS = "jobs:retry", 100_000
RUNS = 5


def big_integer(millis: int) -> bytes:
    return millis.to_bytes(millis.bit_length() // 8 + 1, "big", signed=True)


def fill_retry_topic(url: str) -> None:
    """RECORDS records with due times 0-RECORDS s from now; the last of each partition in a batch of its
    own, so tansu's high watermark is the true end (see kafka_data)."""
    now = int(time.time() * 1000)
    per_partition = RECORDS // PARTITIONS
    bulk = Producer({"bootstrap.servers": url, **BULK, **QUIET})
    single = Producer({"bootstrap.servers": url, **SINGLE, **QUIET})
    for p in range(PARTITIONS):
        for i in range(per_partition):
            producer = single if i == per_partition - 1 else bulk
            if producer is single and bulk.flush(120) != 0:
                raise RuntimeError("bulk produce did not finish")
            headers = [(SPRING_BACKOFF_HEADER, big_integer(now + (p * per_partition + i) * 1000))]
            while True:
                try:
                    producer.produce(TOPIC, b"x" * 200, partition=p, headers=headers)
                    break
                except BufferError:
                    producer.poll(0.01)
            if producer is single:
                single.flush(30)


def raw_read(url: str) -> int:
    """Every record of the topic by assignment, its due time decoded: how many were read."""
    consumer = Consumer({"bootstrap.servers": url, "group.id": "bench-retries-raw", "enable.partition.eof": True,
                         "enable.auto.commit": False, "fetch.wait.max.ms": 20, **QUIET})  # fmt: skip
    read, ended = 0, set()
    try:
        consumer.assign([TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)])
        while len(ended) < PARTITIONS:
            for record in consumer.consume(5000, 0.1):
                error = record.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        ended.add(record.partition())
                    continue
                for key, value in record.headers() or ():
                    if key == SPRING_BACKOFF_HEADER:
                        int.from_bytes(value, "big", signed=True)
                read += 1
    finally:
        consumer.close()
    return read


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return time.perf_counter() - started


async def bench_kafka(url: str) -> None:
    create_topics(url, [TOPIC], PARTITIONS)
    fill_retry_topic(url)
    first, steady, raw = [], [], []
    for _ in range(RUNS):
        adapter = KafkaAdapter(KafkaConfig(name="bench-kafka", url=url, timeout=30))
        await adapter.connect()
        try:
            first.append(await timed(adapter.retry_schedules))
            steady.append(await timed(adapter.retry_schedules))
            [schedule] = await adapter.retry_schedules()
        finally:
            await adapter.close()
        started = time.perf_counter()
        assert await asyncio.to_thread(raw_read, url) == RECORDS
        raw.append(time.perf_counter() - started)
    note(f"kafka: {schedule.due_now} due now, {schedule.due_later} due later, capped {schedule.at_least}")
    base = median(raw)
    figure("kafka retry topic 10,000 records: first poll", f"{median(first) * 1000:.0f} ms",
           f"raw read {base * 1000:.0f} ms", median(first) / base)  # fmt: skip
    figure("kafka retry topic: steady poll (remembered)", f"{median(steady) * 1000:.0f} ms",
           f"raw read {base * 1000:.0f} ms", median(steady) / base)  # fmt: skip


async def bench_redis(url: str) -> None:
    client = aioredis.Redis.from_url(url)
    now = int(time.time() * 1000)
    for start in range(0, MEMBERS, 10_000):
        await client.zadd(ZSET, {f"job-{i}": now - 50_000_000 + i * 1000 for i in range(start, start + 10_000)})
    adapter = RedisAdapter(RedisConfig(name="bench-redis", url=url, timeout=30))
    await adapter.connect()

    async def raw() -> None:
        pipe = client.pipeline(transaction=False)
        pipe.zcard(ZSET)
        pipe.zcount(ZSET, "-inf", now)
        pipe.zrangebyscore(ZSET, f"({now}", "+inf", start=0, num=1, withscores=True)
        await pipe.execute()

    mqtui, baseline = [], []
    try:
        for _ in range(RUNS * 4):
            mqtui.append(await timed(adapter.retry_schedules))
            baseline.append(await timed(raw))
        [schedule] = await adapter.retry_schedules()
    finally:
        await adapter.close()
        await client.aclose()
    note(f"redis: {schedule.due_now} due now, {schedule.due_later} due later")
    figure("redis zset of 100,000 retries", f"{median(mqtui) * 1000:.1f} ms",
           f"one pipeline {median(baseline) * 1000:.1f} ms", median(mqtui) / median(baseline))  # fmt: skip


def main() -> None:
    header("retry schedules: counting parked retries vs the least a client could do")
    with local_brokers("kafka", "redis") as brokers:
        asyncio.run(bench_kafka(brokers["kafka"].url))
        asyncio.run(bench_redis(brokers["redis"].url))


if __name__ == "__main__":
    main()
