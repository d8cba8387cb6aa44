"""Connection: unreachable brokers, rejected credentials, outages mid-session and recovery."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from mqtui.brokers.kafka.adapter import KafkaAdapter
from mqtui.brokers.kafka.client import client_settings
from mqtui.config import KafkaConfig, SASLConfig, TLSConfig
from mqtui.demo.localbrokers import LocalKafka
from mqtui.errors import AuthenticationFailed, BrokerUnavailable
from mqtui.model import OutgoingMessage, StartPosition


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AuthenticatingKafka(LocalKafka):
    """tansu with `--authentication`: every client must pass SASL SCRAM.

    tansu 0.6.0 keeps users in its storage and `tansu user create` itself needs an authenticated
    connection to a broker started this way, so with memory storage no user can ever exist: every
    credential is wrong, which is exactly what a rejected-credentials test needs.
    """

    def _launch(self) -> None:
        listener = f"tcp://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in ("LISTENER_URL", "ADVERTISED_LISTENER_URL")}
        self._spawn([str(self.binary()), "broker", "--listener-url", listener, "--advertised-listener-url", listener,
                     "--storage-engine", "memory://tansu/", "--authentication"], env=env)  # fmt: skip


@pytest.fixture(scope="module")
def private_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """A broker of this module's own, which its tests kill and restart."""
    broker = LocalKafka(tmp_path_factory.mktemp("kafka-outage"), name="outage")
    broker.start()
    yield broker
    broker.kill()  # memory only, nothing to keep; and SIGTERM waits for clients' open connections


async def test_unreachable_broker_fails_within_the_timeout_with_one_line() -> None:
    adapter = KafkaAdapter(KafkaConfig(name="down", url=f"127.0.0.1:{closed_port()}", timeout=1.0))
    with pytest.raises(BrokerUnavailable) as caught:
        await asyncio.wait_for(adapter.connect(), timeout=3.0)  # a deadline, not a hang: connect gives up first
    message = str(caught.value)
    assert message.startswith("down: cannot reach 127.0.0.1:") and "within 1s" in message
    assert "\n" not in message
    await adapter.close()


async def test_wrong_credentials_are_an_authentication_failure(tmp_path: Path) -> None:
    broker = AuthenticatingKafka(tmp_path, name="auth")
    broker.start()
    try:
        config = KafkaConfig(name="secure", url=broker.url, timeout=3.0,
                             sasl=SASLConfig(mechanism="SCRAM-SHA-512", username="ops", password="hunter2-secret"))  # fmt: skip
        adapter = KafkaAdapter(config)
        with pytest.raises(AuthenticationFailed) as caught:
            await asyncio.wait_for(adapter.connect(), timeout=5.0)
        await adapter.close()
    finally:
        broker.stop()
    message = str(caught.value)
    assert message.startswith("secure: authentication failed: ") and "SASL" in message
    assert "hunter2-secret" not in message and "\n" not in message


async def test_a_broker_dying_mid_session_gives_clear_errors_and_a_return_is_picked_up(
    private_kafka: LocalKafka,
) -> None:
    config = KafkaConfig(name="outage", url=private_kafka.url, timeout=1.0)
    adapter = KafkaAdapter(config)
    await adapter.connect()
    await adapter.destinations()
    private_kafka.kill()
    try:
        calls = (
            adapter.destinations(),
            adapter.backlog(),
            adapter.dead_letter_queues(),
            adapter.publish("orders", [OutgoingMessage(b"x")]),
            anext(adapter.tail("orders", start=StartPosition("beginning"), stop_at_end=True)),
        )
        for call in calls:
            with pytest.raises(BrokerUnavailable, match=r"^outage: "):
                await asyncio.wait_for(call, timeout=config.timeout + 3)
    finally:
        private_kafka.start()
    # The poller's way: a fresh adapter once the broker is back.
    fresh = KafkaAdapter(config)
    await asyncio.wait_for(fresh.connect(), timeout=config.timeout + 3)
    assert await fresh.destinations() == []  # tansu's memory storage starts empty
    await fresh.close()
    # The old adapter reconnects by itself as well.
    for _ in range(20):
        try:
            assert await adapter.destinations() == []
            break
        except BrokerUnavailable:
            await asyncio.sleep(0.5)
    else:
        raise AssertionError("the adapter never reconnected")
    await adapter.close()


def test_security_settings_follow_sasl_and_tls() -> None:
    """Derived from the profile: no TLS broker is available to test against (tansu 0.6.0 has none)."""
    plain = client_settings(KafkaConfig(name="a", url="h:9092"))
    assert plain["security.protocol"] == "PLAINTEXT" and "sasl.username" not in plain
    sasl = client_settings(KafkaConfig(name="b", url="h:9092", sasl=SASLConfig(username="u", password="p")))
    assert (sasl["security.protocol"], sasl["sasl.mechanism"], sasl["sasl.username"]) == (
        "SASL_PLAINTEXT",
        "PLAIN",
        "u",
    )
    both = client_settings(KafkaConfig(name="c", url="h:9092", client_id="ops-console",
                                       sasl=SASLConfig(mechanism="SCRAM-SHA-256", username="u", password="p"),
                                       tls=TLSConfig(ca_file="/etc/ca.pem")))  # fmt: skip
    assert (both["security.protocol"], both["ssl.ca.location"], both["client.id"]) == (
        "SASL_SSL",
        "/etc/ca.pem",
        "ops-console",
    )
    tls = client_settings(KafkaConfig(name="d", url="h:9092", tls=TLSConfig(ca_file="/ca", verify=False)))
    assert (tls["security.protocol"], tls["enable.ssl.certificate.verification"]) == ("SSL", False)
    bare = client_settings(KafkaConfig(name="f", url="h:9092", username="app", password="pw"))
    assert (bare["security.protocol"], bare["sasl.mechanism"], bare["sasl.username"]) == (
        "SASL_PLAINTEXT",
        "PLAIN",
        "app",
    )
    forced = client_settings(KafkaConfig(name="e", url="h:9092", security_protocol="SASL_SSL",
                                         sasl=SASLConfig(username="u", password="p")))  # fmt: skip
    assert forced["security.protocol"] == "SASL_SSL"
