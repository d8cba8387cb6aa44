"""A console tail whose broker goes away reconnects by itself and resumes after the last message shown."""

from __future__ import annotations

import gc
import uuid
from pathlib import Path

import nats
import pytest
import redis

from mqtui.brokers import create_adapter
from mqtui.config import KafkaConfig
from mqtui.demo.localbrokers import LocalKafka, LocalNats, LocalRedis
from mqtui.model import DestinationKind, StartPosition
from mqtui.services.resume import ResumeMode, resume_mode, resume_start
from mqtui.services.tailer import TailStream
from tests.console.conftest import profile_file
from tests.console.pilot import console
from tests.kafka.conftest import KafkaTools, Record


async def test_kafka_tail_starts_each_listed_partition_at_its_own_offset(
    kafka_server: LocalKafka, kafka_tools: KafkaTools
) -> None:
    topic = kafka_tools.create(f"resume-{uuid.uuid4().hex[:8]}", 3)
    kafka_tools.produce(topic, [Record(value=f"p{i % 3}-{i // 3}".encode(), partition=i % 3) for i in range(15)])
    # Partition 0 resumes after offset 2, partition 1 asks for more than it holds (it was recreated: all of it
    # is new), partition 2 is not listed and starts where `kind` says (the end).
    start = StartPosition("end", partition_offsets=((0, 3), (1, 99)))
    async with create_adapter(KafkaConfig(name="k", url=kafka_server.url, timeout=5.0)) as adapter:
        seen = [m async for batch in adapter.tail(topic, start=start, stop_at_end=True) for m in batch]
    assert sorted(m.value for m in seen) == [b"p0-3", b"p0-4", b"p1-0", b"p1-1", b"p1-2", b"p1-3", b"p1-4"]


def test_where_a_tail_resumes() -> None:
    end, beginning = StartPosition("end"), StartPosition("beginning")
    assert resume_mode("kafka", None, end) is ResumeMode.PARTITIONS
    assert resume_mode("nats", DestinationKind.STREAM, end) is ResumeMode.SEQUENCE
    assert resume_mode("nats", DestinationKind.SUBJECT, end) is ResumeMode.NONE  # a core subscription
    assert resume_mode("nats", None, beginning) is ResumeMode.SEQUENCE  # read from the stream storing it
    assert resume_mode("redis", DestinationKind.STREAM, end) is ResumeMode.STREAM_ID
    assert resume_mode("redis", DestinationKind.LIST, beginning) is ResumeMode.NONE
    assert resume_mode("rabbitmq", DestinationKind.STREAM, end) is ResumeMode.SEQUENCE
    assert resume_mode("rabbitmq", DestinationKind.QUEUE, end) is ResumeMode.NONE

    assert resume_start(ResumeMode.PARTITIONS, end, {0: 41, 2: 7}) == (
        StartPosition("end", partition_offsets=((0, 42), (2, 8))),
        "after the last message shown",
    )
    assert resume_start(ResumeMode.SEQUENCE, beginning, {None: 9})[0] == StartPosition("offset", offset=10)
    assert resume_start(ResumeMode.STREAM_ID, end, {None: "1700000000000-4"})[0] == StartPosition(
        "offset", offset="1700000000000-5"
    )
    assert resume_start(ResumeMode.NONE, beginning, {None: 3}) == (
        end,
        "from the end (this destination keeps no positions to return to)",
    )
    assert resume_start(ResumeMode.SEQUENCE, end, {}) == (end, "from the end (nothing was shown yet)")
    assert resume_start(ResumeMode.SEQUENCE, beginning, {})[0] == beginning


async def test_redis_tail_survives_a_broker_crash_and_shows_no_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(TailStream, "RETRY_INTERVAL", 60.0)  # the test says when to reconnect (ctrl+r)
    broker = LocalRedis(tmp_path / "redis", name="flaky").start()
    try:
        client = redis.Redis(port=broker.port)
        for n in range(5):
            client.xadd("events", {"data": f"m{n}".encode()})
        config = profile_file(tmp_path, [{"name": "r", "kind": "redis", "url": broker.url, "timeout": 1.0}])
        async with console(config, "ops") as c:
            await c.wait_rows("#dest-table", lambda r: len(r) == 1, "the stream")
            c.screen.start_tail("r", "events", StartPosition("beginning"))
            pane = c.app.query_one("#tail")
            await c.wait(lambda: len(pane.messages) == 5, "five messages")  # type: ignore[attr-defined]

            broker.kill()
            await c.wait(lambda: "reconnecting in" in c.text("#tail-info"), "reconnecting")
            assert "resuming after the last message shown" in c.text("#tail-info")
            broker.start()  # the same port, empty: the stream comes back with the next entries
            client = redis.Redis(port=broker.port)
            for n in range(5, 8):
                client.xadd("events", {"data": f"m{n}".encode()})
            await c.press("ctrl+r")
            await c.wait(lambda: len(pane.messages) == 8, "the three sent while it was away")  # type: ignore[attr-defined]
            client.xadd("events", {"data": b"m8"})
            await c.wait(lambda: len(pane.messages) == 9, "and the next one")  # type: ignore[attr-defined]
            assert [m.value for m in pane.messages.messages] == [f"m{n}".encode() for n in range(9)]  # type: ignore[attr-defined]
            assert "running · reconnected 1× (after the last message shown)" in c.text("#tail-info")
    finally:
        broker.stop()


async def test_redis_list_tail_continues_from_the_end_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(TailStream, "RETRY_INTERVAL", 60.0)
    broker = LocalRedis(tmp_path / "redis", name="flaky").start()
    try:
        redis.Redis(port=broker.port).lpush("jobs", b"j0", b"j1")
        config = profile_file(tmp_path, [{"name": "r", "kind": "redis", "url": broker.url, "timeout": 1.0}])
        async with console(config, "ops") as c:
            await c.wait_rows("#dest-table", lambda r: len(r) == 1, "the list")
            c.screen.start_tail("r", "jobs", StartPosition("beginning"))
            pane = c.app.query_one("#tail")
            await c.wait(lambda: len(pane.messages) == 2, "two jobs")  # type: ignore[attr-defined]
            broker.kill()
            await c.wait(lambda: "reconnecting in" in c.text("#tail-info"), "reconnecting")
            assert "resuming from the end (this destination keeps no positions to return to)" in c.text("#tail-info")
            broker.start()
            await c.press("ctrl+r")
            await c.wait(lambda: "reconnected 1×" in c.text("#tail-info"), "reconnected")
            redis.Redis(port=broker.port).lpush("jobs", b"j2")
            await c.wait(lambda: len(pane.messages) == 3, "the next job")  # type: ignore[attr-defined]
            assert [m.value for m in pane.messages.messages] == [b"j0", b"j1", b"j2"]  # type: ignore[attr-defined]
    finally:
        broker.stop()


async def test_nats_stream_tail_survives_a_server_crash(tmp_path: Path) -> None:
    server = LocalNats(tmp_path / "nats", name="flaky").start()
    try:
        await publish_nats(server, [f"e{n}" for n in range(3)], create=True)
        broker = {"name": "n", "kind": "nats", "url": server.url, "monitor_url": server.monitor_url, "timeout": 1.0}
        config = profile_file(tmp_path, [broker])
        async with console(config, "ops") as c:
            await c.wait_rows("#dest-table", lambda r: any(row[1] == "EVENTS" for row in r), "the stream")
            c.screen.start_tail("n", "EVENTS", StartPosition("beginning"))
            pane = c.app.query_one("#tail")
            await c.wait(lambda: len(pane.messages) == 3, "three messages")  # type: ignore[attr-defined]
            server.kill()
            server.start()  # JetStream keeps its files: sequences go on from 4
            await publish_nats(server, ["e3", "e4"])
            await c.wait(lambda: len(pane.messages) == 5, "the two sent after the restart", timeout=40)  # type: ignore[attr-defined]
            assert [m.value for m in pane.messages.messages] == [f"e{n}".encode() for n in range(5)]  # type: ignore[attr-defined]
            assert [m.position for m in pane.messages.messages] == [1, 2, 3, 4, 5]  # type: ignore[attr-defined]
    finally:
        server.stop()


async def publish_nats(server: LocalNats, values: list[str], *, create: bool = False) -> None:
    connection = await nats.connect(server.url)
    try:
        js = connection.jetstream()
        if create:
            await js.add_stream(name="EVENTS", subjects=["events.>"])
        for value in values:
            await js.publish("events.created", value.encode())
    finally:
        await connection.close()


async def test_kafka_tail_reconnects_when_its_broker_restarts_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # librdkafka waits through an outage without a word; the console's poll notices the broker is gone.
    # tansu keeps topics in memory: it comes back empty, the topic is made again, and its offsets start
    # at 0 again, below those the tail had shown: it reads the new topic from its start.
    monkeypatch.setattr(TailStream, "RETRY_INTERVAL", 60.0)
    broker = LocalKafka(tmp_path / "kafka", name="flaky").start()
    tools = KafkaTools(broker.url)
    try:
        tools.create("orders", 2)
        tools.produce("orders", [Record(value=f"a{i}".encode(), partition=i % 2) for i in range(4)])
        config = profile_file(tmp_path, [{"name": "k", "kind": "kafka", "url": broker.url, "timeout": 2.0}])
        async with console(config, "ops") as c:
            await c.wait_rows("#dest-table", lambda r: any(row[1] == "orders" for row in r), "the topic")
            c.screen.start_tail("k", "orders", StartPosition("beginning"))
            pane = c.app.query_one("#tail")
            await c.wait(lambda: len(pane.messages) == 4, "four messages")  # type: ignore[attr-defined]
            broker.kill()
            await c.wait(lambda: "reconnecting in" in c.text("#tail-info"), "reconnecting")
            broker.start()
            tools = KafkaTools(broker.url)
            tools.create("orders", 2)
            await c.press("ctrl+r")
            await c.wait(lambda: "reconnected 1×" in c.text("#tail-info"), "reconnected")
            tools.produce("orders", [Record(value=f"b{i}".encode(), partition=i % 2) for i in range(3)])
            await c.wait(lambda: len(pane.messages) == 7, "the three sent after the restart")  # type: ignore[attr-defined]
            values = [m.value for m in pane.messages.messages]  # type: ignore[attr-defined]
            assert sorted(values[:4]) == [b"a0", b"a1", b"a2", b"a3"] and sorted(values[4:]) == [b"b0", b"b1", b"b2"]
    finally:
        del tools.admin
        gc.collect()
        broker.kill()
