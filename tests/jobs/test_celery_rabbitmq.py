"""Celery on RabbitMQ with its real worker (`--pool solo`) and a dead-letter route behind its queue: a
task rejected without requeue the first time lands in `<queue>.dlq`; mqtui shows it with the task's
name and arguments, `mqtui dlq replay` moves it back, and the worker runs each exactly once more (Celery's
result backend says SUCCESS for every task)."""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

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

celery = pytest.importorskip("celery")

TASKS = f'''
import os
import redis
from celery import Celery
from celery.exceptions import Reject
from kombu import Exchange, Queue

QUEUE = os.environ["JOBS_QUEUE"]
app = Celery("shiptasks", broker=os.environ["JOBS_AMQP_URL"], backend=os.environ["JOBS_REDIS_URL"])
app.conf.task_queues = [Queue(QUEUE, Exchange(QUEUE), routing_key=QUEUE, queue_arguments={{
    "x-dead-letter-exchange": "", "x-dead-letter-routing-key": f"{{QUEUE}}.dlq"}})]
app.conf.task_default_queue = QUEUE
app.conf.task_acks_late = True
app.conf.worker_prefetch_multiplier = 1
store = redis.Redis.from_url(os.environ["JOBS_REDIS_URL"])


@app.task
def ship(n, carrier="dhl"):
    if store.sadd("{SEEN}", n):
        raise Reject(f"parcel {{n}} lost", requeue=False)
    store.rpush("{DONE}", n)
'''


def _declare_dlq(url: str, name: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        connection.channel().queue_declare(name, durable=True)
    finally:
        connection.close()


async def _dead_queue(adapter: RabbitMQAdapter, name: str) -> DeadLetterQueue | None:
    found = {q.name: q for q in await adapter.dead_letter_queues()}.get(name)
    return found if found is not None and found.count == 3 else None


async def test_rejected_tasks_shown_and_requeued_to_the_real_worker(
    rabbitmq_server: LocalRabbitMQ, redis_url: str, raw: redis.Redis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = f"ship{uuid.uuid4().hex[:8]}"
    dlq = f"{queue}.dlq"
    _declare_dlq(rabbitmq_server.url, dlq)
    env = {"JOBS_AMQP_URL": rabbitmq_server.url, "JOBS_REDIS_URL": redis_url, "JOBS_QUEUE": queue}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    folder = write_module(tmp_path, "shiptasks", TASKS)
    monkeypatch.syspath_prepend(str(folder))
    import shiptasks  # type: ignore[import-not-found]

    command = [str(BIN / "celery"), "-A", "shiptasks", "worker", "--pool", "solo", "--without-heartbeat",
               "--without-gossip", "--without-mingle", "-Q", queue, "--loglevel", "INFO"]  # fmt: skip
    config = write_config(tmp_path / "c.toml", {"p": {"brokers": [broker_entry(rabbitmq_server)]}})
    with worker(command, folder, env, tmp_path / "worker.log", stop_signal=signal.SIGQUIT):  # cold shutdown
        results = [shiptasks.ship.delay(n, carrier="ups") for n in range(3)]
        adapter = make_adapter(rabbitmq_server)
        await adapter.connect()
        try:
            listed = await until(lambda: _dead_queue(adapter, dlq), what=f"{dlq} listed with 3", timeout=20)
            letters = await adapter.dead_letters(dlq)
        finally:
            await adapter.close()
        assert listed.origin == queue
        assert {(letter.extra["task"], letter.reason, letter.origin) for letter in letters} == {
            ("shiptasks.ship", "rejected", queue)}  # fmt: skip
        assert sorted(letter.extra["args"] for letter in letters) == ["(0,)", "(1,)", "(2,)"]
        assert {letter.extra["kwargs"] for letter in letters} == {"{'carrier': 'ups'}"}

        replayed = run_mqtui("--config", str(config), "-p", "p", "dlq", "replay", "rabbit", dlq, "--yes", "--json")
        assert replayed.code == 0, replayed.err
        wait_for(lambda: {r.status for r in results} == {"SUCCESS"}, what="three tasks succeeded", timeout=20)

    assert sorted(int(n) for n in raw.lrange(DONE, 0, -1)) == [0, 1, 2]
    shiptasks.app.close()
