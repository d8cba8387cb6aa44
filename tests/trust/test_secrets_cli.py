"""Passwords and tokens never appear in anything the CLI prints or logs, for every broker kind.

Each test runs every verb, human and `--json`, against a real broker that demands credentials (the
secret in the URL, or in `password`/`token` keys), against the same broker with a wrong secret, and
against a broker that is down, all with `MQTUI_LOG` on; then it searches stdout, stderr and the log
for every secret. Kafka has no working case: tansu accepts no SASL credentials (see brokers.py).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import quote

import pika
import pytest

from mqtui.config import secrets_of
from mqtui.demo.localbrokers import LocalKafka, LocalRabbitMQ
from tests.helpers import CliResult, write_config
from tests.trust.brokers import (
    DOWN,
    KAFKA_PASSWORD,
    NATS_PASSWORD,
    NATS_TOKEN,
    NATS_USER,
    RABBIT_PASSWORD,
    REDIS_PASSWORD,
    REDIS_USER,
    WRONG,
    SecretNats,
    SecretRedis,
    TokenNats,
    add_rabbit_user,
)
from tests.trust.support import assert_terminal_safe, broker_config, closed_port, run_many

SECRETS = (REDIS_PASSWORD, quote(REDIS_PASSWORD, safe=""), NATS_PASSWORD, NATS_TOKEN, RABBIT_PASSWORD,
           KAFKA_PASSWORD, WRONG, DOWN)  # fmt: skip


def assert_secret_free(results: Sequence[CliResult], log: Path) -> str:
    """No secret in any output or in the log; every output terminal-safe. Returns the log."""
    for result in results:
        assert_terminal_safe(result)
        for secret in SECRETS:
            assert secret not in result.out and secret not in result.err, (secret, result)
    text = log.read_text(encoding="utf-8")
    assert text.count(" DEBUG mqtui.cli ") == len(results)  # every run logged its command
    for secret in SECRETS:
        assert secret not in text, secret
    return text


def with_json(*commands: Sequence[str]) -> list[list[str]]:
    return [variant for command in commands for variant in ([*command], [*command, "--json"])]


def refusals(broker: str, dest: str) -> list[list[str]]:
    """Verbs against a broker that refuses the credentials or is down: each must end in one line."""
    return [["ls", "-b", broker], ["ls", "-b", broker, "--json"], ["tail", broker, dest, "--end"],
            ["publish", broker, dest, "--value", "x", "--yes"], ["dlq", "show", broker, f"{dest}-dlq"],
            ["describe", broker, dest, "--json"], ["lag", "-b", broker]]  # fmt: skip


def assert_refused(results: Sequence[CliResult], fragment: str) -> None:
    for result in results:
        assert result.code == 1, result
        [line] = result.err.splitlines()
        assert fragment in line.lower(), line


# -- Redis -----------------------------------------------------------------------------------------
@pytest.fixture
def secret_redis(tmp_path: Path) -> Iterator[SecretRedis]:
    broker = SecretRedis(tmp_path / "redis", name="secret-redis")
    broker.start()
    yield broker
    broker.stop()


def test_redis_acl_user(tmp_path: Path, secret_redis: SecretRedis) -> None:
    port = secret_redis.port
    client = secret_redis.client()
    client.rpush("orders", b"1", b"2")
    client.rpush("orders:dlq", b'{"id": "d1"}', b'{"id": "d2"}')
    client.xadd("events", {"data": b"e"})
    client.xgroup_create("events", "billing", id="0")
    brokers = [
        {"name": "r", "kind": "redis", "url": f"redis://{REDIS_USER}:{quote(REDIS_PASSWORD, safe='')}@127.0.0.1:{port}/0"},
        {"name": "r2", "kind": "redis", "url": f"redis://127.0.0.1:{port}/0", "username": REDIS_USER,
         "password": REDIS_PASSWORD},
        {"name": "bad", "kind": "redis", "url": f"redis://{REDIS_USER}:{WRONG}@127.0.0.1:{port}/0", "timeout": 2.0},
        {"name": "down", "kind": "redis", "url": f"redis://127.0.0.1:{closed_port()}/0", "password": DOWN,
         "timeout": 1.0},
    ]  # fmt: skip
    config = write_config(tmp_path / "c.toml", {"p": {"brokers": brokers}})
    assert set(secrets_of(broker_config(brokers[0]))) >= {REDIS_PASSWORD, quote(REDIS_PASSWORD, safe="")}
    env = {"MQTUI_LOG": str(tmp_path / "debug.log")}

    reads = run_many(config, with_json(
        ["profiles"], ["ls", "-b", "r"], ["ls", "-b", "r2"], ["describe", "r", "orders"], ["lag", "-b", "r"],
        ["group", "r", "events@billing"], ["tail", "r", "orders", "--from", "beginning", "--end"],
        ["dlq", "ls", "-b", "r"], ["dlq", "show", "r", "orders:dlq"], ["dlq", "replay", "r", "orders:dlq", "--dry-run"],
    ), env)  # fmt: skip
    assert all(result.code == 0 for result in reads), [r for r in reads if r.code]
    assert {row["name"]: row["depth"] for row in reads[3].json_lines()} == {"orders": 2, "events": 1, "orders:dlq": 2}
    assert [m["value"] for m in reads[13].json_lines()] == ["2", "1"]  # oldest first: consumers pop the right end
    first, second = (letter["id"] for letter in reads[17].json_lines())
    writes = run_many(config, [
        ["publish", "r", "orders", "--value", "x", "--yes", "--json"], ["peek", "r", "orders", "--yes"],
        ["dlq", "replay", "r", "orders:dlq", "--id", first, "--yes", "--json"],
        ["dlq", "delete", "r", "orders:dlq", "--id", second, "--yes"], ["purge", "r", "orders", "--yes"],
        ["publish", "r2", "orders", "--value", "y", "--yes"],
    ], env, workers=1)  # fmt: skip
    assert [result.code for result in writes] == [0, 0, 0, 0, 0, 0], writes  # a Redis peek only reads
    assert writes[2].json_lines()[0]["sent"] == 1 and writes[4].out == "purged 4 message(s) from orders\n"
    assert client.lrange("orders", 0, -1) == [b"y"] and client.llen("orders:dlq") == 0

    refused = run_many(config, refusals("bad", "orders") + refusals("down", "orders"), env)
    assert_refused(refused[:7], "authentication failed")
    assert_refused(refused[7:], "down: ")
    assert_secret_free([*reads, *writes, *refused], tmp_path / "debug.log")


# -- NATS ------------------------------------------------------------------------------------------
@pytest.fixture
def secret_nats(tmp_path: Path) -> Iterator[tuple[SecretNats, TokenNats]]:
    with_password = SecretNats(tmp_path / "nats", name="secret-nats")
    with_token = TokenNats(tmp_path / "nats-token", name="token-nats")
    with_password.start()
    with_token.start()
    yield with_password, with_token
    with_token.stop()
    with_password.stop()


async def _nats_setup(url: str) -> None:
    import nats

    client = await nats.connect(url)
    try:
        js = client.jetstream()
        await js.add_stream(name="ORDERS", subjects=["orders.>"])
        await js.add_stream(name="ORDERS_DLQ", subjects=["dead.orders.>"])
        for n in (1, 2):
            await js.publish("orders.new", b"%d" % n)
        await js.publish("dead.orders.new", b"d1", headers={"Original-Subject": "orders.new"})
        await js.pull_subscribe("orders.>", durable="billing", stream="ORDERS")
    finally:
        await client.close()


def test_nats_user_password_and_token(tmp_path: Path, secret_nats: tuple[SecretNats, TokenNats]) -> None:
    server, token_server = secret_nats
    url = f"nats://{NATS_USER}:{NATS_PASSWORD}@127.0.0.1:{server.port}"
    asyncio.run(_nats_setup(url))
    brokers = [
        {"name": "n", "kind": "nats", "url": url, "monitor_url": server.monitor_url},
        {"name": "nt", "kind": "nats", "url": token_server.url, "token": NATS_TOKEN},
        {"name": "bad", "kind": "nats", "url": server.url, "username": NATS_USER, "password": WRONG, "timeout": 2.0},
        {"name": "down", "kind": "nats", "url": f"nats://127.0.0.1:{closed_port()}", "token": DOWN, "timeout": 1.0},
    ]  # fmt: skip
    config = write_config(tmp_path / "c.toml", {"p": {"brokers": brokers}})
    env = {"MQTUI_LOG": str(tmp_path / "debug.log")}

    reads = run_many(config, with_json(
        ["ls", "-b", "n"], ["ls", "-b", "nt"], ["describe", "n", "ORDERS"], ["lag", "-b", "n"],
        ["group", "n", "ORDERS/billing"], ["tail", "n", "ORDERS", "--from", "beginning", "--end"],
        ["dlq", "ls", "-b", "n"], ["dlq", "show", "n", "ORDERS_DLQ"], ["dlq", "replay", "n", "ORDERS_DLQ", "--dry-run"],
    ), env)  # fmt: skip
    assert all(result.code == 0 for result in reads), [r for r in reads if r.code]
    depths = {row["name"]: row["depth"] for row in reads[1].json_lines()}
    assert (depths["ORDERS"], depths["ORDERS_DLQ"]) == (2, 1)
    assert [row["lag"] for row in reads[7].json_lines()] == [2]
    writes = run_many(config, [
        ["publish", "n", "orders.new", "--value", "x", "--yes", "--json"],
        ["publish", "nt", "anything", "--value", "x", "--yes"],
        ["request", "nt", "nobody.home", "--timeout", "0.5", "--yes"],
        ["dlq", "replay", "n", "ORDERS_DLQ", "--yes", "--json"], ["purge", "n", "ORDERS", "--yes"],
    ], env, workers=1)  # fmt: skip
    assert [result.code for result in writes] == [0, 0, 1, 0, 0], writes
    assert "no service answers" in writes[2].err
    assert writes[3].json_lines()[0]["sent"] == 1 and writes[4].out == "purged 4 message(s) from ORDERS\n"

    refused = run_many(config, refusals("bad", "ORDERS") + refusals("down", "ORDERS"), env)
    assert_refused(refused[:7], "rejected the credentials")
    assert_refused(refused[7:], "down: ")
    assert_secret_free([*reads, *writes, *refused], tmp_path / "debug.log")


# -- RabbitMQ --------------------------------------------------------------------------------------
def test_rabbitmq_user(tmp_path: Path, rabbitmq_server: LocalRabbitMQ) -> None:
    user = add_rabbit_user(rabbitmq_server)
    queue = f"secret-{uuid.uuid4().hex[:8]}"
    port = rabbitmq_server.port
    url = f"amqp://{user.name}:{user.password}@127.0.0.1:{port}/%2F"
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.confirm_delivery()
    for name in (queue, f"{queue}.dlq"):
        channel.queue_declare(name, durable=True)
    for body in (b"1", b"2"):
        channel.basic_publish("", queue, body, pika.BasicProperties(delivery_mode=2))
    channel.basic_publish("", f"{queue}.dlq", b"d1", pika.BasicProperties(delivery_mode=2))
    management = rabbitmq_server.management_url
    brokers = [
        {"name": "rb", "kind": "rabbitmq", "url": url, "management_url": management},
        {"name": "rb2", "kind": "rabbitmq", "url": f"amqp://127.0.0.1:{port}/%2F", "management_url": management,
         "username": user.name, "password": user.password},
        {"name": "bad", "kind": "rabbitmq", "url": f"amqp://{user.name}:{WRONG}@127.0.0.1:{port}/%2F",
         "management_url": management, "timeout": 2.0},
        {"name": "down", "kind": "rabbitmq", "url": f"amqp://ops:{DOWN}@127.0.0.1:{closed_port()}/%2F",
         "management_url": f"http://127.0.0.1:{closed_port()}", "timeout": 1.0},
    ]  # fmt: skip
    config = write_config(tmp_path / "c.toml", {"p": {"brokers": brokers}})
    env = {"MQTUI_LOG": str(tmp_path / "debug.log")}
    try:
        reads = run_many(config, with_json(
            ["ls", "-b", "rb"], ["ls", "-b", "rb2"], ["describe", "rb", queue], ["lag", "-b", "rb"],
            ["dlq", "ls", "-b", "rb"],
        ), env)  # fmt: skip
        # Reading a queue holds its messages unacked for a moment: one reader at a time.
        reads += run_many(config, with_json(["dlq", "show", "rb", f"{queue}.dlq"],
                                            ["dlq", "replay", "rb", f"{queue}.dlq", "--dry-run"]), env, workers=1)  # fmt: skip
        assert all(result.code == 0 for result in reads), [r for r in reads if r.code]
        assert [m["message"]["value"] for m in reads[11].json_lines()] == ["d1"]
        writes = run_many(config, [
            ["publish", "rb", queue, "--value", "x", "--yes", "--json"], ["peek", "rb", queue, "--yes", "--json"],
            ["dlq", "replay", "rb", f"{queue}.dlq", "--to", queue, "--yes", "--json"], ["purge", "rb", queue, "--yes"],
            ["publish", "rb2", queue, "--value", "y", "--yes"],
        ], env, workers=1)  # fmt: skip
        assert [result.code for result in writes] == [0, 0, 0, 0, 0], writes
        assert [m["value"] for m in writes[1].json_lines()] == ["1", "2", "x"]
        assert writes[2].json_lines()[0]["sent"] == 1 and writes[3].out == f"purged 4 message(s) from {queue}\n"

        refused = run_many(config, refusals("bad", queue) + refusals("down", queue), env)
        assert_refused(refused[:7], "rejected the credentials")
        assert_refused(refused[7:], "down: ")
        assert_secret_free([*reads, *writes, *refused], tmp_path / "debug.log")
    finally:
        channel.queue_delete(queue)
        channel.queue_delete(f"{queue}.dlq")
        connection.close()


# -- Kafka -----------------------------------------------------------------------------------------
def test_kafka_sasl_refused_and_unreachable(tmp_path: Path, kafka_server: LocalKafka) -> None:
    brokers = [
        {"name": "scram", "kind": "kafka", "url": kafka_server.url, "timeout": 2.0,
         "sasl": {"mechanism": "SCRAM-SHA-512", "username": "ops", "password": KAFKA_PASSWORD}},
        {"name": "bad", "kind": "kafka", "url": kafka_server.url, "timeout": 2.0, "username": "ops",
         "password": WRONG},
        {"name": "down", "kind": "kafka", "url": f"127.0.0.1:{closed_port()}", "timeout": 1.0,
         "sasl": {"username": "ops", "password": DOWN}},
    ]  # fmt: skip
    config = write_config(tmp_path / "c.toml", {"p": {"brokers": brokers}})
    env = {"MQTUI_LOG": str(tmp_path / "debug.log")}
    refused = run_many(config, refusals("scram", "orders") + refusals("bad", "orders") + refusals("down", "orders")
                       + [["reset-offsets", "scram", "g", "--to", "earliest", "--yes"]], env)  # fmt: skip
    assert_refused(refused[:14], "authentication failed")
    assert_refused(refused[14:21], "down: ")
    assert_refused(refused[21:], "authentication failed")
    assert_secret_free(refused, tmp_path / "debug.log")


# -- secrets in URLs a config cannot load --------------------------------------------------------------
UNESCAPED = "Zq8Kx/3vWp"
BAD_URLS = {
    "redis-slash": ({"kind": "redis", "url": f"redis://:{UNESCAPED}@127.0.0.1:6379/0"}, UNESCAPED),
    "redis-hash": ({"kind": "redis", "url": "redis://:Zq8Kx#3vWp@127.0.0.1:6379/0"}, "Zq8Kx#3vWp"),
    "redis-question": ({"kind": "redis", "url": "redis://:Zq8Kx?3vWp@127.0.0.1/0"}, "Zq8Kx?3vWp"),
    "redis-digits": ({"kind": "redis", "url": "redis://ops:4711/93528@127.0.0.1/0"}, "4711/93528"),
    "amqp-slash": ({"kind": "rabbitmq", "url": f"amqp://ops:{UNESCAPED}@127.0.0.1/"}, UNESCAPED),
    "nats-hash": ({"kind": "nats", "url": "nats://ops:Zq8Kx#3vWp@127.0.0.1:4222"}, "Zq8Kx#3vWp"),
    "nats-token": ({"kind": "nats", "url": "nats://Zq8Kx3vWpTok#en@127.0.0.1:4222"}, "Zq8Kx3vWpTok#en"),
    "kafka-userinfo": ({"kind": "kafka", "url": "ops:Zq8Kx3vWpKfk@127.0.0.1:9092"}, "Zq8Kx3vWpKfk"),
    "management": ({"kind": "rabbitmq", "url": "amqp://127.0.0.1/",
                    "management_url": f"http://ops:{UNESCAPED}@127.0.0.1:15672"}, UNESCAPED),
    "monitor": ({"kind": "nats", "url": "nats://127.0.0.1:4222",
                 "monitor_url": "http://ops:Zq8Kx?3vWp@127.0.0.1:8222"}, "Zq8Kx?3vWp"),
}  # fmt: skip


@pytest.mark.parametrize("shape", list(BAD_URLS))
def test_a_secret_in_a_url_that_cannot_load_is_never_shown(tmp_path: Path, shape: str) -> None:
    """A password with an unescaped '/', '#' or '?' is cut by URL parsing into a "port" or a "path"
    (the error once quoted 's3cr' of 's3cr/etpass'): neither it nor any 4-character piece of it is shown."""
    broker, secret = BAD_URLS[shape]
    config = write_config(tmp_path / "c.toml", {"p": {"brokers": [{"name": "b", **broker}]}})
    env = {"MQTUI_LOG": str(tmp_path / "debug.log")}
    results = run_many(config, [["ls"], ["profiles"], ["tail", "b", "orders", "--end"]], env)
    pieces = {secret[i : i + 4] for i in range(len(secret) - 3)}
    for result in results:
        assert_terminal_safe(result)
        assert result.code == 2, result
        [line] = result.err.splitlines()
        assert "profile 'p': brokers[0]." in line and "url: " in line, line
        for piece in pieces:
            assert piece not in result.err + result.out, (piece, line)
    log = (tmp_path / "debug.log").read_text(encoding="utf-8") if (tmp_path / "debug.log").exists() else ""
    assert not any(piece in log for piece in pieces)


def test_demo_start_and_status_mask_the_demo_password(capsys: pytest.CaptureFixture[str]) -> None:
    from mqtui.commands.local import print_demo_brokers

    print_demo_brokers([{"name": "demo-rabbitmq", "url": "amqp://guest:guest@127.0.0.1:5672/%2F"},
                         {"name": "demo-redis", "url": "redis://127.0.0.1:6379/0"}])  # fmt: skip
    assert capsys.readouterr().out.splitlines() == [
        "demo-rabbitmq: amqp://guest:***@127.0.0.1:5672/%2F",
        "demo-redis: redis://127.0.0.1:6379/0",
    ]
