"""RabbitMQ: requeues of 1,000 dead letters killed with kill -9 (mqtui or rabbitmq-server), then run again.

Each seed gets fresh durable queues: an origin whose dead-letter exchange (fanout) feeds a classic DLQ,
and 1,000 persistent messages a consumer rejected, so RabbitMQ itself dead-lettered them with its
x-death header; 50 more messages wait in the origin. RabbitMQ does not confirm its own dead-lettering
and writes dead letters to disk lazily (a kill -9 right after it lost all 1,000 in a trial), so the
seeding ends with one persistent "flush marker" published into the DLQ with publisher confirms: its
confirm means the DLQ's index is on disk up to it. The marker carries an x-death naming a sink queue,
so the requeue moves it there like any dead letter. Queue declarations need the same care: RabbitMQ
3.x keeps them in Mnesia, whose log gets a declaration's commit record (presume_abort) before the
declare-ok, but its "committed" decision only a moment later and without a sync; if the broker is
killed before the next sync, the restart takes the declaration as aborted and the queue is gone. The
sink, the last queue declared, vanished so in 9 of 33 broker kills in trials (killed 0.25-1 s after
its declaration; its commit record was in LATEST.LOG, its decision was not), and in 0 of 20 once the
seeding ends by asking Mnesia to sync its log.

A requeue publishes one dead letter at a time with confirms and acks it in the DLQ after the confirm,
keeping a journal (`rabbitmq_journal`) beside it. RabbitMQ cannot deduplicate, so:
- a kill between the confirm and the ack (or a broker crash that loses the ack) leaves a confirmed copy
  the journal knows: the rerun acks the dead letter without publishing it again (no duplicate);
- a kill between the publish and its confirm leaves a copy that may or may not have arrived: the rerun
  publishes again and reports one possible duplicate.
So afterwards: lost 0, and duplicates delivered <= duplicates reported <= 1 per kill.
"""

from __future__ import annotations

import contextlib
import urllib.error
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pika
import pytest

from mqtui.demo.localbrokers import LocalRabbitMQ
from tests.faults.harness import (
    FaultPoint,
    interrupt,
    profile,
    record,
    rerun,
    spawn_replay,
)
from tests.rabbitmq.conftest import dead_letter_in_bulk, declarations_on_disk, drain_all, management, ready
from tests.support import wait_for

pytestmark = pytest.mark.fault

TOTAL = 1000
BYSTANDERS = 50
SEEDS = range(20)
MOST = 950
TIMEOUT = 5.0
MARKER = b"flush-marker"
MINE = "fault-suite"
"""connection_name of the test's own connections, to tell them from a killed replay's."""


@pytest.fixture(scope="module")
def rabbit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRabbitMQ]:
    """A private rabbitmq-server that the tests kill and restart (same ports and data directory)."""
    broker = LocalRabbitMQ(tmp_path_factory.mktemp("fault-rabbitmq"), name="fault-rabbitmq")
    broker.start()
    yield broker
    broker.stop()


@contextlib.contextmanager
def channel_on(broker: LocalRabbitMQ) -> Iterator[pika.adapters.blocking_connection.BlockingChannel]:
    parameters = pika.URLParameters(broker.url)
    parameters.client_properties = {"connection_name": MINE}
    connection = pika.BlockingConnection(parameters)
    try:
        yield connection.channel()
    finally:
        with contextlib.suppress(Exception):  # the broker may have been killed under it
            connection.close()


def flush_marker(channel: pika.adapters.blocking_connection.BlockingChannel, dlq: str, sink: str) -> None:
    """A confirmed persistent dead letter at the DLQ's tail, whose x-death sends it to `sink`."""
    channel.queue_declare(sink, durable=True)
    channel.confirm_delivery()
    death = {"count": 1, "reason": "rejected", "queue": sink, "time": datetime.now(UTC).replace(microsecond=0),
             "exchange": "", "routing-keys": [sink]}  # fmt: skip
    properties = pika.BasicProperties(delivery_mode=2, headers={"x-death": [death]})
    channel.basic_publish("", dlq, MARKER, properties, mandatory=True)


def others_gone(broker: LocalRabbitMQ) -> None:
    """Wait until the killed replay's connection is closed, so its unacked dead letter is back."""

    def only_mine() -> bool:
        names = [
            (c.get("client_properties") or {}).get("connection_name") for c in management(broker, "/api/connections")
        ]
        assert all(name == MINE for name in names), f"connections still open: {names}"
        return True

    wait_for(only_mine, what="the killed replay's connection to close", timeout=30, ignoring=(AssertionError,))


def queues_running(broker: LocalRabbitMQ, *queues: str) -> None:
    """After a restart, wait until the durable queues are recovered (the API answers before they are)."""

    def running() -> bool:
        states = {queue: queue_state(broker, queue) for queue in queues}
        assert all(state == "running" for state in states.values()), f"queues not recovered: {states}"
        return True

    wait_for(running, what="the durable queues recovered", timeout=30, interval=0.1, ignoring=(AssertionError,))


def queue_state(broker: LocalRabbitMQ, queue: str) -> str:
    """The management API's state of a queue, "missing" when it does not know the queue."""
    try:
        return str(management(broker, f"/api/queues/%2F/{queue}").get("state"))
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return "missing"
        raise
    except OSError as error:  # the API is not listening yet
        return f"no answer ({error})"


@pytest.mark.parametrize("seed", SEEDS)
def test_dlx_requeue_killed_at_a_seeded_point(seed: int, rabbit: LocalRabbitMQ, tmp_path: Path) -> None:
    point = FaultPoint.draw("rabbitmq", "DLX-ed classic queue", seed, victims=("mqtui", "broker"), most=MOST)
    tag = f"s{seed}-{uuid.uuid4().hex[:6]}"
    sink = f"{tag}-sink"
    with channel_on(rabbit) as channel:
        setup = dead_letter_in_bulk(channel, lambda name: f"{tag}-{name}", TOTAL, by_broker=True)
        channel.confirm_delivery()
        for index in range(BYSTANDERS):
            channel.basic_publish("", setup.origin, b"live-%d" % index, pika.BasicProperties(delivery_mode=2))
        flush_marker(channel, setup.dlq, sink)
        assert ready(channel, setup.dlq) == TOTAL + 1
    declarations_on_disk(rabbit)
    config = profile(tmp_path / "config.toml", {**rabbit.broker_config(), "name": "rabbit", "timeout": TIMEOUT})

    with channel_on(rabbit) as probe:
        process = spawn_replay(config, "rabbit", setup.dlq, tmp_path / "first")
        first = interrupt(process, point, lambda: ready(probe, setup.origin) - BYSTANDERS, rabbit.kill, TOTAL,
                          tmp_path / "first", TIMEOUT)  # fmt: skip
    if point.victim == "broker":
        rabbit.start()  # same ports and data directory: durable queues and persistent messages come back
        queues_running(rabbit, setup.origin, setup.dlq, sink)
    else:
        others_gone(rabbit)
    again = rerun(config, "rabbit", setup.dlq)

    with channel_on(rabbit) as channel:
        assert ready(channel, setup.dlq) == 0
        landed = Counter(drain_all(channel, setup.origin))
        assert drain_all(channel, sink) == [MARKER]
    assert all(landed[b"live-%d" % i] == 1 for i in range(BYSTANDERS))
    letters = [b"bulk-%d" % i for i in range(TOTAL)]
    assert set(landed) == set(letters) | {b"live-%d" % i for i in range(BYSTANDERS)}
    lost = sum(1 for letter in letters if landed[letter] == 0)
    duplicates = sum(landed[letter] - 1 for letter in letters if landed[letter] > 1)
    reported = record(point, TOTAL, first, again, lost, duplicates)
    assert lost == 0, point
    assert duplicates <= reported <= 1, (point, duplicates, reported)  # every duplicate is reported
