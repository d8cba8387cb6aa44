"""Dramatiq on RabbitMQ with its real worker: an actor with max_retries=0 is rejected into `<queue>.XQ`
(Dramatiq declares it as the queue's dead-letter route), mqtui shows that queue as the dead letters of
`<queue>` with the actor and its arguments, `mqtui dlq replay` moves them back, and the worker runs each
exactly once more."""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
import pika
import pytest
import redis

from mqtui.brokers.rabbitmq.adapter import RabbitMQAdapter
from mqtui.demo.localbrokers import LocalRabbitMQ
from mqtui.model import DeadLetterQueue
from tests.helpers import run_mqtui, write_config
from tests.jobs.workers import BIN, DONE, SEEN, worker, write_module
from tests.rabbitmq.conftest import broker_entry, make_adapter
from tests.support import until, wait_for

dramatiq = pytest.importorskip("dramatiq")

TASKS = f'''
import os
import dramatiq
import redis
from dramatiq.brokers.rabbitmq import RabbitmqBroker

dramatiq.set_broker(RabbitmqBroker(url=os.environ["JOBS_AMQP_URL"]))
store = redis.Redis.from_url(os.environ["JOBS_REDIS_URL"])


@dramatiq.actor(max_retries=0, queue_name=os.environ["JOBS_QUEUE"])
def charge(n, currency="EUR"):
    if store.sadd("{SEEN}", n):
        raise RuntimeError(f"card {{n}} declined")
    store.rpush("{DONE}", n)
'''


def _depth(url: str, queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return int(connection.channel().queue_declare(queue, passive=True).method.message_count)
    finally:
        connection.close()


async def _dead_queue(adapter: RabbitMQAdapter, name: str) -> DeadLetterQueue | None:
    found = {q.name: q for q in await adapter.dead_letter_queues()}.get(name)
    return found if found is not None and found.count == 3 else None


def _enqueue(url: str, queue: str, count: int) -> None:
    from dramatiq import Message
    from dramatiq.brokers.rabbitmq import RabbitmqBroker

    broker = RabbitmqBroker(url=url)
    try:
        for n in range(count):
            broker.enqueue(Message(queue_name=queue, actor_name="charge", args=(n,), kwargs={}, options={}))
    finally:
        broker.close()


async def test_dead_letters_shown_and_requeued_to_the_real_worker(
    rabbitmq_server: LocalRabbitMQ, redis_url: str, raw: redis.Redis, tmp_path: Path
) -> None:
    queue = f"pay{uuid.uuid4().hex[:8]}"
    xq = f"{queue}.XQ"
    folder = write_module(tmp_path, "paytasks", TASKS)
    command = [str(BIN / "dramatiq"), "paytasks", "--processes", "1", "--threads", "1", "--queues", queue]
    env = {"JOBS_AMQP_URL": rabbitmq_server.url, "JOBS_REDIS_URL": redis_url, "JOBS_QUEUE": queue}
    config = write_config(tmp_path / "c.toml", {"p": {"brokers": [broker_entry(rabbitmq_server)]}})
    with worker(command, folder, env, tmp_path / "worker.log"):
        _enqueue(rabbitmq_server.url, queue, 3)
        wait_for(lambda: _depth(rabbitmq_server.url, xq) == 3, what=f"three dead messages in {xq}", timeout=20)

        adapter = make_adapter(rabbitmq_server)
        await adapter.connect()
        try:
            # The management API's counts trail the queues by its stats interval.
            listed = await until(lambda: _dead_queue(adapter, xq), what=f"{xq} listed with 3", timeout=20)
            letters = await adapter.dead_letters(xq)
        finally:
            await adapter.close()
        assert (listed.origin, listed.detected_by) == (queue, "dramatiq dead-letter queue")
        assert sorted(orjson.loads(letter.extra["args"])[0] for letter in letters) == [0, 1, 2]
        assert {(letter.extra["actor"], letter.reason, letter.origin) for letter in letters} == {
            ("charge", "rejected", queue)}  # fmt: skip
        listed_rows = run_mqtui("--config", str(config), "-p", "p", "ls", "--json").json_lines()
        rows = {row["name"]: row for row in listed_rows}
        assert rows[queue]["jobs"]["framework"] == "dramatiq" and rows[queue]["jobs"]["failed"] == 3
        assert rows[queue]["jobs"]["delayed"] == 0 and rows[xq]["jobs"] is None  # the DLQ is no job queue

        replayed = run_mqtui("--config", str(config), "-p", "p", "dlq", "replay", "rabbit", xq, "--yes", "--json")
        assert replayed.code == 0, replayed.err
        wait_for(lambda: raw.llen(DONE) == 3, what="the worker ran the three requeued messages", timeout=20)

    assert sorted(int(n) for n in raw.lrange(DONE, 0, -1)) == [0, 1, 2]
    assert _depth(rabbitmq_server.url, xq) == 0 and _depth(rabbitmq_server.url, queue) == 0
