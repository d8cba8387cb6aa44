"""How a profile entry becomes connection settings, and listings that need several pages."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlsplit

import msgspec
import pytest
from pika.adapters.blocking_connection import BlockingChannel

from mqtui.brokers.rabbitmq.adapter import RabbitMQAdapter
from mqtui.brokers.rabbitmq.amqp import Endpoint
from mqtui.brokers.rabbitmq.names import Naming
from mqtui.config import RabbitMQConfig
from mqtui.demo.localbrokers import LocalRabbitMQ
from mqtui.errors import ConfigError
from tests.helpers import run_mqtui, write_config
from tests.rabbitmq.conftest import publish
from tests.trust.brokers import WRONG


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


def test_management_url_credentials_win_and_leave_the_url() -> None:
    """urllib took `ops:secret@rabbit` for the host name ('Name or service not known'), and the AMQP user
    was sent to the management API whatever management_url said."""
    own = endpoint(url="amqp://app:amqp-pw@h/%2F", management_url="https://ops:s%40cr%2Fet@[::1]:15671/rmq")
    assert own.management_url == "https://[::1]:15671/rmq"
    assert (own.management_username, own.management_password) == ("ops", "s@cr/et")
    assert (own.username, own.password) == ("app", "amqp-pw")
    keys = endpoint(url="amqp://a:b@h", username="me", password="pw", management_url="http://h:15672")
    assert (keys.management_url, keys.management_username, keys.management_password) == ("http://h:15672", "me", "pw")
    from_amqp = endpoint(url="amqp://a:b@h")
    assert (from_amqp.management_username, from_amqp.management_password) == ("a", "b")
    user_only = endpoint(url="amqp://a:b@h", management_url="http://ops@h:15672")
    assert (user_only.management_url, user_only.management_username, user_only.management_password) == (
        "http://h:15672",
        "ops",
        "b",
    )
    assert (endpoint(url="amqp://h").management_username, endpoint(url="amqp://h").management_password) == (
        "guest",
        "guest",
    )


def test_a_monitoring_user_in_management_url_lists_queues(
    tmp_path: Path, rabbitmq_server: LocalRabbitMQ, amqp: BlockingChannel, unique: Callable[[str], str]
) -> None:
    """An AMQP user the management API refuses (no tags) beside a monitoring user with no AMQP rights:
    listing works only with the monitor's credentials, peeking only with the AMQP user's."""
    app, monitor = unique("app"), unique("monitor")
    app_password, monitor_password = "App-S3cret-41", "Mon/itor@S3cret-42"
    rabbitmq_server.ctl("add_user", app, app_password)
    rabbitmq_server.ctl("set_permissions", "-p", "/", app, ".*", ".*", ".*")
    rabbitmq_server.ctl("add_user", monitor, monitor_password)
    rabbitmq_server.ctl("set_user_tags", monitor, "monitoring")
    rabbitmq_server.ctl("set_permissions", "-p", "/", monitor, "", "", "")
    queue = unique("jobs")
    amqp.queue_declare(queue, durable=True)
    publish(amqp, queue, [b"one"])
    port, management = rabbitmq_server.port, urlsplit(rabbitmq_server.management_url)
    entry = {"kind": "rabbitmq", "url": f"amqp://{app}:{app_password}@127.0.0.1:{port}/%2F", "timeout": 5.0}
    brokers = [
        {**entry, "name": "rb", "management_url": f"http://{monitor}:{quote(monitor_password, safe='')}@{management.netloc}"},
        {**entry, "name": "bad", "management_url": f"http://{monitor}:{WRONG}@{management.netloc}"},
    ]  # fmt: skip
    config = write_config(tmp_path / "config.toml", {"ops": {"brokers": brokers}})
    try:
        listed = run_mqtui("--config", str(config), "--profile", "ops", "ls", "-b", "rb", "--json")
        assert listed.code == 0, listed.err
        assert queue in [row["name"] for row in listed.json_lines()]
        peeked = run_mqtui("--config", str(config), "--profile", "ops", "peek", "rb", queue, "--yes", "--json")
        assert peeked.code == 0, peeked.err
        assert [m["value"] for m in peeked.json_lines()] == ["one"]

        refused = run_mqtui("--config", str(config), "--profile", "ops", "ls", "-b", "bad")
        assert refused.code == 1 and queue not in refused.out, refused.err
        assert refused.err.splitlines() == [f"mqtui: bad: management API rejected the credentials of user {monitor!r}"]
        assert WRONG not in refused.out + refused.err
    finally:
        for user in (app, monitor):
            rabbitmq_server.ctl("delete_user", user)


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
