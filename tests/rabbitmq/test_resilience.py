"""A broker that hangs, dies and comes back: clear errors within the timeout, then recovery.

Runs on a private rabbitmq-server so the shared one is never disturbed.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pika
import pytest

from mqtui.errors import BrokerUnavailable
from mqtui.localbrokers import LocalRabbitMQ
from mqtui.model import OutgoingMessage, StartPosition
from tests.rabbitmq.conftest import make_adapter, management, wait_for


@pytest.fixture
def private_rabbit(tmp_path: Path) -> Iterator[LocalRabbitMQ]:
    broker = LocalRabbitMQ(tmp_path / "rabbit", name="private-rabbit")
    broker.start()
    yield broker
    broker.stop()


def _signal_server(broker: LocalRabbitMQ, sig: signal.Signals) -> None:
    os.killpg(broker.processes[-1].pid, sig)  # the server's process group (epmd is the first process)


@pytest.mark.timeout(120)
async def test_hung_then_killed_then_restarted_broker(private_rabbit: LocalRabbitMQ) -> None:
    adapter = make_adapter(private_rabbit, timeout=2.0)
    await adapter.connect()
    try:
        assert (await adapter.publish("nobody", [OutgoingMessage(b"x")])).unroutable == 1

        # Hung (SIGSTOP): both the management API and AMQP calls give up with one line.
        _signal_server(private_rabbit, signal.SIGSTOP)
        try:
            with pytest.raises(BrokerUnavailable, match=r"^rabbit: management API at .* unreachable"):
                await adapter.destinations()
            with pytest.raises(BrokerUnavailable, match=r"^rabbit: no answer from RabbitMQ within 2s$"):
                await adapter.publish("nobody", [OutgoingMessage(b"x")])
        finally:
            _signal_server(private_rabbit, signal.SIGCONT)
        # Back: the same adapter answers again (the stuck connection was abandoned).
        assert (await adapter.publish("nobody", [OutgoingMessage(b"x")])).unroutable == 1

        # A tail that is running when the broker dies ends with an error instead of hanging.
        setup = pika.BlockingConnection(pika.URLParameters(private_rabbit.url))
        channel = setup.channel()
        channel.queue_declare("watched")
        channel.queue_bind("watched", "amq.fanout")
        setup.close()
        tail = adapter.tail("watched", start=StartPosition("end"))
        waiting = asyncio.ensure_future(tail.__anext__())
        await asyncio.to_thread(
            wait_for,
            lambda: len(management(private_rabbit, "/api/exchanges/%2F/amq.fanout/bindings/source")) == 2,
            "the tail's binding",
        )
        private_rabbit.kill()
        with pytest.raises(BrokerUnavailable, match=r"^rabbit: AMQP connection to .* failed"):
            await waiting
        with pytest.raises(BrokerUnavailable, match=r"^rabbit: AMQP connection to .* failed"):
            await adapter.publish("nobody", [OutgoingMessage(b"x")])

        private_rabbit.start()  # same ports and data directory
        assert (await adapter.publish("nobody", [OutgoingMessage(b"x")])).unroutable == 1
        assert isinstance(await adapter.destinations(), list)
    finally:
        await adapter.close()
