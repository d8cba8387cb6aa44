"""Fixtures: real brokers on 127.0.0.1 (one per session, started on first use) and an isolated home."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mqtui.localbrokers import LocalKafka, LocalNats, LocalRabbitMQ, LocalRedis


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads the developer's config or touches their demo state."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.setenv("MQTUI_STATE_DIR", str(home / "state" / "mqtui"))
    monkeypatch.delenv("MQTUI_CONFIG", raising=False)
    monkeypatch.delenv("MQTUI_DEBUG", raising=False)
    return home


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRedis]:
    broker = LocalRedis(tmp_path_factory.mktemp("redis"), name="test-redis")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNats]:
    broker = LocalNats(tmp_path_factory.mktemp("nats"), name="test-nats")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def kafka_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    broker = LocalKafka(tmp_path_factory.mktemp("kafka"), name="test-kafka")
    broker.start()
    yield broker
    broker.kill()  # memory storage, nothing to keep; a SIGTERM waits seconds for clients' connections


@pytest.fixture(scope="session")
def rabbitmq_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRabbitMQ]:
    broker = LocalRabbitMQ(tmp_path_factory.mktemp("rabbitmq"), name="test-rabbitmq")
    broker.start()
    yield broker
    broker.kill()  # its data is a temporary directory; a clean shutdown takes 6 s
