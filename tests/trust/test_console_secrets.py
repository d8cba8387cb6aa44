"""The console with a profile full of secrets: none reaches the screen, a screenshot, an export or the log.

One profile holds working credentials for Redis (ACL user), NATS (user/password and token) and
RabbitMQ (a user of its own), refused ones for each kind (Kafka SASL included: tansu refuses every
mechanism) and a broker that is down. The test visits every pane, the details of a destination on
each working broker, a group, a message, the key list, the palette and the dialogs, saving an SVG
screenshot of each, tails and exports JSON Lines, with `MQTUI_LOG` on; then it searches every
picture, the export, the notifications and the log for every secret.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import quote

import pika
from textual.css.query import NoMatches
from textual.widgets import Label

from mqtui.demo.localbrokers import LocalKafka, LocalRabbitMQ
from mqtui.model import StartPosition
from mqtui.ui.screens.common import DetailScreen
from tests.console.pilot import Console, console
from tests.helpers import write_config
from tests.trust.brokers import (
    DOWN,
    KAFKA_PASSWORD,
    NATS_PASSWORD,
    NATS_TOKEN,
    NATS_USER,
    REDIS_PASSWORD,
    REDIS_USER,
    WRONG,
    SecretNats,
    SecretRedis,
    TokenNats,
    add_rabbit_user,
)
from tests.trust.screen import svg_text
from tests.trust.support import closed_port
from tests.trust.test_secrets_cli import SECRETS


async def _nats_setup(url: str) -> None:
    import nats

    client = await nats.connect(url)
    try:
        js = client.jetstream()
        await js.add_stream(name="ORDERS", subjects=["orders.>"])
        await js.publish("orders.new", b'{"order": 1}')
        await js.pull_subscribe("orders.>", durable="billing", stream="ORDERS")
    finally:
        await client.close()


class Pictures:
    """Screenshots saved the way a user would (`save_screenshot`), into one directory."""

    def __init__(self, c: Console, directory: Path) -> None:
        self.c = c
        self.directory = directory
        directory.mkdir()

    async def take(self, name: str) -> str:
        await self.c.pilot.pause(0.2)
        path = self.c.app.save_screenshot(filename=f"{name}.svg", path=str(self.directory))
        return svg_text(Path(path).read_text(encoding="utf-8"))


async def wait_detail(c: Console) -> None:
    """The details dialog once its answer (or its error) arrived."""

    def loaded() -> bool:
        if not isinstance(c.app.screen, DetailScreen):  # the lag drill-in is one too (GroupScreen)
            return False
        try:
            state = c.app.screen.query_one("#state", Label)
        except NoMatches:
            return False
        return not state.display or "loading" not in str(state.content)

    await c.wait(loaded, "details loaded")


async def test_no_secret_on_screen_in_screenshots_exports_or_the_log(
    tmp_path: Path, debug_log: Path, rabbitmq_server: LocalRabbitMQ, kafka_server: LocalKafka
) -> None:
    redis_server = SecretRedis(tmp_path / "redis", name="secret-redis").start()
    nats_server = SecretNats(tmp_path / "nats", name="secret-nats").start()
    token_server = TokenNats(tmp_path / "nats-token", name="token-nats").start()
    user = add_rabbit_user(rabbitmq_server)
    queue = f"secret-{uuid.uuid4().hex[:8]}"
    try:
        client = redis_server.client()
        client.rpush("orders", b"1", b"2")
        client.rpush("orders:dlq", b'{"id": "d1"}')
        nats_url = f"nats://{NATS_USER}:{NATS_PASSWORD}@127.0.0.1:{nats_server.port}"
        await _nats_setup(nats_url)
        rabbit_url = f"amqp://{user.name}:{user.password}@127.0.0.1:{rabbitmq_server.port}/%2F"
        connection = pika.BlockingConnection(pika.URLParameters(rabbit_url))
        connection.channel().queue_declare(queue, durable=True)
        connection.close()
        management = rabbitmq_server.management_url
        brokers = [
            {"name": "redis", "kind": "redis",
             "url": f"redis://{REDIS_USER}:{quote(REDIS_PASSWORD, safe='')}@127.0.0.1:{redis_server.port}/0"},
            {"name": "nats", "kind": "nats", "url": nats_url, "monitor_url": nats_server.monitor_url},
            {"name": "nats-token", "kind": "nats", "url": token_server.url, "token": NATS_TOKEN},
            {"name": "rabbit", "kind": "rabbitmq", "url": rabbit_url, "management_url": management},
            {"name": "redis-bad", "kind": "redis", "url": f"redis://{REDIS_USER}:{WRONG}@127.0.0.1:{redis_server.port}/0",
             "timeout": 2.0},
            {"name": "nats-bad", "kind": "nats", "url": nats_server.url, "username": NATS_USER, "password": WRONG,
             "timeout": 2.0},
            {"name": "rabbit-bad", "kind": "rabbitmq", "url": f"amqp://{user.name}:{WRONG}@127.0.0.1:{rabbitmq_server.port}/%2F",
             "management_url": management, "timeout": 2.0},
            {"name": "kafka", "kind": "kafka", "url": kafka_server.url, "timeout": 2.0,
             "sasl": {"mechanism": "SCRAM-SHA-256", "username": "ops", "password": KAFKA_PASSWORD}},
            {"name": "down", "kind": "redis", "url": f"redis://:{DOWN}@127.0.0.1:{closed_port()}/0", "timeout": 1.0},
        ]  # fmt: skip
        config = write_config(tmp_path / "config.toml", {"ops": {"poll_interval": 0.5, "brokers": brokers}})
        config.chmod(0o644)  # readable by others: the console must say so
        working, failing = (
            ["redis", "nats", "nats-token", "rabbit"],
            ["redis-bad", "nats-bad", "rabbit-bad", "kafka", "down"],
        )
        drawn: dict[str, str] = {}
        export = tmp_path / "export.jsonl"
        async with console(config, "ops", size=(200, 50)) as c:
            pictures = Pictures(c, tmp_path / "screenshots")
            await c.wait(lambda: c.text("#status").startswith("4/9 brokers up"), "the working brokers up", 30)
            await c.wait(lambda: all(c.screen.snapshots[n].error for n in failing), "every refusal", 30)
            assert all(c.screen.snapshots[n].error is None for n in working)
            await c.wait_rows("#dest-table", lambda r: len(r) >= 5, "the destinations")
            assert "readable by other users" in c.text("#status")
            await c.wait_note("readable by other users")
            for key, name in (("1", "destinations"), ("2", "lag"), ("3", "tail"), ("4", "dead-letters")):
                await c.press(key)
                drawn[name] = await pictures.take(name)
            for broker, destination in (("redis", "orders"), ("nats", "ORDERS"), ("rabbit", queue),
                                        ("redis-bad", "orders"), ("kafka", "orders")):  # fmt: skip
                c.screen.show_destination(broker, destination)
                await wait_detail(c)
                drawn[broker] = await pictures.take(f"detail-{broker}")
                await c.press("escape")
            await c.press("2")
            await c.wait_rows("#lag-table", lambda r: len(r) >= 1, "a backlog row")
            await c.press("enter")
            await wait_detail(c)
            drawn["group"] = await pictures.take("group")
            await c.press("escape")
            await c.press("4")
            await c.pick("#dlq-table", 1, "orders:dlq", "the Redis DLQ")
            await c.press("enter")
            await c.wait_rows("#entries-table", lambda r: len(r) == 1, "its entry")
            drawn["dlq-entries"] = await pictures.take("dlq-entries")
            c.screen.start_tail("redis", "orders", StartPosition.parse("beginning"))
            pane = c.app.query_one("#tail")
            await c.wait(lambda: len(pane.messages) == 2, "two tailed messages")  # type: ignore[attr-defined]
            await c.press("enter")
            await c.wait_screen("MessageScreen")
            drawn["message"] = await pictures.take("message")
            await c.press("escape")
            await c.wait_screen("ConsoleScreen")
            await c.press("3", "e")
            await c.wait_screen("PromptScreen")
            c.app.screen.query_one("#prompt").value = str(export)  # type: ignore[attr-defined]
            await c.press("enter")
            await c.wait_note("exported 2 messages")
            for keys, name in ((("question_mark",), "keys"), (("ctrl+p",), "palette"), (("n",), "publish"),
                               (("P",), "profiles")):  # fmt: skip
                await c.press(*keys)
                drawn[name] = await pictures.take(name)
                await c.press("escape")
            errors = [c.screen.snapshots[name].error or "" for name in failing]
            notes = list(c.notes)
        for name in ("redis-bad", "nats-bad", "rabbit-bad", "kafka", "down"):
            assert any(error.startswith(f"{name}: ") for error in errors)
        files = sorted((tmp_path / "screenshots").glob("*.svg"))
        assert len(files) == 16  # 4 panes, 5 details, a group, DLQ entries, a message, 4 dialogs
        outputs = {"export": export.read_text(encoding="utf-8"), "log": debug_log.read_text(encoding="utf-8"),
                   **{f.name: f.read_text(encoding="utf-8") for f in files}, **drawn,
                   **{f"error {i}": e for i, e in enumerate(errors)}, **{f"note {i}": n for i, n in enumerate(notes)}}  # fmt: skip
        assert len(export.read_text().splitlines()) == 2
        # The pictures show what was asked for (and the refusals' reasons), so the search means something.
        assert "orders:dlq" in drawn["destinations"] and "authentication failed" in drawn["redis-bad"].lower()
        assert "consumers" in drawn["rabbit"].lower() and "d1" in drawn["dlq-entries"]
        # The permission warning is on the status line of every pane (cut at the screen's edge here).
        assert all(f"warning: {config} holds" in drawn[name] for name in ("destinations", "lag", "tail"))
        assert "mqtui.poller" in outputs["log"]  # the refusals were logged, scrubbed
        for where, text in outputs.items():
            for secret in SECRETS:
                assert secret not in text, (secret, where)
    finally:
        token_server.stop()
        nats_server.stop()
        redis_server.stop()
        rabbitmq_server.ctl("delete_user", user.name)


def test_the_committed_screenshots_hold_no_demo_password() -> None:
    """The README's pictures come from the demo, whose RabbitMQ password is RabbitMQ's default."""
    pictures = sorted((Path(__file__).parents[2] / "screenshots").glob("*.svg"))
    assert pictures
    for picture in pictures:
        assert "guest" not in picture.read_text(encoding="utf-8"), picture.name
