"""Fixtures: real brokers on 127.0.0.1 (one per session, started on first use) and an isolated home."""

from __future__ import annotations

import ast
import functools
import gc
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mqtui.demo.localbrokers import LocalKafka, LocalNats, LocalRabbitMQ, LocalRedis

if TYPE_CHECKING:
    from tests.kafka.conftest import KafkaTools


def _serialise_ast_parse() -> None:
    """Every `ast.parse` alone, on CPython 3.11.0-3.11.7.

    Those keep the AST constructor's recursion count in interpreter-wide state, and a garbage collection
    inside one parse can run a finalizer or another thread that parses too and resets it: the first then
    fails with `SystemError: AST constructor recursion depth mismatch` (python/cpython#106905, fixed in
    3.11.8). Here the other parsers are threads formatting a traceback (3.11's caret anchors parse the
    source line; pika's I/O threads do it each time a broker the tests killed drops their connection)
    and asyncio logging an unread future's error when it is collected, while pytest's main thread parses
    to rewrite assertions on import and to show a failure: CI runs ended in an INTERNALERROR that way.
    With collection off, a parse never runs Python code and so never lets another thread in.
    """
    if sys.version_info[:2] != (3, 11) or sys.version_info >= (3, 11, 8):
        return
    lock = threading.RLock()
    parse = ast.parse

    @functools.wraps(parse)
    def alone(*args, **kwargs):  # type: ignore[no-untyped-def]
        with lock:
            collecting = gc.isenabled()
            gc.disable()
            try:
                return parse(*args, **kwargs)
            finally:
                if collecting:
                    gc.enable()

    ast.parse = alone  # type: ignore[assignment]


_serialise_ast_parse()


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads the developer's config or touches their demo state."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.setenv("MQTUI_STATE_DIR", str(home / "state" / "mqtui"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("MQTUI_DATA_DIR", str(home / "data" / "mqtui"))
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


@pytest.fixture
def kafka_tools(kafka_server: LocalKafka) -> Iterator[KafkaTools]:
    """Admin, producer and reader helpers on the session's Kafka, for tests outside tests/kafka too."""
    from tests.kafka.conftest import KafkaTools

    tools = KafkaTools(kafka_server.url)
    yield tools
    del tools.admin  # tansu waits for open connections when it is stopped
    gc.collect()


@pytest.fixture(scope="session")
def rabbitmq_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRabbitMQ]:
    broker = LocalRabbitMQ(tmp_path_factory.mktemp("rabbitmq"), name="test-rabbitmq")
    broker.start()
    yield broker
    broker.kill()  # its data is a temporary directory; a clean shutdown takes 6 s
