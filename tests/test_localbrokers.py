"""Each local broker starts on 127.0.0.1, answers a real client, and stops exactly what it started."""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.request
from pathlib import Path

from mqtui.demo.localbrokers import LocalKafka, LocalNats, LocalRabbitMQ, LocalRedis, pid_alive


def test_redis_answers_a_real_client(redis_server: LocalRedis) -> None:
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.rpush("mqtui:fixture", b"a", b"b")
    assert client.llen("mqtui:fixture") == 2
    assert client.info("server")["redis_version"].startswith("7.")
    client.delete("mqtui:fixture")


def test_nats_answers_with_jetstream(nats_server: LocalNats) -> None:
    import nats

    async def probe() -> int:
        connection = await nats.connect(nats_server.url)
        js = connection.jetstream()
        await js.add_stream(name="FIXTURE", subjects=["fixture.>"])
        await js.publish("fixture.one", b"x")
        info = await js.stream_info("FIXTURE")
        await js.delete_stream("FIXTURE")
        await connection.close()
        return info.state.messages

    assert asyncio.run(probe()) == 1


def test_kafka_protocol_answers_confluent_kafka(kafka_server: LocalKafka) -> None:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": kafka_server.url})
    admin.create_topics([NewTopic("fixture-topic", num_partitions=2, replication_factor=1)])["fixture-topic"].result(10)
    producer = Producer({"bootstrap.servers": kafka_server.url, "batch.num.messages": 1, "linger.ms": 0})
    for index in range(3):
        producer.produce("fixture-topic", value=f"m{index}".encode(), partition=0)
    assert producer.flush(10) == 0
    topics = admin.list_topics(timeout=10).topics
    assert len(topics["fixture-topic"].partitions) == 2
    admin.delete_topics(["fixture-topic"])["fixture-topic"].result(10)


def test_rabbitmq_answers_amqp_and_management(rabbitmq_server: LocalRabbitMQ) -> None:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_server.url))
    channel = connection.channel()
    channel.queue_declare("fixture-queue")
    channel.basic_publish("", "fixture-queue", b"hello")
    request = urllib.request.Request(f"{rabbitmq_server.management_url}/api/overview")
    request.add_header("Authorization", "Basic " + base64.b64encode(b"guest:guest").decode())
    with urllib.request.urlopen(request, timeout=5) as response:
        overview = json.load(response)
    assert overview["rabbitmq_version"].startswith("3.")
    channel.queue_delete("fixture-queue")
    connection.close()


def test_stop_ends_exactly_the_processes_started(tmp_path: Path) -> None:
    first = LocalRedis(tmp_path / "a").start()
    second = LocalRedis(tmp_path / "b").start()
    first_pids = first.pids()
    first.stop()
    assert not any(pid_alive(pid) for pid in first_pids)
    assert second.alive()
    second.stop()


def test_restart_keeps_the_port(tmp_path: Path) -> None:
    broker = LocalNats(tmp_path / "n").start()
    port = broker.port
    broker.kill()
    assert not broker.alive()
    broker.start()
    assert broker.alive() and broker.port == port
    broker.stop()
