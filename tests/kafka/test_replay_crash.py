"""Replays interrupted by kill -9: of the mqtui process (rerun: every dead letter exactly once) and of
the broker (the replay ends with a clear error instead of hanging)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka import Producer, TopicPartition
from confluent_kafka.admin import OffsetSpec

from mqtui.brokers.kafka.adapter import KafkaAdapter
from mqtui.config import KafkaConfig
from mqtui.demo.localbrokers import LocalKafka
from tests.kafka.conftest import QUIET, KafkaTools, Record
from tests.kafka.test_dlq import spring_headers
from tests.kafka.test_replay import replayed_copies

COUNT = 20_000
"""Enough dead letters that a replay is still running when it is killed (a few thousand a second)."""


def seed(kafka: KafkaTools, count: int) -> tuple[str, str]:
    """`count` Spring dead letters over two DLQ partitions, written fast in big batches.

    Each partition's last record goes in a batch of its own: tansu's high watermark is the base offset
    of the last batch plus one, so it is then the true end (see test_tansu_deviations.py).
    """
    origin = kafka.topic("crash", partitions=2)
    dlq = kafka.create(f"{origin}.DLQ", 2)
    bulk = Producer({"bootstrap.servers": kafka.url, "linger.ms": 20, "batch.num.messages": 10_000, **QUIET})
    for i in range(count - 2):
        bulk.produce(dlq, b"%d" % i, key=b"k%d" % i, partition=i % 2, headers=spring_headers(origin, i % 2, i))
    bulk.flush(60)
    kafka.produce(dlq, [Record(b"%d" % i, key=b"k%d" % i, partition=i % 2, headers=spring_headers(origin, i % 2, i))
                        for i in (count - 2, count - 1)])  # fmt: skip
    return origin, dlq


def start_replay(config: Path, dlq: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mqtui", "--config", str(config), "-p", "k", "dlq", "replay", "test-kafka", dlq, "--yes"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def sent_so_far(kafka: KafkaTools, origin: str) -> int:
    """Records in the origin topic: cheap enough to poll while a replay runs."""
    futures = kafka.admin.list_offsets({TopicPartition(origin, p): OffsetSpec.latest() for p in range(2)})
    return sum(future.result(10).offset for future in futures.values())


def kill_after_copies(kafka: KafkaTools, origin: str, process: subprocess.Popen[str], at_least: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if sent_so_far(kafka, origin) >= at_least:
            break
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


@pytest.mark.parametrize("kill_at", [1, 5000])
def test_kill_9_of_mqtui_mid_replay_then_rerun_lands_each_exactly_once(
    cli_config: Path, kafka: KafkaTools, kill_at: int
) -> None:
    count = COUNT
    origin, dlq = seed(kafka, count)
    process = start_replay(cli_config, dlq)
    kill_after_copies(kafka, origin, process, kill_at)
    assert process.returncode == -signal.SIGKILL
    interrupted = sum(replayed_copies(kafka, origin, 2).values())
    assert 0 < interrupted < count  # it really died halfway
    rerun = subprocess.run(
        [sys.executable, "-m", "mqtui", "--config", str(cli_config), "-p", "k", "dlq", "replay", "test-kafka", dlq,
         "--yes", "--json"], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr
    copies = replayed_copies(kafka, origin, 2)
    assert copies == {f"{dlq}/{i % 2}/{i // 2}": 1 for i in range(count)}
    assert kafka.committed("mqtui-replay", dlq, 2) == {0: count // 2, 1: count // 2}


async def test_kill_9_of_the_broker_mid_replay_ends_with_a_clear_error(tmp_path: Path) -> None:
    broker = LocalKafka(tmp_path, name="replay-crash")
    broker.start()
    try:
        kafka = KafkaTools(broker.url)
        origin, dlq = seed(kafka, COUNT)
        adapter = KafkaAdapter(KafkaConfig(name="replay-crash", url=broker.url, timeout=1.0))
        await adapter.connect()
        replay = asyncio.create_task(adapter.replay(dlq))
        while not sent_so_far(kafka, origin):
            await asyncio.sleep(0.005)
        broker.kill()
        result = await asyncio.wait_for(replay, timeout=15)  # a deadline, not a hang
        await adapter.close()
    finally:
        broker.kill()
    assert 0 < result.sent < COUNT
    assert result.sent + result.failed == COUNT
    assert result.errors and result.errors[-1].startswith("replay-crash: ")
    assert "run the replay again when the broker is back" in result.errors[-1]
