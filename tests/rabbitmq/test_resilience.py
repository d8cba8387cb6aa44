"""A broker that hangs, dies and comes back: clear errors within the timeout, then recovery.

Runs on a private rabbitmq-server so the shared one is never disturbed.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pika
import pytest

from mqtui.demo.localbrokers import LocalRabbitMQ
from mqtui.errors import BrokerUnavailable
from mqtui.model import OutgoingMessage, StartPosition
from tests.rabbitmq.conftest import (
    dead_letter_in_bulk,
    declarations_on_disk,
    drain_all,
    make_adapter,
    management,
    queue_counts,
)
from tests.support import wait_for


@pytest.fixture
def private_rabbit(tmp_path: Path) -> Iterator[LocalRabbitMQ]:
    broker = LocalRabbitMQ(tmp_path / "rabbit", name="private-rabbit")
    broker.start()
    yield broker
    broker.kill()  # disposable: no need for the 5 s clean shutdown


def _signal_server(broker: LocalRabbitMQ, sig: signal.Signals) -> None:
    os.killpg(broker.processes[-1].pid, sig)  # the server's process group (epmd is the first process)


@pytest.mark.timeout(120)
async def test_hung_then_killed_mid_requeue_then_restarted_broker(
    private_rabbit: LocalRabbitMQ, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = make_adapter(private_rabbit, timeout=2.0)
    await adapter.connect()
    try:
        assert (await adapter.publish("nobody", [OutgoingMessage(b"x")])).unroutable == 1
        setup_connection = pika.BlockingConnection(pika.URLParameters(private_rabbit.url))
        setup_connection.channel().queue_declare("quiet")
        setup_connection.channel().queue_bind("quiet", "amq.topic", "#")
        setup_connection.close()
        quiet_tail = adapter.tail("quiet", start=StartPosition("end"))
        quiet = asyncio.ensure_future(quiet_tail.__anext__())
        await asyncio.to_thread(
            wait_for,
            lambda: len(management(private_rabbit, "/api/exchanges/%2F/amq.topic/bindings/source")) == 2,
            what="the quiet tail's binding",
        )

        # Hung (SIGSTOP): the management API, AMQP calls and a quiet tail all give up with one line.
        _signal_server(private_rabbit, signal.SIGSTOP)
        try:
            with pytest.raises(BrokerUnavailable, match=r"^rabbit: management API at .* unreachable"):
                await adapter.destinations()
            with pytest.raises(BrokerUnavailable, match=r"^rabbit: no answer from RabbitMQ within 2s$"):
                await adapter.publish("nobody", [OutgoingMessage(b"x")])
            with pytest.raises(
                BrokerUnavailable, match=r"^rabbit: no answer from RabbitMQ within 2s \(tail stopped\)$"
            ):
                await asyncio.wait_for(quiet, timeout=30)  # a hang guard; it answers after about 4 s
        finally:
            _signal_server(private_rabbit, signal.SIGCONT)
        # Back: the same adapter answers again (the stuck connection was abandoned).
        assert (await adapter.publish("nobody", [OutgoingMessage(b"x")])).unroutable == 1

        # The broker dies while a tail and a requeue of 2,000 persistent dead letters are running.
        setup_connection = pika.BlockingConnection(pika.URLParameters(private_rabbit.url))
        channel = setup_connection.channel()
        channel.queue_declare("watched")
        channel.queue_bind("watched", "amq.fanout")
        total = 2000
        bulk = dead_letter_in_bulk(channel, lambda name: name, total, by_broker=False)
        setup_connection.close()
        declarations_on_disk(private_rabbit)  # else a kill -9 can take the queues with it (CI saw it once)
        tail = adapter.tail("watched", start=StartPosition("end"))
        waiting = asyncio.ensure_future(tail.__anext__())
        await asyncio.to_thread(
            wait_for,
            lambda: len(management(private_rabbit, "/api/exchanges/%2F/amq.fanout/bindings/source")) == 2,
            what="the tail's binding",
        )
        requeue = asyncio.ensure_future(adapter.replay(bulk.dlq))
        await asyncio.to_thread(
            wait_for,
            lambda: requeue.done() or queue_counts(private_rabbit, bulk.origin)[0] >= 200,
            what="200 requeued",
        )
        assert not requeue.done(), "the requeue finished before the broker died: raise `total`"
        private_rabbit.kill()
        with pytest.raises(BrokerUnavailable, match=r"^rabbit: AMQP connection to .* failed"):
            await waiting
        with pytest.raises(BrokerUnavailable):
            await requeue
        with pytest.raises(BrokerUnavailable, match=r"^rabbit: AMQP connection to .* failed"):
            await adapter.publish("nobody", [OutgoingMessage(b"x")])

        private_rabbit.start()  # same ports and data directory
        # Nothing is lost. Acks the broker had not written to disk are lost, though: those dead letters
        # are back in the DLQ beside their confirmed copies, which the journal knows about.
        back = queue_counts(private_rabbit, bulk.origin)[0], queue_counts(private_rabbit, bulk.dlq)[0]
        assert back[0] >= 200 and back[0] + back[1] >= total, back
        assert (await adapter.publish("nobody", [OutgoingMessage(b"x")])).unroutable == 1
        assert isinstance(await adapter.destinations(), list)
        # Finishing the requeue leaves every message at the origin once, plus at most the one in flight.
        result = await adapter.replay(bulk.dlq)
        assert (result.failed, result.skipped) == (0, 0)
        assert result.duplicates <= 1
        origin = queue_counts(private_rabbit, bulk.origin)[0]
        assert queue_counts(private_rabbit, bulk.dlq)[0] == 0
        assert total <= origin <= total + result.duplicates
        check = pika.BlockingConnection(pika.URLParameters(private_rabbit.url))
        bodies = drain_all(check.channel(), bulk.origin)
        check.close()
        assert set(bodies) == {b"bulk-%d" % i for i in range(total)}
    finally:
        await adapter.close()
    # The jobs given up on while the broker hung end later, unread: nothing may log their errors when
    # collected (asyncio logs them with a traceback, from whichever thread collects them).
    await asyncio.sleep(0.5)
    gc.collect()
    await asyncio.sleep(0)
    unread = [r.getMessage() for r in caplog.records if r.name == "asyncio" and r.levelno >= logging.ERROR]
    assert unread == []
