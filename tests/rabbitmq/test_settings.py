"""How a profile entry becomes connection settings, and listings that need several pages."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest
from pika.adapters.blocking_connection import BlockingChannel

from mqtui.brokers.rabbitmq import RabbitMQAdapter
from mqtui.brokers.rabbitmq_amqp import Endpoint
from mqtui.brokers.rabbitmq_names import Naming
from mqtui.config import RabbitMQConfig
from mqtui.errors import ConfigError


def endpoint(**entry: object) -> Endpoint:
    return Endpoint.from_config(msgspec.convert({"name": "r", "kind": "rabbitmq", **entry}, RabbitMQConfig))


def test_endpoint_from_amqp_url() -> None:
    plain = endpoint(url="amqp://ops:p%40ss@rabbit.internal/prod%2Fa")
    assert (plain.host, plain.port, plain.home_vhost) == ("rabbit.internal", 5672, "prod/a")
    assert (plain.username, plain.password, plain.tls, plain.ssl_context) == ("ops", "p@ss", False, None)
    assert plain.management_url == "http://rabbit.internal:15672"
    assert plain.redacted_url == "amqp://ops:***@rabbit.internal/prod%2Fa"
    default = endpoint(url="amqp://127.0.0.1:5673/%2F", username="me", password="pw")
    assert (default.port, default.home_vhost, default.username, default.password) == (5673, "/", "me", "pw")
    assert endpoint(url="amqp://h").home_vhost == "/"
    assert (endpoint(url="amqp://h").username, endpoint(url="amqp://h").password) == ("guest", "guest")


def test_amqps_uses_tls_and_the_https_management_port(tmp_path: Path) -> None:
    secure = endpoint(url="amqps://h/%2F")
    assert (secure.port, secure.tls, secure.management_url) == (5671, True, "https://h:15671")
    assert isinstance(secure.ssl_context, ssl.SSLContext)
    assert secure.ssl_context.verify_mode == ssl.CERT_REQUIRED
    relaxed = endpoint(url="amqps://h/%2F", tls={"verify": False})
    assert relaxed.ssl_context is not None and relaxed.ssl_context.verify_mode == ssl.CERT_NONE
    with pytest.raises(ConfigError, match=r"^r: cannot use the TLS files of this broker"):
        endpoint(url="amqps://h/%2F", tls={"ca_file": str(tmp_path / "missing.pem")})


def test_vhost_naming_round_trips() -> None:
    naming = Naming("/", ["/", "team", "team/eu"])
    assert naming.display("/", "orders") == "orders"
    assert naming.display("team", "jobs") == "team/jobs"
    assert naming.parse("orders").vhost == "/"
    assert (naming.parse("team/jobs").vhost, naming.parse("team/jobs").name) == ("team", "jobs")
    assert (naming.parse("team/eu/jobs").vhost, naming.parse("team/eu/jobs").name) == ("team/eu", "jobs")
    assert naming.parse("a/b").name == "a/b"  # no vhost "a": a queue of the home vhost
    other_home = Naming("team", ["/", "team"])
    assert other_home.display("/", "orders") == "//orders"
    assert (other_home.parse("//orders").vhost, other_home.parse("//orders").name) == ("/", "orders")


async def test_more_queues_than_one_page(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, unique: Callable[[str], str]
) -> None:
    prefix = unique("bulk")
    for i in range(520):  # the API's pages hold 500
        amqp.queue_declare(f"{prefix}-{i:03d}", exclusive=True)
    names = [d.name for d in await adapter.destinations() if d.name.startswith(prefix)]
    assert names == [f"{prefix}-{i:03d}" for i in range(520)]
    rows = [r for r in await adapter.backlog() if r.destination.startswith(prefix)]
    assert len(rows) == 520
